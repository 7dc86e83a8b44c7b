"""Link over an in-memory port: stalled false frames are re-scanned, silence and disconnects become clear errors."""

from __future__ import annotations

import time

import pytest
import serial

from mcukit.device import DeviceDisconnected, DeviceTimeout
from mcukit.device.framing import BadFrame, Frame, crc8, encode_frame
from mcukit.device.link import STALL_SECONDS, Link


class FakePort:
    """Serves scripted bytes; blocks for `timeout` when it has none (like pyserial); can simulate a vanished peer."""

    def __init__(self, data: bytes = b"", *, gone_after: bool = False) -> None:
        self.data = bytearray(data)
        self.gone_after = gone_after
        self.timeout: float | None = 0.05
        self.written = bytearray()

    def read(self, size: int = 1) -> bytes:
        if not self.data:
            if self.gone_after:
                raise serial.SerialException("socket disconnected")
            time.sleep(self.timeout or 0)
            return b""
        out = bytes(self.data[:size])
        del self.data[:size]
        return out

    def write(self, data: bytes) -> int:
        self.written += data
        return len(data)

    def close(self) -> None:
        pass


def test_false_header_that_never_completes_is_rescanned_after_a_stall() -> None:
    # A false sync whose header passes its check and announces 200 bytes, then a real 20-byte frame, then silence:
    # the real frame is inside the bytes the false one claims, and must come out once the line goes quiet.
    head = bytes((0x83, 0, 200, 0))
    false = b"\xa5\x5a" + head + bytes((crc8(head),))
    real = encode_frame(0x82, 3, bytes(11))
    link = Link(FakePort(b"boot\r\n" + false + real))
    t0 = time.monotonic()
    assert link.receive(timeout=3.0) == Frame(0x82, 3, bytes(11))
    assert STALL_SECONDS <= time.monotonic() - t0 < STALL_SECONDS + 1.0
    assert list(link.text_lines) == ["boot"]


def test_bad_frames_are_returned_for_the_caller_to_retry() -> None:
    raw = bytearray(encode_frame(0x85, 4, b"abcd"))
    raw[9] ^= 0xFF
    link = Link(FakePort(bytes(raw)))
    assert link.receive(timeout=1.0) == BadFrame("crc", 0x85, 4)


def test_silence_is_a_timeout_quoting_what_the_device_printed() -> None:
    link = Link(FakePort(b"HardFault at 0x0800123c\r\n\x00\xff\xfe"))
    t0 = time.monotonic()
    with pytest.raises(DeviceTimeout) as info:
        link.receive(timeout=0.3)
    assert time.monotonic() - t0 < 1.0
    assert "HardFault at 0x0800123c" in str(info.value) and "noise" in str(info.value)
    assert info.value.hint


def test_nothing_at_all_says_so() -> None:
    with pytest.raises(DeviceTimeout, match="nothing received"):
        Link(FakePort()).receive(timeout=0.2)


def test_vanished_peer_is_a_disconnect() -> None:
    link = Link(FakePort(b"mcukit ready proto=1\r\n", gone_after=True))
    with pytest.raises(DeviceDisconnected, match="connection lost"):
        link.receive(timeout=1.0)
    assert link.ready_lines == 1


def test_send_writes_a_frame_and_closed_link_refuses() -> None:
    port = FakePort()
    link = Link(port)
    link.send(0x01, 1, b"\x01\x00")
    assert bytes(port.written) == encode_frame(0x01, 1, b"\x01\x00")
    link.close()
    with pytest.raises(DeviceDisconnected, match="closed"):
        link.send(0x01, 2)


def test_open_unknown_port_is_a_clear_error() -> None:
    with pytest.raises(DeviceDisconnected, match="cannot open /dev/nonexistent-mcukit"):
        Link.open("/dev/nonexistent-mcukit", connect_timeout=0.1)
