"""Talking to a board: framing + CRC (framing), typed messages (protocol), the pyserial link (link), operations
that return results (operations), and the QEMU launcher (qemu). The serial protocol is specified in
docs/protocol.md.

Import the public names from here; `qemu` is imported on its own (it needs the board registry)."""

from mcukit.device.errors import (
    DeviceDisconnected,
    DeviceProtocolError,
    DeviceReportedError,
    DeviceTimeout,
    DeviceVersionMismatch,
)
from mcukit.device.link import Link
from mcukit.device.operations import DeviceInfo, DeviceSession, LayerTiming, RunResult, SampleResult
from mcukit.device.protocol import PROTOCOL_VERSION

__all__ = [
    "PROTOCOL_VERSION",
    "DeviceDisconnected",
    "DeviceInfo",
    "DeviceProtocolError",
    "DeviceReportedError",
    "DeviceSession",
    "DeviceTimeout",
    "DeviceVersionMismatch",
    "LayerTiming",
    "Link",
    "RunResult",
    "SampleResult",
]
