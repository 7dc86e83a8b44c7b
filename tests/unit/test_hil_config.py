"""mcukit.toml parsing: budgets, per-board overrides, units, and clear errors for every kind of mistake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcukit.__main__ import main
from mcukit.errors import UsageError
from mcukit.hil.config import Latency, load_config, make_cases


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "m.tflite").write_bytes(b"not parsed while loading the config")
    np.savez(tmp_path / "data.npz", x=np.zeros((4, 3), np.int8), y=np.arange(4))
    np.savez(tmp_path / "nolabels.npz", x=np.zeros((4, 3), np.int8))
    return tmp_path


def write(folder: Path, text: str, name: str = "mcukit.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_with_defaults_and_board_overrides(project: Path) -> None:
    write(project, """
boards = ["qemu-m4", "nano33"]
retries = 3
[budgets]
max_ram_bytes = 64_000
[board.nano33]
serial_number = "ABC123"
[[model]]
path = "m.tflite"
test_data = "data.npz"
build_flags = ["-O0"]
[model.budgets]
max_flash_bytes = 100_000
max_latency = "250_000 instructions"
min_accuracy = 0.5
[model.board.nano33]
max_latency = 12.5
latency_unit = "ms"
""")
    cfg = load_config(project / "mcukit.toml")
    assert cfg.retries == 3 and cfg.baseline == project / "mcukit-baseline.json"
    (model,) = cfg.models
    assert model.name == "m" and model.build_flags == ("-O0",) and model.test_data == (project / "data.npz",)
    cases = {c.board.name: c for c in make_cases(cfg)}
    assert set(cases) == {"qemu-m4", "nano33"}
    emu, real = cases["qemu-m4"].budgets, cases["nano33"].budgets
    assert emu.max_latency == Latency(250_000, "instructions") and real.max_latency == Latency(12.5, "ms")
    assert emu.max_ram_bytes == real.max_ram_bytes == 64_000  # top-level default reaches every model and board
    assert emu.max_flash_bytes == real.max_flash_bytes == 100_000
    assert emu.bit_exact is None and emu.min_accuracy == 0.5  # min_accuracy chosen: bit_exact not implied
    assert cases["nano33"].settings.serial_number == "ABC123"
    # --board replaces the configured boards
    assert [c.board.name for c in make_cases(cfg, ("qemu-m7",))] == ["qemu-m7"]


def test_pyproject_tool_table_and_default_search(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project, '[project]\nname = "x"\n[tool.mcukit]\nboards = ["qemu-m4"]\n[[tool.mcukit.model]]\n'
                   'path = "m.tflite"\n', "pyproject.toml")
    monkeypatch.chdir(project)
    cfg = load_config()
    assert cfg.path.name == "pyproject.toml"
    (case,) = make_cases(cfg)
    assert case.budgets.bit_exact is True  # the default check when nothing else is asked


@pytest.mark.parametrize(("text", "expected"), [
    ('[[model]]\npath = "m.tflite"\nmax_flash = 3\n', "unknown key(s) 'model[0].max_flash'"),
    ('[[model]]\npath = "m.tflite"\n[model.budgets]\nmax_latancy = "3 ms"\n', "max_latancy"),
    ('[[model]]\npath = "missing.tflite"\n', "does not exist"),
    ('[[model]]\npath = "m.tflite"\n[model.budgets]\nmax_latency = 1000\n', "needs a unit"),
    ('[[model]]\npath = "m.tflite"\n[model.budgets]\nmax_latency = "10 seconds"\n', "unit 'seconds'"),
    ('[[model]]\npath = "m.tflite"\n[model.budgets]\nmax_flash_bytes = "big"\n', "must be int"),
    ('[[model]]\npath = "m.tflite"\n[model.budgets]\nmin_accuracy = 90\n', "fraction"),
    ('[[model]]\npath = "m.tflite"\nboards = ["qemu-m44"]\n', "unknown board"),
    ('boards = ["qemu-m4"]\n', "no models"),
    ('[[model]]\npath = "m.tflite"\n[[model]]\npath = "m.tflite"\n', "several models are named 'm'"),
    ('[[model]]\npath = "m.tflite"\n[board.nano33]\nport = "usb:2341:805a"\nserial_number = "1"\n', "give one"),
    ("[[model]\n", "not valid TOML"),
])
def test_config_mistakes_are_usage_errors_naming_the_key(project: Path, text: str, expected: str) -> None:
    write(project, 'boards = ["qemu-m4"]\n' + text if not text.startswith("boards") else text)
    with pytest.raises(UsageError) as info:
        make_cases(load_config(project / "mcukit.toml"))
    assert expected in str(info.value)


def test_latency_unit_the_board_cannot_report_is_a_config_error(project: Path) -> None:
    write(project, 'boards = ["qemu-m4"]\n[[model]]\npath = "m.tflite"\n[model.budgets]\nmax_latency = "5 ms"\n')
    with pytest.raises(UsageError) as info:
        make_cases(load_config(project))
    msg = str(info.value)
    assert "max_latency in ms" in msg and "qemu-m4" in msg and "instructions" in msg
    # ...and through the CLI it is exit status 2 before anything is built
    assert main(["test", str(project / "mcukit.toml")]) == 2


def test_min_accuracy_needs_labels(project: Path) -> None:
    write(project, 'boards = ["qemu-m4"]\n[[model]]\npath = "m.tflite"\ntest_data = "nolabels.npz"\n'
                   "[model.budgets]\nmin_accuracy = 0.5\n")
    with pytest.raises(UsageError, match="no labels"):
        make_cases(load_config(project))


def test_missing_config_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["test"]) == 2
