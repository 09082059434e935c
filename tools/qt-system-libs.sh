#!/usr/bin/env bash
# Debian libraries Qt (PySide6 wheels) loads at run time, installed when missing.
#   tools/qt-system-libs.sh offscreen   what headless tests need
#   tools/qt-system-libs.sh display     plus what a real X11 window (or Xvfb) needs
# Installs with apt-get when run as root; otherwise prints the command to run.
set -euo pipefail
mode="${1:-display}"

declare -A lib_to_deb=(
  [libEGL.so.1]=libegl1 [libGL.so.1]=libgl1 [libxkbcommon.so.0]=libxkbcommon0
  [libfontconfig.so.1]=libfontconfig1 [libdbus-1.so.3]=libdbus-1-3
)
if [[ "$mode" == display ]]; then
  lib_to_deb+=(
    [libxcb-cursor.so.0]=libxcb-cursor0 [libxkbcommon-x11.so.0]=libxkbcommon-x11-0
    [libxcb-icccm.so.4]=libxcb-icccm4 [libxcb-keysyms.so.1]=libxcb-keysyms1
    [libxcb-image.so.0]=libxcb-image0 [libxcb-render-util.so.0]=libxcb-render-util0
    [libxcb-shape.so.0]=libxcb-shape0 [libxcb-xinerama.so.0]=libxcb-xinerama0
  )
fi

missing=()
for lib in "${!lib_to_deb[@]}"; do
  ldconfig -p | grep -q "$lib" || missing+=("${lib_to_deb[$lib]}")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Qt system libraries: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Qt needs these Debian packages: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
