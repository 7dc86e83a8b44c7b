"""Open a handshaken DeviceSession on a board: emulated boards start QEMU with the firmware, real boards are found
by USB id (or --port). Crashes and hangs of an emulated board become one clear DeviceError naming what happened."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mcukit.boards import Board
from mcukit.device.link import Link
from mcukit.device.operations import DeviceSession
from mcukit.errors import DeviceError

# Virtual time for emulated boards: -icount shift=0 makes one guest instruction one virtual nanosecond, so the
# board's SysTick counts instructions deterministically (ticks * 1e9 / counter_hz = instructions).
ICOUNT_SHIFT = 0


@contextmanager
def open_device(
    board: Board,
    elf: Path | None = None,
    *,
    port: str | None = None,
    expect_model_hash: str | None = None,
    invoke_timeout: float = 20.0,
    reply_timeout: float = 3.0,
    handshake_timeout: float = 10.0,
    icount: bool = True,
) -> Iterator[DeviceSession]:
    if board.emulator is not None and not port:
        if elf is None:
            raise DeviceError(f"{board.name} is emulated: it needs the firmware ELF to start", "build it first")
        yield from _emulated(board, elf, expect_model_hash, invoke_timeout, reply_timeout, handshake_timeout, icount)
        return
    from mcukit.device.ports import find_port

    url = find_port(board, port, wait=5.0)
    session = DeviceSession.open(url, baudrate=board.serial.baud, invoke_timeout=invoke_timeout,
                                 reply_timeout=reply_timeout)
    try:
        session.handshake(timeout=handshake_timeout, expect_model_hash=expect_model_hash)
        yield session
    finally:
        session.close(bye=False)


def _emulated(board, elf, expect_model_hash, invoke_timeout, reply_timeout, handshake_timeout, icount):
    from mcukit.device.qemu import QemuSession

    with QemuSession(board, elf, icount_shift=ICOUNT_SHIFT if icount else None) as qemu:
        serial_port = qemu.connect(timeout=10.0, read_timeout=0.05)
        session = DeviceSession(Link(serial_port, name=board.name), invoke_timeout=invoke_timeout,
                                reply_timeout=reply_timeout)
        try:
            session.handshake(timeout=handshake_timeout, expect_model_hash=expect_model_hash)
            yield session
        except DeviceError as err:
            raise explain_qemu_failure(err, qemu, session.link) from err
        session.close(bye=True)
        try:
            qemu.wait(timeout=5.0)
        except DeviceError:
            pass  # it answered everything; a slow exit is not the user's problem


def explain_qemu_failure(err: DeviceError, qemu, link: Link | None = None) -> DeviceError:
    """Add what QEMU knows: a HardFault report, or an exit status, to a link error. The HAL writes the full report
    (pc, lr, fault registers) on the UART, where the link keeps it as a text line, and only its first word on the
    semihosting console: prefer the link's copy."""
    import subprocess

    with contextlib.suppress(subprocess.TimeoutExpired):  # still running: the firmware hangs, or the link failed
        qemu.process.wait(timeout=0.5)
    text = "\n".join(link.text_lines if link is not None else ()) + "\n" + qemu.stdout + qemu.stderr
    fault = next((line.strip() for line in text.splitlines()
                  if "HARDFAULT" in line or "UNEXPECTED EXCEPTION" in line), None)
    status = qemu.process.poll() if qemu.process else None
    if fault:
        return DeviceError(f"the firmware crashed on {qemu.board.name}: {fault}",
                           "a kernel wrote out of bounds or the stack overflowed; please report it with the model")
    if status is not None:
        return DeviceError(f"the emulated {qemu.board.name} exited with status {status} during the run ({err.message})",
                           err.hint or "rerun with --debug to see the device's last lines")
    return err
