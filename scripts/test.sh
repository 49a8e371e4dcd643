#!/usr/bin/env bash
# Sets up (idempotent) and runs the whole test suite: lint, types, tests. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/mypy --strict core
# The frozen bundle (packaging/): build it, run its --version and --self-test; pytest then checks
# its contents too (tests/test_packaging.py). COURIER_SKIP_BUNDLE=1 skips it for a quick local run.
[ "${COURIER_SKIP_BUNDLE:-0}" = 1 ] || PYTHON=.venv/bin/python packaging/ci-smoke.sh
.venv/bin/python -m pytest -q "$@"
