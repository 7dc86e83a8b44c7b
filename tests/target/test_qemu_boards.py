"""Each emulated board: the test firmware builds offline with PlatformIO, runs in QEMU, talks over socket://."""

from __future__ import annotations

import os
import struct
import subprocess

import pytest

from mcukit.boards import get_board
from mcukit.build import Firmware
from mcukit.device.qemu import QemuSession

EMULATED = ("qemu-m3", "qemu-m4", "qemu-m7", "qemu-m55")

pytestmark = pytest.mark.slow

# An offline registry attempt stalls ~60 s; a warm build of this firmware takes 1-3 s.
MAX_BUILD_SECONDS = 30.0


@pytest.mark.parametrize("name", EMULATED)
def test_hello_echo_counter(name: str, firmwares: dict[str, Firmware]) -> None:
    board = get_board(name)
    fw = firmwares[name]
    assert fw.build_seconds < MAX_BUILD_SECONDS, fw.build_seconds
    payload = os.urandom(4)
    with QemuSession(board, fw.elf) as qemu:
        port = qemu.connect(timeout=10, read_timeout=5)
        assert qemu.url == f"socket://127.0.0.1:{qemu.port}"
        greeting = port.read_until(b"\n")
        assert greeting == f"hello {name}\n".encode()
        port.write(payload)
        reply = port.read(12)  # echo + two counter readings; the firmware exits right after
        assert reply[:4] == payload
        first, second = struct.unpack("<II", reply[4:])
        assert second > first, "the counter must advance across a busy loop"
        assert qemu.wait(timeout=10) == 0


@pytest.mark.parametrize("name", EMULATED)
def test_sizes_match_arm_size(name: str, firmwares: dict[str, Firmware]) -> None:
    fw = firmwares[name]
    board = get_board(name)
    out = subprocess.run(["arm-none-eabi-size", "-B", "-d", str(fw.elf)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1].split()
    text, data, bss = (int(v) for v in out[:3])
    assert fw.sizes.flash_bytes == text + data
    assert fw.sizes.ram_bytes == data + bss
    assert 0 < fw.sizes.flash_bytes < board.flash_bytes
    assert fw.sizes.section(".stack") > 0


def test_icount_makes_the_counter_deterministic(firmwares: dict[str, Firmware]) -> None:
    board = get_board("qemu-m4")
    deltas = []
    for _ in range(2):
        with QemuSession(board, firmwares["qemu-m4"].elf, icount_shift=0) as qemu:
            port = qemu.connect(timeout=10, read_timeout=5)
            port.read_until(b"\n")
            port.write(b"1234")
            reply = port.read(12)
            first, second = struct.unpack("<II", reply[4:])
            deltas.append(second - first)
            assert qemu.wait(timeout=10) == 0
    # The loop's instruction count is fixed; only the phase of the 40-instruction tick against the loop start
    # varies (the wait for host input runs in real time), so the tick count may differ by one.
    assert min(deltas) > 0
    assert abs(deltas[0] - deltas[1]) <= 1
