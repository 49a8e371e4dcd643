#!/usr/bin/env bash
# Sets up (idempotent) and starts the Courier window. Extra arguments go to `courier`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh app
exec .venv/bin/courier "$@"
