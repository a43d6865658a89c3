#!/usr/bin/env bash
# Build a .deb from the PyInstaller one-folder bundle: files under /opt/bcmlp, `bcmlp` on the
# PATH (/usr/bin/bcmlp -> /opt/bcmlp/bcmlp), a desktop entry and an icon.
# Usage: packaging/build_deb.sh DIST_DIR OUT_DIR   (DIST_DIR holds bcmlp/ from PyInstaller)
set -euo pipefail
dist=${1:?usage: build_deb.sh DIST_DIR OUT_DIR}
out=${2:?usage: build_deb.sh DIST_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
root_dir=$(cd "$here/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root_dir/pyproject.toml" | head -n 1)
arch=$(dpkg --print-architecture)
[ -x "$dist/bcmlp/bcmlp" ] || { echo "build_deb.sh: no bundle at $dist/bcmlp (run pyinstaller first)" >&2; exit 2; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" \
         "$stage/usr/share/icons/hicolor/scalable/apps"
cp -a "$dist/bcmlp" "$stage/opt/bcmlp"
ln -s /opt/bcmlp/bcmlp "$stage/usr/bin/bcmlp"
cp "$root_dir/resources/icons/bcmlp.svg" "$stage/usr/share/icons/hicolor/scalable/apps/bcmlp.svg"
cp "$here/bcmlp.desktop" "$stage/usr/share/applications/bcmlp.desktop"
size_kb=$(du -sk "$stage/opt" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: bcmlp
Version: $version
Section: science
Priority: optional
Architecture: $arch
Maintainer: bcmlp developers <bcmlp@localhost>
Installed-Size: $size_kb
Depends: libc6, libgl1, libegl1, libxkbcommon0, libfontconfig1, libdbus-1-3
Description: blockchain-secured ML pipeline for visual quality inspection
 A desktop application in which the companies of one manufacturing ML pipeline
 run a permissioned ledger together: certificates for data, labels, pipeline and
 model, trust ratings, and a trust-gated live inspection station.
CONTROL
mkdir -p "$out"
deb="$out/bcmlp_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip -z1 --build "$stage" "$deb" >/dev/null
echo "$deb"
