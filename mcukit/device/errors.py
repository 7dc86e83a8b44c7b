"""Errors of the device link, all DeviceError (so the CLI maps them to one exit code) with a message and a hint."""

from __future__ import annotations

from mcukit.errors import DeviceError


class DeviceTimeout(DeviceError):
    """The device did not answer in time (hung, too slow, wrong port or baud rate)."""


class DeviceDisconnected(DeviceError):
    """The port or socket closed: board unplugged, emulator exited or crashed."""


class DeviceProtocolError(DeviceError):
    """Frames kept arriving corrupted, or records made no sense (garbage, CRC failures after retries)."""


class DeviceVersionMismatch(DeviceError):
    """The firmware speaks another protocol version, or runs another model, than the host expects."""


class DeviceReportedError(DeviceError):
    """The device answered with an ERROR record (bad size, model error, ...)."""

    def __init__(self, message: str, hint: str | None = None, *, code: int = 0, detail: int = 0) -> None:
        super().__init__(message, hint)
        self.code = code
        self.detail = detail
