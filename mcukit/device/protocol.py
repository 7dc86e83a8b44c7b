"""Messages of the serial protocol: typed records <-> frame payloads (docs/protocol.md, firmware mk_protocol.h).

Every message is a frozen dataclass with its frame type `TYPE`, `payload()` to encode and `parse()` to decode;
`decode(frame)` picks the class. Decoding is strict: a payload of the wrong length is an error, never guessed at.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from mcukit.device.errors import DeviceProtocolError
from mcukit.device.framing import Frame

PROTOCOL_VERSION = 1


class MsgType(IntEnum):
    HELLO = 0x01
    SET_INPUT = 0x02
    INVOKE = 0x03
    END_RUN = 0x04
    BYE = 0x05
    INFO = 0x81
    INPUT_ACK = 0x82
    OUTPUT = 0x83
    LAYER = 0x84
    TIMING = 0x85
    RUN_END = 0x86
    BYE_ACK = 0x87
    SENSOR = 0xA0
    ERROR = 0xE0


class ErrorCode(IntEnum):
    BAD_FRAME = 1
    FRAME_TOO_LONG = 2
    UNKNOWN_MSG = 3
    BAD_SIZE = 4
    INPUT_INCOMPLETE = 5
    MODEL = 6
    INFO_TOO_LARGE = 7


INVOKE_PROFILE = 0x01


class MalformedRecord(DeviceProtocolError):
    """A frame with a valid CRC whose payload does not match its type's layout."""


def _unpack(fmt: str, payload: bytes, name: str) -> tuple[int, ...]:
    size = struct.calcsize(fmt)
    if len(payload) != size:
        raise MalformedRecord(f"{name} record has {len(payload)} bytes, expected {size}")
    return struct.unpack(fmt, payload)


def _unpack_head(fmt: str, payload: bytes, name: str) -> tuple[tuple[int, ...], bytes]:
    size = struct.calcsize(fmt)
    if len(payload) < size:
        raise MalformedRecord(f"{name} record has {len(payload)} bytes, shorter than its {size}-byte header")
    return struct.unpack(fmt, payload[:size]), payload[size:]


def _ascii(raw: bytes) -> str:
    return raw.decode("ascii", "replace")


# ---- host -> device ----


@dataclass(frozen=True)
class Hello:
    TYPE: ClassVar[int] = MsgType.HELLO
    version: int = PROTOCOL_VERSION

    def payload(self) -> bytes:
        return struct.pack("<H", self.version)

    @classmethod
    def parse(cls, payload: bytes) -> Hello:
        return cls(*_unpack("<H", payload, "HELLO"))


@dataclass(frozen=True)
class SetInput:
    TYPE: ClassVar[int] = MsgType.SET_INPUT
    index: int
    offset: int
    data: bytes

    def payload(self) -> bytes:
        return struct.pack("<BI", self.index, self.offset) + self.data

    @classmethod
    def parse(cls, payload: bytes) -> SetInput:
        (index, offset), data = _unpack_head("<BI", payload, "SET_INPUT")
        return cls(index, offset, data)


@dataclass(frozen=True)
class Invoke:
    TYPE: ClassVar[int] = MsgType.INVOKE
    profile: bool = False

    def payload(self) -> bytes:
        return bytes((INVOKE_PROFILE if self.profile else 0,))

    @classmethod
    def parse(cls, payload: bytes) -> Invoke:
        (flags,) = _unpack("<B", payload, "INVOKE")
        return cls(bool(flags & INVOKE_PROFILE))


@dataclass(frozen=True)
class EndRun:
    TYPE: ClassVar[int] = MsgType.END_RUN

    def payload(self) -> bytes:
        return b""

    @classmethod
    def parse(cls, payload: bytes) -> EndRun:
        _unpack("", payload, "END_RUN")
        return cls()


@dataclass(frozen=True)
class Bye:
    TYPE: ClassVar[int] = MsgType.BYE

    def payload(self) -> bytes:
        return b""

    @classmethod
    def parse(cls, payload: bytes) -> Bye:
        _unpack("", payload, "BYE")
        return cls()


# ---- device -> host ----


@dataclass(frozen=True)
class Info:
    """The handshake answer: what the firmware is and how to talk to it."""

    TYPE: ClassVar[int] = MsgType.INFO
    version: int
    max_payload: int
    arena_bytes: int
    counter_hz: int
    num_layers: int
    input_bytes: tuple[int, ...]
    output_bytes: tuple[int, ...]
    board: str
    mcukit_version: str
    model_hash: str
    counter_unit: str

    def payload(self) -> bytes:
        out = struct.pack(
            "<HHIIBBH",
            self.version,
            self.max_payload,
            self.arena_bytes,
            self.counter_hz,
            len(self.input_bytes),
            len(self.output_bytes),
            self.num_layers,
        )
        out += b"".join(struct.pack("<I", n) for n in self.input_bytes + self.output_bytes)
        for text in (self.board, self.mcukit_version, self.model_hash, self.counter_unit):
            raw = text.encode("ascii")
            out += bytes((len(raw),)) + raw
        return out

    @classmethod
    def parse(cls, payload: bytes) -> Info:
        (version, max_payload, arena, hz, n_in, n_out, n_layers), rest = _unpack_head("<HHIIBBH", payload, "INFO")
        if len(rest) < 4 * (n_in + n_out):
            raise MalformedRecord(f"INFO record too short for {n_in} inputs and {n_out} outputs")
        sizes = struct.unpack(f"<{n_in + n_out}I", rest[: 4 * (n_in + n_out)])
        rest = rest[4 * (n_in + n_out) :]
        texts: list[str] = []
        for _ in range(4):
            if not rest or len(rest) < 1 + rest[0]:
                raise MalformedRecord("INFO record truncated inside its strings")
            texts.append(_ascii(rest[1 : 1 + rest[0]]))
            rest = rest[1 + rest[0] :]
        if rest:
            raise MalformedRecord(f"INFO record has {len(rest)} unexpected trailing bytes")
        return cls(version, max_payload, arena, hz, n_layers, sizes[:n_in], sizes[n_in:], *texts)


