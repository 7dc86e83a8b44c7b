#!/usr/bin/env bash
# Installs everything mcukit and its tests need on a fresh Debian machine; a no-op when all is in place.
#   - Debian packages: the Arm GNU toolchain with newlib, and QEMU's Arm system emulator (the emulated boards)
#   - .venv with mcukit (editable) and its dev extras (TensorFlow for `quantize`, pytest, ruff)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm chromium)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "mcukit: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "mcukit: creating .venv"
  "$PY" -m venv .venv
fi
stamp=".venv/.mcukit-installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "mcukit: installing Python packages into .venv (TensorFlow is large: this takes a few minutes once)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f .venv/.mcukit-installed-*
  touch "$stamp"
fi
