"""Choosing a real board's serial port in CI: by device path, by USB id ("usb:2341:805a"), or by USB serial
number (several identical boards on one runner), waiting while the board re-enumerates after a reset."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mcukit.boards import Board
from mcukit.errors import DeviceError, UsageError


class PortInfo(Protocol):
    """What is read from a port listing (serial.tools.list_ports' ListPortInfo fits)."""

    device: str
    vid: int | None
    pid: int | None
    serial_number: str | None


@dataclass(frozen=True)
class PortSelector:
    """One way of naming the port. Exactly one of path / usb_id / serial_number is set (none = by board USB ids)."""

    path: str | None = None
    usb_id: tuple[int, int] | None = None
    serial_number: str | None = None

    def describe(self, board: Board) -> str:
        if self.path:
            return self.path
        if self.usb_id:
            return f"USB id {self.usb_id[0]:04x}:{self.usb_id[1]:04x}"
        if self.serial_number:
            return f"USB serial number {self.serial_number}"
        ids = ", ".join(f"{v:04x}:{p:04x}" for v, p in board.serial.usb_ids) or "none known"
        return f"{board.name}'s USB ids ({ids})"


def parse_selector(port: str | None, serial_number: str | None = None) -> PortSelector:
    """"usb:VVVV:PPPP" -> a USB id, "serial:XYZ" -> a serial number, anything else -> a path or URL."""
    if port and serial_number:
        raise UsageError("both a port and a serial number were given", "choose the board one way")
    if serial_number:
        return PortSelector(serial_number=serial_number)
    if not port:
        return PortSelector()
    if port.startswith("usb:"):
        try:
            vid, pid = port[4:].split(":")
            return PortSelector(usb_id=(int(vid, 16), int(pid, 16)))
        except ValueError:
            raise UsageError(f"port {port!r} is not usb:VVVV:PPPP (hex USB vendor and product id)",
                             "e.g. usb:2341:805a for an Arduino Nano 33 BLE") from None
    if port.startswith("serial:"):
        return PortSelector(serial_number=port[len("serial:"):])
    return PortSelector(path=port)


def _list_ports() -> list[PortInfo]:
    from serial.tools import list_ports

    return list(list_ports.comports())


def matching(selector: PortSelector, board: Board, ports: Sequence[PortInfo]) -> list[str]:
    if selector.path:
        return [p.device for p in ports if p.device == selector.path]
    if selector.usb_id:
        return sorted(p.device for p in ports if (p.vid, p.pid) == selector.usb_id)
    if selector.serial_number:
        return sorted(p.device for p in ports if p.serial_number == selector.serial_number)
    ids = set(board.serial.usb_ids)
    return sorted(p.device for p in ports if (p.vid, p.pid) in ids)


def select_port(board: Board, selector: PortSelector, *, wait: float = 5.0,
                list_ports: Callable[[], Sequence[PortInfo]] = _list_ports,
                sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> str:
    """The device path for `selector`, polling up to `wait` seconds (the board may be re-enumerating after a
    reset or an upload). URLs (socket://, rfc2217://, loop://) are returned as they are. Several matches for a USB
    id are an error naming them all (a serial number tells identical boards apart)."""
    if selector.path and "://" in selector.path:
        return selector.path
    if not (selector.path or selector.usb_id or selector.serial_number or board.serial.usb_ids):
        raise DeviceError(f"{board.name} has no USB ids to find its port by",
                          "set port = \"/dev/ttyACM0\" (or serial_number) for it in mcukit.toml, or pass --port")
    deadline = clock() + wait
    while True:
        found = matching(selector, board, list_ports())
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise DeviceError(f"several ports match {selector.describe(board)}: {', '.join(found)}",
                              "choose the board by its USB serial number: serial_number = \"...\" in mcukit.toml")
        if clock() >= deadline:
            raise DeviceError(f"no port matches {selector.describe(board)} (waited {wait:g} s)",
                              "check the cable (a data cable, not a charge-only one) and that the runner sees the "
                              "board (`python -m serial.tools.list_ports -v`)")
        sleep(0.2)
