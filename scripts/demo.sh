#!/usr/bin/env bash
# Set up (if needed) and run the main job on the embedded default board (qemu-m4, an emulated Cortex-M4).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PLATFORMIO_DISABLE_UPGRADE_CHECK=true PLATFORMIO_SETTING_ENABLE_TELEMETRY=no
MCUKIT=.venv/bin/mcukit
mkdir -p out
$MCUKIT quantize examples/kws.h5 -o out/kws.tflite --calibration examples/kws_test.npz
$MCUKIT inspect out/kws.tflite
$MCUKIT compile out/kws.tflite -o out/kws_c
