#!/usr/bin/env bash
# Sets up (idempotent) and runs the whole test suite: lint, types, tests. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/mypy --strict core
.venv/bin/python -m pytest -q "$@"
