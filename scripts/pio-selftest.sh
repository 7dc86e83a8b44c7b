#!/usr/bin/env bash
# Run the firmware self-tests with PlatformIO (`pio test`) in mcukit's prepared PlatformIO core, so the emulated
# boards build and run offline. Arguments go to `pio test`; default: every emulated board (default_envs).
#   scripts/pio-selftest.sh                  # qemu_m4, qemu_m3, qemu_m7, qemu_m55
#   scripts/pio-selftest.sh -e qemu_m4 -v
# Uses .venv/bin/python if present, else $PYTHON or python3 (with mcukit installed).
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-}"
if [ -z "$py" ]; then
    if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
# prepare_core() is cheap once done: it (re)writes PlatformIO's tool-scons stand-in and toolchain links.
core_dir="$("$py" -c 'from mcukit.build import prepare_core; print(prepare_core().core_dir)')"
export PLATFORMIO_CORE_DIR="$core_dir"
export PLATFORMIO_DISABLE_UPGRADE_CHECK=true PLATFORMIO_SETTING_ENABLE_TELEMETRY=no
exec "$py" -m platformio test "$@"
