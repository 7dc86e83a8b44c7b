"""The project generator wires a board's current sensor into the firmware: nano33 (which has a [current_sensor]) gets
-DMK_INA219 and the prepared INA219 words in build_flags and firmware/src/sensors in lib/mcukit; qemu-m4 (no sensor)
gets neither. The sensor build of the runtime and driver, with exactly the project's flags, compiles for the M4.
A stand-in GeneratedModel is enough here: the generator only copies its files (no TensorFlow)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from mcukit.boards import get_board
from mcukit.codegen.generate import GeneratedModel
from mcukit.measure.ina219 import prepare_for_board
from mcukit.project import render_project, sensor_flags

CPU_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]


def _generated() -> GeneratedModel:
    files = {"model.c": "/* stand-in */\n", "model.h": "/* stand-in */\n"}
    return GeneratedModel(files=files, arena_bytes=1024, weights_bytes=256, plan=None,  # type: ignore[arg-type]
                          layer_names=("l0",), calls=(), inputs=(), outputs=(), rounding="tflm", sha256="0" * 64)


def _build_flags(project: Path, env: str) -> list[str]:
    from platformio.project.config import ProjectConfig

    lines = ProjectConfig(str(project / "platformio.ini")).get(f"env:{env}", "build_flags")
    return [flag for line in lines for flag in shlex.split(line)]


def _src_filter(project: Path) -> list[str]:
    return json.loads((project / "lib/mcukit/library.json").read_text())["build"]["srcFilter"]


def test_nano33_project_has_the_sensor_flags_and_sources(tmp_path: Path) -> None:
    board = get_board("nano33")
    assert board.current_sensor is not None
    project = render_project(_generated(), board, tmp_path / "nano33").directory
    flags = _build_flags(project, "nano33")
    prepared = prepare_for_board(board)
    expected = ["-DMK_INA219", *(f"-D{k}={v}" for k, v in prepared.c_defines().items())]
    assert [f for f in flags if f.startswith("-DMK_INA219")] == expected
    # The board's 0.1 ohm shunt at the default full 320 mV scale: Current_LSB = 3.2 A / 2^15, calibration 4194.
    assert "-DMK_INA219_CALIBRATION_WORD=0x1062u" in flags and "-DMK_INA219_ADDRESS=0x40u" in flags
    assert "+<sensors/*.c>" in _src_filter(project)
    lib = project / "lib/mcukit/src"
    assert {p.name for p in (lib / "sensors").glob("*.c")} == {"mk_ina219.c", "mk_ina219_send.c"}
    assert (lib / "runtime/mk_sense.c").is_file() and (project / "lib/mcukit/include/mcukit/mk_i2c.h").is_file()


def test_a_board_without_a_sensor_is_unchanged(tmp_path: Path) -> None:
    board = get_board("qemu-m4")
    assert board.current_sensor is None and sensor_flags(board) == ()
    project = render_project(_generated(), board, tmp_path / "m4").directory
    assert "MK_INA219" not in (project / "platformio.ini").read_text()
    assert not any("sensors" in f for f in _src_filter(project))
    assert not (project / "lib/mcukit/src/sensors").exists()


def test_the_sensor_build_compiles_for_the_m4_with_the_project_flags(tmp_path: Path) -> None:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    project = render_project(_generated(), get_board("nano33"), tmp_path / "nano33").directory
    flags = [f for f in _build_flags(project, "nano33") if f.startswith("-D")]
    lib = project / "lib/mcukit"
    sources = sorted((lib / "src/runtime").glob("*.c")) + sorted((lib / "src/sensors").glob("*.c"))
    objects = []
    for src in sources:
        obj = tmp_path / f"{src.stem}.o"
        cmd = ["arm-none-eabi-gcc", *CPU_FLAGS, "-std=c99", "-Os", "-Wall", "-Wextra", "-Werror", "-pedantic",
               "-Wconversion", *flags, f"-I{lib / 'include'}", "-c", str(src), "-o", str(obj)]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        objects.append(obj)
    nm = subprocess.run(["arm-none-eabi-nm", *map(str, objects)], capture_output=True, text=True, check=True).stdout
    # The runtime calls the sensor (so the sensor code is really in the build) and the marker has its weak default.
    assert " T mk_sense_before" in nm and " U mk_ina219_log_send" in nm and " W mk_hal_marker" in nm
