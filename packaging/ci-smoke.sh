#!/usr/bin/env bash
# CI (called by scripts/test.sh): build the frozen bundle, then run its `--version` and
# `--self-test` with no display (the self-test runs offscreen). Fails on any mismatch or failure.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
packaging/build.sh
bin=dist/courier/courier
expected="courier $("$py" -c 'from app.version import version; print(version())')"
got=$(env -u DISPLAY -u WAYLAND_DISPLAY "$bin" --version)
if [ "$got" != "$expected" ]; then
  echo "ci-smoke: the frozen --version says '$got', the venv says '$expected'" >&2
  exit 1
fi
echo "ci-smoke: $got"
env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM timeout 120 "$bin" --self-test
# The real window on a real (virtual) X server: Qt's xcb plugin and the libraries bundled for it.
if command -v xvfb-run >/dev/null 2>&1; then
  data=$(mktemp -d)
  COURIER_DATA_DIR=$data timeout 120 xvfb-run -a env -u QT_QPA_PLATFORM "$bin" --quit-after 0.5
  rm -rf "$data"
  echo "ci-smoke: the window opened and closed under Xvfb (xcb)"
fi
