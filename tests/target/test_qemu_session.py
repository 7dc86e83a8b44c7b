"""The QEMU launcher: parallel sessions never clash, the SysTick counter is monotonic across its 24-bit wraps."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor

import pytest

from mcukit.boards import get_board
from mcukit.build import Firmware
from mcukit.device.qemu import QemuSession, run_elf
from mcukit.errors import BoardError

pytestmark = pytest.mark.slow


def test_parallel_sessions_use_distinct_ports(firmwares: dict[str, Firmware]) -> None:
    names = ["qemu-m3", "qemu-m4", "qemu-m7", "qemu-m55"] * 2

    def one(name: str) -> tuple[int, int]:
        result = run_elf(get_board(name), firmwares[name].elf, send=b"ABCD", timeout=20)
        assert result.uart.startswith(f"hello {name}\nABCD".encode()), result.uart
        return result.status, 0

    sessions = [QemuSession(get_board(n), firmwares[n].elf).start() for n in names[:4]]
    try:
        assert len({s.port for s in sessions}) == 4
    finally:
        for s in sessions:
            s.close()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(one, names))
    assert statuses == [(0, 0)] * len(names)


def test_counter_monotonic_across_wraps(firmwares: dict[str, Firmware]) -> None:
    result = run_elf(get_board("qemu-m4"), firmwares["qemu-m4-counter"].elf, timeout=20)
    assert result.status == 0
    backwards, elapsed, hz = struct.unpack("<III", result.uart[-12:])
    assert hz == get_board("qemu-m4").emulator.counter_hz
    assert backwards == 0
    # 1.5 s of emulated time measured by mk_hal_millis, which derives from the same counter: > 2 wraps of 2^24.
    assert elapsed >= 2 * (1 << 24)
    assert abs(elapsed - 1.5 * hz) < 0.01 * hz


def test_real_board_cannot_run_in_qemu(tmp_path) -> None:
    elf = tmp_path / "x.elf"
    elf.write_bytes(b"\x7fELF")
    with pytest.raises(BoardError, match="not emulated"):
        QemuSession(get_board("nano33"), elf)
