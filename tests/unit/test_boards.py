"""Board TOML files: loading, validation, lookup, and agreement with the local PlatformIO platform."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from mcukit.boards import DEFAULT_BOARD, Board, all_boards, get_board, load_boards, parse_board
from mcukit.build import env_ini, first_error_line
from mcukit.build.pio import PioCore, ensure_platform_available, prepare_core, registry_reachable
from mcukit.build.runner import _raise_for_failure
from mcukit.errors import BoardError, CompileError
from mcukit.paths import data_dir

EXPECTED = {"qemu-m3", "qemu-m4", "qemu-m7", "qemu-m55", "nano33", "xiao-sense", "pico", "nucleo-l4r5zi",
            "nucleo-h743zi"}

VALID = """
name = "test-board"
aliases = ["tb"]
description = "a test board"
core = "cortex-m4"
clock_hz = 64_000_000
flash_bytes = 1_048_576
ram_bytes = 262_144
hal = "arduino"
verified = "never"

[isa]
dsp = true
fpu = true
mve = false

[platformio]
platform = "nordicnrf52"
board = "nano33ble"
framework = "arduino"

[serial]
baud = 115200
usb_ids = ["2341:805a"]

[power]
active_ua_per_mhz = 52.0
supply_v = 3.0
source = "a datasheet"
"""


def _without(text: str, line_start: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(line_start))


def test_shipped_boards_load_and_are_complete() -> None:
    boards = all_boards()
    assert set(boards) == EXPECTED
    assert DEFAULT_BOARD == "qemu-m4" and boards[DEFAULT_BOARD].emulated
    for board in boards.values():
        assert board.verified and board.power.source
        assert board.emulated == board.name.startswith("qemu-")
        assert board.emulated == board.platformio.is_local


def test_valid_board_parses() -> None:
    board = parse_board(VALID, "<test>")
    assert isinstance(board, Board)
    assert board.isa.features == ("dsp", "fpu")
    assert board.serial.usb_ids == ((0x2341, 0x805A),)
    assert board.power.active_power_w(64_000_000) == pytest.approx(52e-6 * 64 * 3.0)
    assert not board.emulated


@pytest.mark.parametrize("field", ["clock_hz", "core", "hal", "verified", "name"])
def test_missing_field_is_named(field: str) -> None:
    with pytest.raises(BoardError, match=f"missing field '{field}'"):
        parse_board(_without(VALID, field), "<test>")


def test_missing_table_and_nested_field() -> None:
    with pytest.raises(BoardError, match=r"missing field 'power.supply_v'"):
        parse_board(_without(VALID, "supply_v"), "<test>")
    no_power = VALID.split("[power]")[0]
    with pytest.raises(BoardError, match=r"missing table \[power\]"):
        parse_board(no_power, "<test>")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('core = "cortex-m4"', 'core = "cortex-m5"', "core 'cortex-m5' is not one of"),
        ("mve = false", "mve = true", "a cortex-m4 has no mve extension"),
        ("clock_hz = 64_000_000", 'clock_hz = "64 MHz"', "'clock_hz' must be int"),
        ("clock_hz = 64_000_000", "clock_hz = true", "'clock_hz' must be int"),
        ("ram_bytes = 262_144", "ram_bytes = 0", "'ram_bytes' must be positive"),
        ('hal = "arduino"', 'hal = "qemu_mps2"', r"need an \[emulator\] table"),
        ('usb_ids = ["2341:805a"]', 'usb_ids = ["2341-805a"]', "is not 'vvvv:pppp'"),
        ("supply_v = 3.0", "supply_v = 3.0\nsuply_v = 3.3", "unknown field"),
        ('name = "test-board"', 'name = "test-board', "not valid TOML"),
    ],
)
def test_invalid_values_are_rejected(old: str, new: str, message: str) -> None:
    assert old in VALID
    with pytest.raises(BoardError, match=message):
        parse_board(VALID.replace(old, new), "<test>")


def test_lookup_by_name_alias_and_case() -> None:
    assert get_board().name == DEFAULT_BOARD
    assert get_board("M55").name == "qemu-m55"
    assert get_board("mps2-an385").name == "qemu-m3"
    assert get_board(" Nano33BLE ").name == "nano33"


def test_unknown_board_lists_known_and_suggests() -> None:
    with pytest.raises(BoardError) as info:
        get_board("qemu-m5")
    assert "unknown board 'qemu-m5'" in info.value.message
    assert "did you mean 'qemu-m55'" in info.value.hint
    for name in EXPECTED:
        assert name in info.value.hint
    with pytest.raises(BoardError) as info:
        get_board("zzzzzz")
    assert "did you mean" not in info.value.hint


def test_directory_checks_file_names_and_duplicate_aliases(tmp_path: Path) -> None:
    (tmp_path / "test-board.toml").write_text(VALID)
    assert list(load_boards(tmp_path)) == ["test-board"]
    (tmp_path / "other.toml").write_text(VALID.replace('name = "test-board"', 'name = "other"'))
    with pytest.raises(BoardError, match="alias 'tb' is already used"):
        load_boards(tmp_path)
    (tmp_path / "other.toml").unlink()
    (tmp_path / "wrong.toml").write_text(VALID.replace('aliases = ["tb"]', "aliases = []"))
    with pytest.raises(BoardError, match="must match the file name"):
        load_boards(tmp_path)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("qemu-")))
def test_emulated_board_matches_platform_board_json(name: str) -> None:
    board = get_board(name)
    assert board.emulator is not None and board.platformio.local_dir is not None
    manifest = json.loads((board.platformio.local_dir / "boards" / f"{board.platformio.board}.json").read_text())
    mk = manifest["build"]["mcukit"]
    assert manifest["build"]["cpu"] == board.core == board.emulator.cpu
    assert mk["machine"] == board.emulator.machine
    assert int(mk["uart_base"], 16) == board.emulator.uart_base
    assert mk["uart_rx_irq"] == board.emulator.uart_rx_irq
    assert mk["counter_hz"] == board.emulator.counter_hz
    assert mk["ldscript"] == board.emulator.linker_script
    assert manifest["upload"]["maximum_size"] == board.flash_bytes
    assert manifest["upload"]["maximum_ram_size"] == board.ram_bytes
    ld = data_dir("firmware") / "src" / "hal" / "qemu_mps2" / "ld" / board.emulator.linker_script
    assert ld.is_file()


def test_env_ini_for_emulated_and_real_boards() -> None:
    ini = env_ini(get_board("qemu-m4"), mcukit_src=["runtime"], upload_flags=["-icount shift=0"])
    platform_dir = (data_dir("boards") / "platform-mcukit-qemu").resolve()
    assert "[env:qemu-m4]" in ini
    # NAME=URI: a link name of its own per platform folder, so checkouts sharing a PlatformIO core never collide
    uri = re.escape(f"symlink://{platform_dir}")
    assert re.search(rf"^platform = platform-mcukit-qemu-[0-9a-f]{{10}}={uri}$", ini, re.MULTILINE)
    assert platform_dir.is_absolute()
    assert f"custom_mcukit_firmware = {data_dir('firmware').resolve()}" in ini
    assert "custom_mcukit_src = runtime" in ini and "-icount shift=0" in ini
    real = env_ini(get_board("nano33"))
    assert "platform = nordicnrf52" in real and "framework = arduino" in real and "board = nano33ble" in real
    assert f"-I{data_dir('firmware').resolve() / 'include'}" in real


def test_prepare_core_writes_offline_shims(tmp_path: Path) -> None:
    core = prepare_core(tmp_path / "core")
    scons = core.packages_dir / "tool-scons"
    assert (scons / "scons.py").is_file()
    assert json.loads((scons / ".piopm").read_text())["spec"]["owner"] == "platformio"
    gcc = core.packages_dir / "toolchain-gccarmnoneeabi-system" / "bin" / "arm-none-eabi-gcc"
    assert gcc.is_symlink() and gcc.resolve().is_file()
    assert core.env["PLATFORMIO_CORE_DIR"] == str(tmp_path / "core")
    assert core.env["PLATFORMIO_DISABLE_UPGRADE_CHECK"] == "true"
    assert core.env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] == "no"
    again = prepare_core(tmp_path / "core")
    assert again.core_dir == core.core_dir


def test_registry_check_is_fast() -> None:
    start = time.monotonic()
    registry_reachable(timeout=2.0)
    assert time.monotonic() - start < 3.0


def test_missing_platform_offline_is_a_clear_board_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcukit.build import pio

    monkeypatch.setattr(pio, "registry_reachable", lambda timeout=2.0: False)
    core = PioCore(tmp_path, {})
    start = time.monotonic()
    with pytest.raises(BoardError) as info:
        ensure_platform_available(get_board("nano33"), core)
    assert time.monotonic() - start < 1.0
    text = str(info.value)
    assert "nordicnrf52 platform is not installed" in text
    assert "PlatformIO registry is unreachable" in text
    assert "pkg install -g -p nordicnrf52" in text
    from platformio import __registry_mirror_hosts__

    assert not any(host in text for host in __registry_mirror_hosts__)
    ensure_platform_available(get_board("qemu-m4"), core)  # local platform: never needs the registry


def test_installed_platform_with_missing_framework_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcukit.build import pio

    monkeypatch.setattr(pio, "registry_reachable", lambda timeout=2.0: False)
    platform = tmp_path / "platforms" / "nordicnrf52"
    platform.mkdir(parents=True)
    (platform / "platform.json").write_text(json.dumps({
        "packages": {"toolchain-gccarmnoneeabi": {"version": "~1.0"}, "tool-jlink": {"optional": True}},
        "frameworks": {"arduino": {"package": "framework-arduino-mbed"}},
    }))
    (tmp_path / "packages" / "toolchain-gccarmnoneeabi").mkdir(parents=True)
    with pytest.raises(BoardError, match="packages framework-arduino-mbed are not installed"):
        ensure_platform_available(get_board("nano33"), PioCore(tmp_path, {}))
    (tmp_path / "packages" / "framework-arduino-mbed").mkdir()
    ensure_platform_available(get_board("nano33"), PioCore(tmp_path, {}))


GCC_LOG = """Compiling .pio/build/qemu-m4/src/main.o
src/model.c: In function 'f':
src/model.c:3:5: warning: unused variable 'x' [-Wunused-variable]
src/main.c:12:9: error: 'y' undeclared (first use in this function)
src/main.c:20:1: error: expected ';' before '}' token
*** [.pio/build/qemu-m4/src/main.o] Error 1
"""


def test_first_error_line_and_failure_mapping() -> None:
    assert first_error_line(GCC_LOG) == "src/main.c:12:9: error: 'y' undeclared (first use in this function)"
    assert first_error_line("all good\n") is None
    bad_flag = "Compiling x.o\ncc1: error: unrecognized command-line option '-Ofoo'\n*** [x.o] Error 1\n"
    assert first_error_line(bad_flag) == "cc1: error: unrecognized command-line option '-Ofoo'"
    with pytest.raises(CompileError, match="'y' undeclared"):
        _raise_for_failure(GCC_LOG, Path("/p"), "qemu-m4", get_board("qemu-m4"))
    overflow = "/usr/bin/arm-none-eabi-ld: region `RAM' overflowed by 1234 bytes\ncollect2: error: ld returned 1\n"
    with pytest.raises(BoardError, match="does not fit in the RAM region of board 'qemu-m4' by 1234 bytes"):
        _raise_for_failure(overflow, Path("/p"), "qemu-m4", get_board("qemu-m4"))
    link = "main.o: in function `main':\nmain.c:(.text+0x8): undefined reference to `mk_model_run'\n"
    with pytest.raises(CompileError, match="undefined reference to `mk_model_run'"):
        _raise_for_failure(link, Path("/p"), "qemu-m4", None)


def test_cli_boards_json() -> None:
    from click.testing import CliRunner

    from mcukit.cli import cli

    result = CliRunner().invoke(cli, ["boards", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["default"] == DEFAULT_BOARD
    names = {b["name"] for b in payload["boards"]}
    assert names == EXPECTED
    m55 = next(b for b in payload["boards"] if b["name"] == "qemu-m55")
    assert m55["isa"] == ["dsp", "fpu", "mve"] and m55["emulated"] and m55["verified"]
    table = CliRunner().invoke(cli, ["boards"])
    assert table.exit_code == 0 and "qemu-m4*" in table.output and "nucleo-h743zi" in table.output
