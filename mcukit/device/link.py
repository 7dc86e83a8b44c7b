"""The byte link to a device: a pyserial port (real serial port, or `socket://host:port` for QEMU) plus framing.

`Link` sends frames and returns received frames one at a time; text lines the firmware prints are kept (the last
few end up in error messages). Every read and write has a timeout, and every pyserial/socket failure becomes a
DeviceError subclass with a message that says what happened.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol

from mcukit.device.errors import DeviceDisconnected, DeviceTimeout
from mcukit.device.framing import BadFrame, Frame, FrameDecoder, TextLine, encode_frame

DEFAULT_BAUDRATE = 115200
# A partial frame is abandoned (and its bytes re-scanned) after the line has been quiet this long: a false sync in
# noise announces a length that never arrives. Devices write frames back to back, so real frames have no such gap.
STALL_SECONDS = 0.5
_POLL_SECONDS = 0.05


class SerialLike(Protocol):
    """The part of pyserial's Serial that Link uses (tests substitute their own)."""

    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...

    def close(self) -> None: ...


def _serial_errors() -> tuple[type[BaseException], ...]:
    import serial

    return (serial.SerialException, OSError)


class Link:
    def __init__(self, port: SerialLike, *, name: str = "device", max_text_lines: int = 200) -> None:
        self.port = port
        self.name = name
        self.decoder = FrameDecoder()
        self.text_lines: deque[str] = deque(maxlen=max_text_lines)
        self.ready_lines = 0  # "mcukit ready" banners seen: more than one means the device restarted
        self.bytes_received = 0
        self._pending: deque[Frame | BadFrame] = deque()
        self._closed = False
        self._timeout = _POLL_SECONDS
        port.timeout = _POLL_SECONDS

    @classmethod
    def open(
        cls,
        url: str,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        connect_timeout: float = 10.0,
        write_timeout: float = 10.0,
    ) -> Link:
        """Open a serial port ("/dev/ttyACM0", "COM3") or URL ("socket://127.0.0.1:4321"). A socket that refuses
        the connection is retried until `connect_timeout` (an emulator may still be starting)."""
        import serial

        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                port = serial.serial_for_url(url, baudrate=baudrate, timeout=_POLL_SECONDS, write_timeout=write_timeout)
                return cls(port, name=url)
            except (serial.SerialException, OSError, ValueError) as exc:
                retry = url.startswith("socket://") and time.monotonic() < deadline
                if not retry:
                    raise DeviceDisconnected(
                        f"cannot open {url}: {exc}",
                        hint="check the port name (and that no serial monitor holds it) or that the emulator runs",
                    ) from exc
                time.sleep(0.05)

    # -- sending --

    def send(self, msg_type: int, seq: int, payload: bytes = b"") -> None:
        self._check_open()
        frame = encode_frame(msg_type, seq, payload)
        try:
            self.port.write(frame)
        except _serial_errors() as exc:
            if type(exc).__name__ == "SerialTimeoutException":
                raise DeviceTimeout(
                    f"{self.name}: write timed out (the device stopped reading){self._context()}",
                    hint="the firmware may have hung or crashed; reset the board or restart the emulator",
                ) from exc
            raise DeviceDisconnected(f"{self.name}: write failed: {exc}{self._context()}", hint=_HINT_GONE) from exc

    def reset_input(self) -> None:
        """Drop whatever is buffered (stale output from before a handshake)."""
        reset = getattr(self.port, "reset_input_buffer", None)
        if reset is not None:
            try:
                reset()
            except _serial_errors() as exc:
                raise DeviceDisconnected(f"{self.name}: {exc}", hint=_HINT_GONE) from exc
        self._pending.clear()
        self.decoder = FrameDecoder()

    # -- receiving --

    def receive(self, timeout: float) -> Frame | BadFrame:
        """The next frame (or rejected frame) within `timeout` seconds; text lines are collected on the way.
        Raises DeviceTimeout or DeviceDisconnected."""
        self._check_open()
        deadline = time.monotonic() + timeout
        last_byte = time.monotonic()
        while not self._pending:
            now = time.monotonic()
            if now >= deadline:
                raise DeviceTimeout(
                    f"{self.name}: no answer within {timeout:.1f} s{self._context()}",
                    hint="check that the firmware runs and that port and baud rate are right",
                )
            want = self.decoder.bytes_wanted()
            wait = _POLL_SECONDS if want == 1 else STALL_SECONDS
            if deadline - now < wait:
                wait = max(0.001, round(deadline - now, 3))
            if wait != self._timeout:  # setting a real port's timeout reprograms the tty: only when it changes
                self.port.timeout = self._timeout = wait
            try:
                data = self.port.read(want)
            except _serial_errors() as exc:
                self._absorb(self.decoder.flush_text())
                raise DeviceDisconnected(
                    f"{self.name}: connection lost: {exc}{self._context()}", hint=_HINT_GONE
                ) from exc
            if data:
                last_byte = time.monotonic()
                self.bytes_received += len(data)
                self._absorb(self.decoder.feed(data))
            elif self.decoder.in_frame and time.monotonic() - last_byte >= STALL_SECONDS:
                self._absorb(self.decoder.resync())
        return self._pending.popleft()

    def _absorb(self, events: list) -> None:
        for ev in events:
            if isinstance(ev, TextLine):
                self.text_lines.append(ev.text)
                if ev.text.startswith("mcukit ready"):
                    self.ready_lines += 1
            else:
                self._pending.append(ev)

    # -- diagnostics --

    def last_text(self, n: int = 5) -> list[str]:
        return list(self.text_lines)[-n:]

    def _context(self) -> str:
        d = self.decoder
        parts = []
        if d.bad_frames:
            parts.append(f"{d.bad_frames} corrupted frame(s)")
        if d.garbage_bytes:
            parts.append(f"{d.garbage_bytes} byte(s) of non-text noise")
        lines = self.last_text(3)
        if lines:
            parts.append("last device output: " + " | ".join(repr(_clip(line)) for line in lines))
        elif not self.bytes_received:
            parts.append("nothing received at all")
        return "; " + "; ".join(parts) if parts else ""

    def context(self) -> str:
        """A summary of what the link saw (for error messages raised by higher layers)."""
        return self._context()

    # -- closing --

    def _check_open(self) -> None:
        if self._closed:
            raise DeviceDisconnected(f"{self.name}: link already closed")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.port.close()
        except _serial_errors():
            pass  # closing a port that already vanished is not worth an error

    def __enter__(self):  # returns self; typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_HINT_GONE = "the board was unplugged or reset, or the emulator exited; look at its output above the error"


def _clip(line: str, limit: int = 80) -> str:
    """A device line short enough for a one-line error: noise can arrive as one line thousands of bytes long."""
    return line if len(line) <= limit else f"{line[:limit]}... ({len(line):,} chars)"

