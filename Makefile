# `make package`: the PyInstaller one-folder bundle in dist/bcmlp and the .deb in dist/.
PY ?= .venv/bin/python

.PHONY: package bundle deb test
package: bundle deb

bundle:
	$(PY) -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/bcmlp.spec

deb:
	bash packaging/build_deb.sh dist dist

test:
	bash scripts/test.sh
