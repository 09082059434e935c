#!/usr/bin/env bash
# After `make package` (CI runs this; so can anyone): the .deb's layout, unpacked into a
# temporary root as dpkg would install it, the installed binary's --self-test offscreen,
# the unpacked bundle's size, and launch to first paint of the bundle against
# `python -m app` (median of 5). Ends with "packaging: N passed, M failed"; exit 1 on a
# failure. The launch time is reported against its target, not enforced (shared
# machines vary); the size is enforced.
set -uo pipefail
cd "$(dirname "$0")/.."
SIZE_TARGET_MB=250
passed=0
failed=0
check() {  # check NAME COMMAND...: run, count, say
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"
  else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

deb="$(ls -t dist/celldeck_*.deb 2>/dev/null | head -1)"
[[ -n "$deb" ]] || { echo "no dist/celldeck_*.deb: run make package first"; exit 1; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
echo "installer: $deb ($(du -m "$deb" | cut -f1) MB)"

layout() {
  local listing conffiles
  listing="$(dpkg-deb -c "$deb" | awk '{print $6}')"
  for path in ./opt/celldeck/celldeck ./opt/celldeck/_internal/build-info.json \
      ./opt/celldeck/_internal/resources/recipes/demo.toml ./usr/bin/celldeck \
      ./usr/bin/celldeck-console ./usr/share/applications/celldeck.desktop \
      ./etc/xdg/autostart/celldeck-kiosk.desktop ./etc/celldeck/console.conf \
      ./usr/lib/udev/rules.d/70-celldeck-serial.rules; do
    grep -qx "$path" <<<"$listing" || { echo "  missing from the .deb: $path"; return 1; }
  done
  if grep -E '^\./(home|root|var)/' <<<"$listing"; then
    echo "  the .deb must not install into a data folder"; return 1
  fi
  conffiles="$(dpkg-deb -I "$deb" conffiles)"
  grep -qx /etc/xdg/autostart/celldeck-kiosk.desktop <<<"$conffiles" || return 1
  grep -q '^Hidden=true' <(dpkg-deb --fsys-tarfile "$deb" \
    | tar -xO ./etc/xdg/autostart/celldeck-kiosk.desktop) || { echo "  kiosk not off"; return 1; }
  # removing or purging keeps the records: no maintainer script touches a data folder
  if dpkg-deb -I "$deb" postrm | grep -E 'rm .*(\.local|CellDeck/|HOME|/home)'; then
    echo "  postrm touches user data"; return 1
  fi
}
check ".deb layout (bundle in /opt/celldeck, desktop entry, kiosk off, udev rule)" layout

dpkg-deb -x "$deb" "$root"
size_mb="$(du -sm "$root/opt/celldeck" | cut -f1)"
echo "unpacked bundle: ${size_mb} MB in $(find "$root/opt/celldeck" -type f | wc -l) files" \
  "(target < ${SIZE_TARGET_MB} MB)"
check "bundle size ${size_mb} MB < ${SIZE_TARGET_MB} MB" test "$size_mb" -lt "$SIZE_TARGET_MB"

self_test() {
  QT_QPA_PLATFORM=offscreen timeout 180 "$root/opt/celldeck/celldeck" --self-test 2>/dev/null
}
check "installed binary's --self-test (offscreen)" self_test
check "installed binary's --version" "$root/opt/celldeck/celldeck" --version

check "launch to first paint measured (bundle against python -m app)" \
  .venv/bin/python packaging/measure_launch.py --bundle "$root/opt/celldeck/celldeck" --runs 5

echo "packaging: $passed passed, $failed failed"
((failed == 0))
