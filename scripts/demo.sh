#!/usr/bin/env bash
# Set up (if needed) and run the main job on the embedded default board (qemu-m4, an emulated Cortex-M4):
# quantize the shipped keyword-spotting model, compile it to C, build the firmware, run the whole test set on the
# board and check every output against TFLite Micro's host interpreter bit for bit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PLATFORMIO_DISABLE_UPGRADE_CHECK=true PLATFORMIO_SETTING_ENABLE_TELEMETRY=no
mkdir -p out
.venv/bin/mcukit deploy examples/kws.h5 --test-data examples/kws_test.npz --json out/kws-qemu-m4.json
echo "results: out/kws-qemu-m4.json"
