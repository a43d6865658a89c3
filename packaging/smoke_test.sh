#!/usr/bin/env bash
# Build the one-folder bundle and the .deb, self-test the bundle, install the .deb into a
# temporary root and self-test the installed copy (offscreen); as root, also apt-install the .deb
# and self-test /usr/bin/bcmlp under Xvfb with the xcb platform. Prints a JSON line with sizes
# and timings.
# Usage: packaging/smoke_test.sh [WORK_DIR]   (default: build/package-smoke)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-build/package-smoke}
PY=${PY:-.venv/bin/python}
rm -rf "$work"
mkdir -p "$work"
export QT_QPA_PLATFORM=offscreen

t0=$(date +%s)
PYTHONWARNINGS=ignore::DeprecationWarning "$PY" -m PyInstaller --noconfirm --log-level ERROR --distpath "$work/dist" \
  --workpath "$work/build" packaging/bcmlp.spec
t1=$(date +%s)
deb=$(bash packaging/build_deb.sh "$work/dist" "$work/out")

selftest() {  # prints the seconds to READY, fails unless READY was printed
  local start end out
  start=$(date +%s%N)
  out=$("$@" --self-test 2>"$work/selftest.err") || { cat "$work/selftest.err" >&2; return 1; }
  end=$(date +%s%N)
  grep -qx READY <<<"$out" || { echo "no READY from $*" >&2; return 1; }
  printf '%d.%03d' $(((end - start) / 1000000000)) $((((end - start) / 1000000) % 1000))
}
bundle_s=$(selftest "$work/dist/bcmlp/bcmlp")
# node processes started from the frozen binary, and block sync's signature worker process
# (multiprocessing spawn inside the bundle): a fresh node catches up 300 blocks
sync_json=$("$work/dist/bcmlp/bcmlp" bench sync --blocks 300 --data-dir "$work/bench-sync" --json)
grep -q '"app_hash_agree": true' <<<"$sync_json" || { echo "bundle bench sync failed: $sync_json" >&2; exit 1; }
sync_s=$(sed -E 's/.*"seconds": ([0-9.]+).*/\1/' <<<"$sync_json")
# the main job from the bundle: four nodes, the certified pipeline, the gate, inspections
"$work/dist/bcmlp/bcmlp" demo --headless --duration 8 --data-dir "$work/demo" --json >"$work/demo.json" 2>"$work/demo.err" \
  || { tail -5 "$work/demo.err" >&2; exit 1; }
demo_inspections=$("$PY" - "$work/demo.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
ok = d["nodes_agree"] and d["gate"] and d["gate"]["passed"] and d["inspections"] > 0
sys.exit(f"bundle demo failed: {d}") if not ok else print(d["inspections"])
PYEOF
)

root="$work/installed"
dpkg-deb -x "$deb" "$root"
[ "$(readlink "$root/usr/bin/bcmlp")" = /opt/bcmlp/bcmlp ] || { echo "usr/bin/bcmlp link is wrong" >&2; exit 1; }
[ -f "$root/usr/share/applications/bcmlp.desktop" ] || { echo "desktop entry missing" >&2; exit 1; }
[ -f "$root/usr/share/icons/hicolor/scalable/apps/bcmlp.svg" ] || { echo "icon missing" >&2; exit 1; }
installed_s=$(selftest "$root/opt/bcmlp/bcmlp")

# The .deb on the real root through apt (which pulls its Depends), then the installed app's
# self-test under Xvfb with the real xcb platform plugin: proves Depends is complete.
xcb_s=null
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "smoke_test.sh: not root (or no apt-get): skipping the apt install of the .deb and its xcb self-test" >&2
elif ! command -v xvfb-run >/dev/null; then
  echo "smoke_test.sh: no xvfb-run (apt-get install xvfb xauth): skipping the xcb self-test" >&2
  [ "${CI:-}" = true ] && { echo "CI needs xvfb-run for the installed app's xcb self-test" >&2; exit 1; }
else
  had_bcmlp=$(dpkg-query -W -f='${Status}' bcmlp 2>/dev/null | grep -c 'ok installed' || true)
  apt-get install -y -qq --no-install-recommends "$(realpath "$deb")" >"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log" >&2; exit 1; }
  xcb_s=$(QT_QPA_PLATFORM=xcb selftest xvfb-run -a /usr/bin/bcmlp) \
    || { echo "the installed /usr/bin/bcmlp did not start under Xvfb (xcb)" >&2; exit 1; }
  [ "$had_bcmlp" != 0 ] || dpkg -r bcmlp >>"$work/apt.log" 2>&1
fi

printf '{"bundle_build_s": %s, "bundle_mb": %s, "deb_mb": %s, "bundle_ready_s": %s, "installed_ready_s": %s, "installed_xcb_ready_s": %s, "bundle_sync_300_s": %s, "bundle_demo_inspections": %s}\n' \
  "$((t1 - t0))" "$(du -sm "$work/dist/bcmlp" | cut -f1)" "$(du -sm "$deb" | cut -f1)" \
  "$bundle_s" "$installed_s" "$xcb_s" "$sync_s" "$demo_inspections"
