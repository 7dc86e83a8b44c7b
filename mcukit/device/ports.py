"""Find a real board's serial port from its USB ids (boards/*.toml `serial.usb_ids`), or check the one given."""

from __future__ import annotations

import time

from mcukit.boards import Board
from mcukit.errors import DeviceError


def list_candidates(board: Board) -> list[str]:
    from serial.tools import list_ports

    wanted = set(board.serial.usb_ids)
    return sorted(p.device for p in list_ports.comports() if (p.vid, p.pid) in wanted)


def find_port(board: Board, port: str | None = None, *, wait: float = 0.0) -> str:
    """The port to talk to `board` on. With `port` given, check it exists; else auto-detect by USB id, waiting up
    to `wait` seconds (a board re-enumerates after flashing, e.g. the Nano's 1200-baud-touch bootloader)."""
    if port:
        if port.startswith(("socket://", "rfc2217://", "loop://")):
            return port
        from serial.tools import list_ports

        deadline = time.monotonic() + wait
        while True:
            if any(p.device == port for p in list_ports.comports()):
                return port
            if time.monotonic() >= deadline:
                raise DeviceError(f"serial port {port} does not exist",
                                  "check the cable and the port name (`mcukit boards --ports` lists candidates)")
            time.sleep(0.2)
    if not board.serial.usb_ids:
        raise DeviceError(f"{board.name} has no USB ids to find its port by", "pass --port")
    deadline = time.monotonic() + wait
    while True:
        found = list_candidates(board)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise DeviceError(f"several ports look like a {board.name}: {', '.join(found)}", "choose one with --port")
        if time.monotonic() >= deadline:
            ids = ", ".join(f"{vid:04x}:{pid:04x}" for vid, pid in board.serial.usb_ids)
            raise DeviceError(f"no {board.name} found on USB (looked for {ids})",
                              "plug the board in (a data cable, not a charge-only one), or pass --port")
        time.sleep(0.2)
