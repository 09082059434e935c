#!/usr/bin/env bash
# Build the CellDeck .deb from the PyInstaller bundle (what `make package` runs after
# PyInstaller):   packaging/linux/build-deb.sh [BUNDLE_DIR] [OUT_DIR]
#
# Layout installed (docs/packaging.md):
#   /opt/celldeck/                         the bundle (celldeck + _internal/)
#   /usr/bin/celldeck -> /opt/celldeck/celldeck
#   /usr/bin/celldeck-console              starts the console with /etc/celldeck/console.conf
#   /etc/celldeck/console.conf             site options (conffile): --port, --high-contrast
#   /etc/xdg/autostart/celldeck-kiosk.desktop   kiosk autostart, shipped off (conffile)
#   /usr/share/applications/celldeck.desktop    the desktop entry
#   /usr/share/icons/hicolor/scalable/apps/celldeck.svg
#   /usr/lib/udev/rules.d/70-celldeck-serial.rules   USB serial ports for the operator
#   /usr/share/doc/celldeck/                packaging.md, copyright, build-info.json
# Nothing under any data folder: records live in the users' data folders and are kept
# on removal, purge and upgrade.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root_dir="$(cd "$here/../.." && pwd)"
bundle="$(cd "${1:-$root_dir/dist/celldeck}" && pwd)"
out="$(mkdir -p "${2:-$root_dir/dist}" && cd "${2:-$root_dir/dist}" && pwd)"
info="$bundle/_internal/build-info.json"
[[ -x "$bundle/celldeck" && -f "$info" ]] || { echo "no bundle at $bundle (run make package)" >&2; exit 1; }

field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$info"; }
version="$(field version)"
commit="$(field commit)"
arch="$(dpkg --print-architecture)"
stage="$root_dir/build/deb/celldeck_${version}_${arch}"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/etc/celldeck" \
  "$stage/etc/xdg/autostart" "$stage/usr/share/applications" \
  "$stage/usr/share/icons/hicolor/scalable/apps" "$stage/usr/lib/udev/rules.d" \
  "$stage/usr/share/doc/celldeck"

cp -a "$bundle" "$stage/opt/celldeck"
ln -s /opt/celldeck/celldeck "$stage/usr/bin/celldeck"
install -m 755 "$here/celldeck-console" "$stage/usr/bin/celldeck-console"
install -m 644 "$here/console.conf" "$stage/etc/celldeck/console.conf"
install -m 644 "$here/celldeck-kiosk.desktop" "$stage/etc/xdg/autostart/celldeck-kiosk.desktop"
install -m 644 "$here/celldeck.desktop" "$stage/usr/share/applications/celldeck.desktop"
install -m 644 "$here/celldeck.svg" "$stage/usr/share/icons/hicolor/scalable/apps/celldeck.svg"
install -m 644 "$here/70-celldeck-serial.rules" "$stage/usr/lib/udev/rules.d/70-celldeck-serial.rules"
install -m 644 "$root_dir/docs/packaging.md" "$stage/usr/share/doc/celldeck/packaging.md"
install -m 644 "$info" "$stage/usr/share/doc/celldeck/build-info.json"
cat > "$stage/usr/share/doc/celldeck/copyright" <<COPYRIGHT
CellDeck operator console. Proprietary.
Bundled third-party software keeps its own licence: Qt and PySide6 (LGPLv3), Python
(PSF), numpy (BSD), pyqtgraph (MIT), pyserial (BSD), sqlite-utils (Apache-2.0),
DejaVu fonts (see /opt/celldeck/_internal/resources/fonts/LICENSE-DejaVu.txt).
COPYRIGHT
install -m 755 "$here/postinst" "$stage/DEBIAN/postinst"
install -m 755 "$here/postrm" "$stage/DEBIAN/postrm"
printf '%s\n' /etc/celldeck/console.conf /etc/xdg/autostart/celldeck-kiosk.desktop \
  > "$stage/DEBIAN/conffiles"

size_kb="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: celldeck
Version: $version
Architecture: $arch
Maintainer: CellDeck <celldeck@localhost>
Installed-Size: $size_kb
Depends: libc6 (>= 2.36), libgl1, libegl1, libxcb1
Recommends: libwayland-client0, libwayland-cursor0
Section: science
Priority: optional
Description: operator console of the closed cell-processing instrument
 CellDeck drives the instrument over a serial line, runs approved recipes as
 ISA-88 batches, shows the live process and keeps the audit trail, electronic
 signatures and batch records (21 CFR Part 11, EU GMP Annex 11). Includes a
 simulated instrument for training (celldeck --demo).
 .
 Built from commit $commit. Records live in each user's data folder and are
 kept when this package is removed, purged or upgraded.
CONTROL

deb="$out/celldeck_${version}_${arch}.deb"
# zstd level 12: a third of the bundle's size in seconds (xz -z6 is a sixth smaller
# but takes a minute); Debian 12's dpkg (the libc6 dependency's release) reads it.
# DEB_COMPRESSION="-Zxz -z6" for older dpkg (Debian 11, Ubuntu before 21.10).
# shellcheck disable=SC2086
dpkg-deb --root-owner-group ${DEB_COMPRESSION:--Zzstd -z12} --build "$stage" "$deb" >/dev/null
echo "$deb"
