#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite. This is the command CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PLATFORMIO_DISABLE_UPGRADE_CHECK=true PLATFORMIO_SETTING_ENABLE_TELEMETRY=no
exec .venv/bin/python -m pytest -q "$@"
