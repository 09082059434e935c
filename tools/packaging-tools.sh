#!/usr/bin/env bash
# Debian tools `make package` needs, installed when missing: objdump and strip (binutils:
# PyInstaller reads every library's dependencies with them; the spec strips debug info)
# and dpkg-deb (dpkg). Installs with apt-get when run as root; otherwise prints the
# command to run.
set -euo pipefail
declare -A tool_to_deb=([objdump]=binutils [strip]=binutils [dpkg-deb]=dpkg)
missing=()
for tool in "${!tool_to_deb[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${tool_to_deb[$tool]}")
done
((${#missing[@]})) || exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing packaging tools: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "make package needs these Debian packages: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