@dataclass(frozen=True)
class InputAck:
    TYPE: ClassVar[int] = MsgType.INPUT_ACK
    index: int
    offset: int
    length: int
    filled: int

    def payload(self) -> bytes:
        return struct.pack("<BIHI", self.index, self.offset, self.length, self.filled)

    @classmethod
    def parse(cls, payload: bytes) -> InputAck:
        return cls(*_unpack("<BIHI", payload, "INPUT_ACK"))


@dataclass(frozen=True)
class Output:
    TYPE: ClassVar[int] = MsgType.OUTPUT
    index: int
    offset: int
    data: bytes

    def payload(self) -> bytes:
        return struct.pack("<BI", self.index, self.offset) + self.data

    @classmethod
    def parse(cls, payload: bytes) -> Output:
        (index, offset), data = _unpack_head("<BI", payload, "OUTPUT")
        return cls(index, offset, data)


@dataclass(frozen=True)
class Layer:
    TYPE: ClassVar[int] = MsgType.LAYER
    index: int
    ticks: int
    name: str

    def payload(self) -> bytes:
        raw = self.name.encode("ascii")
        return struct.pack("<HIB", self.index, self.ticks, len(raw)) + raw

    @classmethod
    def parse(cls, payload: bytes) -> Layer:
        (index, ticks, n), rest = _unpack_head("<HIB", payload, "LAYER")
        if len(rest) != n:
            raise MalformedRecord(f"LAYER record name has {len(rest)} bytes, header says {n}")
        return cls(index, ticks, _ascii(rest))


@dataclass(frozen=True)
class Timing:
    """Closes the answer to INVOKE: total counter ticks and how many OUTPUT/LAYER frames came before it."""

    TYPE: ClassVar[int] = MsgType.TIMING
    ticks: int
    invoke: int
    output_frames: int
    layer_frames: int
    flags: int

    def payload(self) -> bytes:
        return struct.pack("<IIHHB", self.ticks, self.invoke, self.output_frames, self.layer_frames, self.flags)

    @classmethod
    def parse(cls, payload: bytes) -> Timing:
        return cls(*_unpack("<IIHHB", payload, "TIMING"))


@dataclass(frozen=True)
class RunEnd:
    TYPE: ClassVar[int] = MsgType.RUN_END
    invokes: int
    errors: int
    bad_frames: int

    def payload(self) -> bytes:
        return struct.pack("<III", self.invokes, self.errors, self.bad_frames)

    @classmethod
    def parse(cls, payload: bytes) -> RunEnd:
        return cls(*_unpack("<III", payload, "RUN_END"))


@dataclass(frozen=True)
class ByeAck:
    TYPE: ClassVar[int] = MsgType.BYE_ACK

    def payload(self) -> bytes:
        return b""

    @classmethod
    def parse(cls, payload: bytes) -> ByeAck:
        _unpack("", payload, "BYE_ACK")
        return cls()


@dataclass(frozen=True)
class SensorSample:
    """Reserved for current/voltage sensors: one reading at a counter value. kind: 1 current uA, 2 voltage mV,
    3 power uW."""

    TYPE: ClassVar[int] = MsgType.SENSOR
    counter: int
    channel: int
    kind: int
    value: int

    def payload(self) -> bytes:
        return struct.pack("<IBBi", self.counter, self.channel, self.kind, self.value)

    @classmethod
    def parse(cls, payload: bytes) -> SensorSample:
        return cls(*_unpack("<IBBi", payload, "SENSOR"))


@dataclass(frozen=True)
class ErrorRecord:
    TYPE: ClassVar[int] = MsgType.ERROR
    code: int
    command: int
    detail: int
    text: str

    def payload(self) -> bytes:
        return struct.pack("<BBI", self.code, self.command, self.detail) + self.text.encode("ascii")

    @classmethod
    def parse(cls, payload: bytes) -> ErrorRecord:
        (code, command, detail), rest = _unpack_head("<BBI", payload, "ERROR")
        return cls(code, command, detail, _ascii(rest))

    def describe(self) -> str:
        try:
            code = ErrorCode(self.code).name
        except ValueError:
            code = f"code {self.code}"
        try:
            command = MsgType(self.command).name
        except ValueError:
            command = f"0x{self.command:02x}"
        return f"{code} in answer to {command} (detail {self.detail}): {self.text}"


Message = (
    Hello
    | SetInput
    | Invoke
    | EndRun
    | Bye
    | Info
    | InputAck
    | Output
    | Layer
    | Timing
    | RunEnd
    | ByeAck
    | SensorSample
    | ErrorRecord
)

_CLASSES: dict[int, type] = {
    cls.TYPE: cls
    for cls in (
        Hello,
        SetInput,
        Invoke,
        EndRun,
        Bye,
        Info,
        InputAck,
        Output,
        Layer,
        Timing,
        RunEnd,
        ByeAck,
        SensorSample,
        ErrorRecord,
    )
}


def encode(msg: Message) -> tuple[int, bytes]:
    """(frame type, payload) of a message."""
    return int(msg.TYPE), msg.payload()


def decode(frame: Frame) -> Message:
    cls = _CLASSES.get(frame.type)
    if cls is None:
        raise MalformedRecord(f"unknown record type 0x{frame.type:02x}")
    msg: Message = cls.parse(frame.payload)
    return msg
