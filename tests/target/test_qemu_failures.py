"""Crashes and hangs become clear failures: a HardFault exits non-zero with its report, a hang is killed."""

from __future__ import annotations

import re
import time

import pytest

from mcukit.boards import get_board
from mcukit.build import Firmware, PioCore
from mcukit.build.pio import run_pio
from mcukit.device.qemu import HARDFAULT_EXIT, QemuSession, run_elf
from mcukit.errors import DeviceError

pytestmark = pytest.mark.slow


def _symbol_range(elf, name: str) -> tuple[int, int]:
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as fh:
        sym = ELFFile(fh).get_section_by_name(".symtab").get_symbol_by_name(name)[0]
        start = sym["st_value"] & ~1  # Thumb bit
        return start, start + sym["st_size"]


def test_hardfault_exits_nonzero_with_report(firmwares: dict[str, Firmware]) -> None:
    fw = firmwares["qemu-m4-fault"]
    result = run_elf(get_board("qemu-m4"), fw.elf, timeout=10)
    assert result.status == HARDFAULT_EXIT
    assert result.uart.startswith(b"hello qemu-m4\n")
    assert result.fault is not None and result.fault.startswith("HARDFAULT pc=0x")
    pc = int(re.search(r"pc=0x([0-9a-f]{8})", result.fault).group(1), 16)
    start, end = _symbol_range(fw.elf, "mk_test_fault")
    assert start <= pc < end, "the reported pc must be the faulting instruction"
    assert "HARDFAULT" in result.output  # also on the semihosting console


def test_hang_is_killed_after_timeout(firmwares: dict[str, Firmware]) -> None:
    with QemuSession(get_board("qemu-m4"), firmwares["qemu-m4-hang"].elf) as qemu:
        port = qemu.connect(timeout=10, read_timeout=5)
        assert port.read_until(b"\n") == b"hello qemu-m4\n"
        start = time.monotonic()
        with pytest.raises(DeviceError, match="did not exit within 1 s; QEMU was killed"):
            qemu.wait(timeout=1.0)
        assert time.monotonic() - start < 5
        assert not qemu.running


def test_run_elf_timeout_on_hang(firmwares: dict[str, Firmware]) -> None:
    with pytest.raises(DeviceError, match="did not exit"):
        run_elf(get_board("qemu-m4"), firmwares["qemu-m4-hang"].elf, timeout=1.0)


def test_pio_upload_returns_the_firmware_status(test_project, pio_core: PioCore,
                                                firmwares: dict[str, Firmware]) -> None:
    proc = run_pio(["run", "-d", str(test_project), "-e", "qemu-m4-fault", "-t", "upload"], pio_core, timeout=120)
    assert proc.returncode != 0
    assert f"exited with status {HARDFAULT_EXIT}" in proc.stdout
    assert "HARDFAULT pc=0x" in proc.stdout
