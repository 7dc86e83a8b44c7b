"""Port selection for real boards in CI, against a fake port listing (a runner with boards plugged in and out).

The real counterpart, serial.tools.list_ports on this machine, is exercised in test_real_listing_*."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mcukit.boards import get_board
from mcukit.errors import DeviceError, UsageError
from mcukit.hil.ports import PortSelector, parse_selector, select_port


@dataclass
class FakePort:
    device: str
    vid: int | None
    pid: int | None
    serial_number: str | None = None


NANO = get_board("nano33")
NANO_ID = NANO.serial.usb_ids[0]


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_parse_selector() -> None:
    assert parse_selector("usb:2341:805A") == PortSelector(usb_id=(0x2341, 0x805A))
    assert parse_selector("serial:ABC") == PortSelector(serial_number="ABC")
    assert parse_selector(None, "ABC") == PortSelector(serial_number="ABC")
    assert parse_selector("/dev/ttyACM0") == PortSelector(path="/dev/ttyACM0")
    with pytest.raises(UsageError, match="usb:VVVV:PPPP"):
        parse_selector("usb:zz")
    with pytest.raises(UsageError):
        parse_selector("/dev/ttyACM0", "ABC")


def test_by_usb_id_serial_number_and_board_ids() -> None:
    ports = [FakePort("/dev/ttyACM0", *NANO_ID, "AAA"), FakePort("/dev/ttyACM1", *NANO_ID, "BBB"),
             FakePort("/dev/ttyUSB0", 0x0403, 0x6001, "FTDI")]
    assert select_port(NANO, parse_selector("serial:BBB"), list_ports=lambda: ports) == "/dev/ttyACM1"
    assert select_port(NANO, parse_selector("usb:0403:6001"), list_ports=lambda: ports) == "/dev/ttyUSB0"
    with pytest.raises(DeviceError, match="several ports") as info:  # two identical boards: ask for a serial number
        select_port(NANO, PortSelector(), list_ports=lambda: ports, wait=0)
    assert "serial_number" in (info.value.hint or "")


def test_waits_for_re_enumeration_then_gives_up() -> None:
    clock = Clock()
    listings = iter([[], [], [FakePort("/dev/ttyACM3", *NANO_ID)]])  # bootloader -> gone -> back
    got = select_port(NANO, PortSelector(), wait=5, list_ports=lambda: next(listings), sleep=clock.sleep,
                      clock=clock)
    assert got == "/dev/ttyACM3" and 0 < clock.t < 5
    clock = Clock()
    with pytest.raises(DeviceError, match="no port matches USB serial number XYZ"):
        select_port(NANO, parse_selector("serial:XYZ"), wait=2, list_ports=list, sleep=clock.sleep, clock=clock)
    assert clock.t >= 2


def test_urls_pass_through() -> None:
    assert select_port(NANO, parse_selector("socket://127.0.0.1:4000"), list_ports=list) == "socket://127.0.0.1:4000"


def test_real_listing_finds_no_phantom_board() -> None:
    """With the real port listing: a serial number no board has is reported, not guessed."""
    with pytest.raises(DeviceError, match="no port matches"):
        select_port(NANO, parse_selector("serial:mcukit-no-such-board"), wait=0.3)
