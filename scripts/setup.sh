#!/usr/bin/env bash
# Installs what Courier needs on Debian 12 (as root): Debian packages, a venv in .venv, the project.
#   scripts/setup.sh app    -> runtime only
#   scripts/setup.sh test   -> runtime + test servers + test extras
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-app}
pkgs=(libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 xvfb)
if [ "$mode" = test ]; then
  pkgs+=(gnome-keyring dbus tinyproxy microsocks nginx-light curl)
  pkgs+=(binutils)  # the frozen build (packaging/ci-smoke.sh): PyInstaller needs objdump
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
py=$(scripts/find-python.sh)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3,12) else 1)'; then
  rm -rf .venv
  "$py" -m venv .venv
fi
extra=""
[ "$mode" = test ] && extra="[dev]"
.venv/bin/pip install -q --disable-pip-version-check -e ".$extra" 2>&1 | grep -v "is ignored: it is neither" || true
.venv/bin/python -c "import core, app" 
