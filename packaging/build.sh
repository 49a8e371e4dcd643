#!/usr/bin/env bash
# Builds the frozen Courier (PyInstaller, one folder) into dist/courier; run it from anywhere.
#   packaging/build.sh          -> dist/courier/courier (start it, or `dist/courier/courier --self-test`)
#   packaging/build.sh --tar    -> also dist/courier-VERSION-linux-ARCH.tar.gz
#   PYTHON=/path/bin/python packaging/build.sh    -> build with another venv (default: .venv)
#   COURIER_PACKAGING_DEBUG=1 packaging/build.sh  -> debug build (see packaging/courier.spec)
# The build host needs the Debian libraries Qt's xcb plugin links against (libxcb-icccm4,
# libxcb-keysyms1, ...: scripts/setup.sh installs them) so that they are bundled.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
[ -x "$py" ] || { echo "build.sh: no Python at $py; run scripts/setup.sh first or set PYTHON" >&2; exit 1; }
tar=0
for arg in "$@"; do
  case $arg in
    --tar) tar=1 ;;
    *) echo "build.sh: unknown argument $arg (known: --tar)" >&2; exit 2 ;;
  esac
done

# The `package` extra of pyproject.toml (PyInstaller), without reinstalling the project itself.
mapfile -t reqs < <("$py" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["package"]))')
"$py" -m pip install -q --disable-pip-version-check "${reqs[@]}"

SECONDS=0
"$py" -m PyInstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/courier.spec
echo "build.sh: dist/courier built in ${SECONDS} s, $(du -sh dist/courier | cut -f1)"

if [ "$tar" = 1 ]; then
  version=$(dist/courier/courier --version | awk '{print $2}')
  archive="dist/courier-$version-linux-$(uname -m).tar.gz"
  tar -C dist -czf "$archive" courier
  echo "build.sh: $archive, $(du -h "$archive" | cut -f1)"
fi
