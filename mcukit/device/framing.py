"""Frames of the serial protocol: pure bytes <-> frames, no I/O (docs/protocol.md, firmware mk_protocol.h).

    A5 5A | type u8 | seq u8 | len u16 LE | hcheck u8 | payload[len] | crc32 u32 LE

`hcheck` is CRC-8 (poly 0x07, init 0xFF) of type..len; `crc32` is zlib's CRC-32 of type..payload. Bytes between
frames are text the firmware prints for people (boot banner, logs); the decoder hands them back as lines.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

SYNC = b"\xa5\x5a"
HEADER_BYTES = 7
CRC_BYTES = 4
OVERHEAD = HEADER_BYTES + CRC_BYTES
MAX_PAYLOAD_LIMIT = 0xFFFF  # what the u16 length field can express
CHUNK_HEAD_BYTES = 5  # u8 index + u32 offset in front of SET_INPUT / OUTPUT data


def crc8(data: bytes) -> int:
    """CRC-8, polynomial 0x07, initial value 0xFF, no reflection (the header check)."""
    c = 0xFF
    for byte in data:
        c ^= byte
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


@dataclass(frozen=True)
class Frame:
    """A frame whose header check and CRC matched."""

    type: int
    seq: int
    payload: bytes


@dataclass(frozen=True)
class TextLine:
    """A line of text outside frames (CR/LF stripped, non-ASCII bytes replaced)."""

    text: str


@dataclass(frozen=True)
class BadFrame:
    """A frame with a valid header that was rejected: reason "crc" or "too_long". Its data is never returned."""

    reason: str
    type: int
    seq: int


Event = Frame | TextLine | BadFrame


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    if not 0 <= msg_type <= 0xFF or not 0 <= seq <= 0xFF:
        raise ValueError(f"type {msg_type} / seq {seq} out of range 0..255")
    if len(payload) > MAX_PAYLOAD_LIMIT:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_LIMIT}")
    head = bytes((msg_type, seq)) + len(payload).to_bytes(2, "little")
    body = head + bytes((crc8(head),)) + payload
    return SYNC + body + crc32(body).to_bytes(4, "little")


_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


class FrameDecoder:
    """Incremental decoder: `feed()` any chunk of received bytes, get back the events completed so far.

    After garbage or a rejected frame it resynchronises on the next sync marker; a rejected frame's bytes are
    re-scanned (a real frame may start inside them) and never returned as data. `max_payload` bounds what is
    buffered for one frame; longer announced lengths are rejected as corruption.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD_LIMIT, max_line: int = 512) -> None:
        if not 0 <= max_payload <= MAX_PAYLOAD_LIMIT:
            raise ValueError(f"max_payload must be within 0..{MAX_PAYLOAD_LIMIT}")
        self.max_payload = max_payload
        self.max_line = max_line
        self._buf = bytearray()
        self._line = bytearray()
        self.frames = 0
        self.bad_headers = 0  # false syncs (header check failed): noise, not counted as lost frames
        self.bad_frames = 0  # valid header, rejected frame (CRC mismatch or too long)
        self.garbage_bytes = 0  # bytes outside frames that are not printable text

    def feed(self, data: bytes) -> list[Event]:
        self._buf += data
        return self._parse()

    def bytes_wanted(self) -> int:
        """How many more bytes complete the frame being received (1 when between frames): lets a reader ask for
        exactly that much instead of polling byte by byte or waiting on a read timeout."""
        buf = self._buf
        if not buf.startswith(SYNC):
            return 1
        if len(buf) < HEADER_BYTES:
            return HEADER_BYTES - len(buf)
        length = int.from_bytes(buf[4:6], "little")
        return max(1, HEADER_BYTES + length + CRC_BYTES - len(buf))

    @property
    def in_frame(self) -> bool:
        """True while a partial frame is buffered."""
        return self._buf.startswith(SYNC) or self._buf == SYNC[:1]

    def resync(self) -> list[Event]:
        """Give up on the partial frame at the front (the line went quiet: it was a false sync whose announced
        length will never arrive) and re-scan the bytes after its sync byte."""
        if not self._buf:
            return []
        self._text(bytes(self._buf[:1]))
        del self._buf[:1]
        return self._parse()

    def flush_text(self) -> list[Event]:
        """Return a partial text line (no newline yet) as an event; used when reporting what the device said."""
        if not self._line:
            return []
        text = self._line.decode("ascii", "replace").rstrip("\r")
        self._line.clear()
        return [TextLine(text)] if text else []

    # -- internals --

    def _parse(self) -> list[Event]:
        events: list[Event] = []
        buf = self._buf
        pos = 0
        while True:
            i = buf.find(SYNC, pos)
            if i < 0:
                # Keep a trailing A5 (not one that ended the frame just taken): it may start the next sync.
                end = len(buf) - 1 if len(buf) > pos and buf[-1] == SYNC[0] else len(buf)
                events += self._text(bytes(buf[pos:end]))
                pos = end
                break
            if i > pos:
                events += self._text(bytes(buf[pos:i]))
                pos = i
            if len(buf) - pos < HEADER_BYTES:
                break
            head = bytes(buf[pos + 2 : pos + 6])
            if crc8(head) != buf[pos + 6]:
                self.bad_headers += 1
                events += self._text(bytes(buf[pos : pos + 1]))
                pos += 1
                continue
            msg_type, seq = head[0], head[1]
            length = int.from_bytes(head[2:4], "little")
            if length > self.max_payload:
                self.bad_frames += 1
                events.append(BadFrame("too_long", msg_type, seq))
                events += self._text(bytes(buf[pos : pos + 1]))
                pos += 1
                continue
            total = HEADER_BYTES + length + CRC_BYTES
            if len(buf) - pos < total:
                break
            body = bytes(buf[pos + 2 : pos + HEADER_BYTES + length])
            crc = int.from_bytes(buf[pos + HEADER_BYTES + length : pos + total], "little")
            if crc32(body) != crc:
                self.bad_frames += 1
                events.append(BadFrame("crc", msg_type, seq))
                events += self._text(bytes(buf[pos : pos + 1]))
                pos += 1
                continue
            self.frames += 1
            events.append(Frame(msg_type, seq, body[5:]))
            pos += total
        del buf[:pos]
        return events

    def _text(self, data: bytes) -> list[Event]:
        if not data:
            return []
        self.garbage_bytes += sum(1 for b in data if b not in _PRINTABLE)
        events: list[Event] = []
        self._line += data
        while True:
            nl = self._line.find(b"\n")
            if nl < 0:
                if len(self._line) > self.max_line:
                    events += self.flush_text()
                break
            raw = bytes(self._line[:nl])
            del self._line[: nl + 1]
            text = raw.decode("ascii", "replace").rstrip("\r")
            if text:
                events.append(TextLine(text))
        return events
