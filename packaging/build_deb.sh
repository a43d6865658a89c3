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
# What the bundle's Qt libraries and its xcb/wayland platform plugins link to outside the bundle
# (readelf NEEDED -> dpkg -S on Debian 12; app/gui/qt_probe.py holds the same map and
# tests/app/test_qt_startup.py checks this line against the installed PySide6).
depends=(
  libc6 libstdc++6 libgcc-s1 zlib1g libzstd1 libglib2.0-0 libdbus-1-3 libfontconfig1 libfreetype6
  libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libx11-6 libx11-xcb1
  libxcb1 libxcb-cursor0 libxcb-glx0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1
  libxcb-xfixes0 libxcb-xkb1
  libwayland-client0 libwayland-cursor0 libwayland-egl1
)
depends_line=$(printf '%s, ' "${depends[@]}")
cat > "$stage/DEBIAN/control" <<CONTROL
Package: bcmlp
Version: $version
Section: science
Priority: optional
Architecture: $arch
Maintainer: bcmlp developers <bcmlp@localhost>
Installed-Size: $size_kb
Depends: ${depends_line%, }
Description: blockchain-secured ML pipeline for visual quality inspection
 A desktop application in which the companies of one manufacturing ML pipeline
 run a permissioned ledger together: certificates for data, labels, pipeline and
 model, trust ratings, and a trust-gated live inspection station.
CONTROL
mkdir -p "$out"
deb="$out/bcmlp_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip -z1 --build "$stage" "$deb" >/dev/null
echo "$deb"
