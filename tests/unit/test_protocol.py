"""Protocol messages: encode/decode round trips, strict decoding, and agreement with the firmware header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcukit.device import framing
from mcukit.device.framing import Frame, encode_frame
from mcukit.device.protocol import (
    INVOKE_PROFILE,
    PROTOCOL_VERSION,
    Bye,
    ByeAck,
    EndRun,
    ErrorCode,
    ErrorRecord,
    Hello,
    Info,
    InputAck,
    Invoke,
    Layer,
    MalformedRecord,
    MsgType,
    Output,
    RunEnd,
    SensorSample,
    SetInput,
    Timing,
    decode,
    encode,
)
from mcukit.paths import firmware_include

MESSAGES = [
    Hello(),
    Hello(7),
    SetInput(1, 70000, b"\x00\xa5\x5a\xff"),
    SetInput(0, 0, b""),
    Invoke(False),
    Invoke(True),
    EndRun(),
    Bye(),
    Info(1, 1024, 123456, 25_000_000, 12, (490,), (12, 4), "mps2-an386", "0.1.0", "ab" * 32, "ticks"),
    Info(1, 64, 0, 0, 0, (), (), "", "", "", ""),
    InputAck(1, 251, 251, 502),
    Output(0, 1019, bytes(range(256))),
    Layer(3, 0xFFFFFFFF, "conv2d_3"),
    Timing(123456, 2, 5, 0, 0),
    Timing(99, 1, 5, 3, INVOKE_PROFILE),
    RunEnd(10, 1, 2),
    ByeAck(),
    SensorSample(1000, 0, 1, -1234),
    ErrorRecord(ErrorCode.MODEL, MsgType.INVOKE, 5, "model invoke failed"),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip_through_a_frame(msg) -> None:
    msg_type, payload = encode(msg)
    events = framing.FrameDecoder().feed(encode_frame(msg_type, 42, payload))
    assert len(events) == 1 and isinstance(events[0], Frame)
    assert events[0].seq == 42
    assert decode(events[0]) == msg


@pytest.mark.parametrize("msg", [m for m in MESSAGES if encode(m)[1]], ids=lambda m: type(m).__name__)
def test_truncated_payload_is_rejected(msg) -> None:
    msg_type, payload = encode(msg)
    fixed = not isinstance(msg, (SetInput, Output, ErrorRecord))  # these end in free-length data
    if fixed or len(payload) > {SetInput: 5, Output: 5, ErrorRecord: 6}.get(type(msg), 0):
        cut = payload[:-1] if fixed else payload[:4]
        with pytest.raises(MalformedRecord):
            decode(Frame(msg_type, 1, cut))


@pytest.mark.parametrize(
    "cls", [Hello, Invoke, EndRun, Bye, InputAck, Timing, RunEnd, ByeAck, SensorSample, Layer, Info]
)
def test_trailing_bytes_are_rejected(cls) -> None:
    msg = next(m for m in MESSAGES if type(m) is cls)
    msg_type, payload = encode(msg)
    with pytest.raises(MalformedRecord):
        decode(Frame(msg_type, 1, payload + b"\x00"))


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(MalformedRecord, match="0x7f"):
        decode(Frame(0x7F, 1, b""))


def test_info_layout_starts_with_version() -> None:
    # Any future firmware keeps the version first, so an old host can still report a mismatch.
    payload = MESSAGES[8].payload()
    assert int.from_bytes(payload[:2], "little") == 1
    with pytest.raises(MalformedRecord, match="strings"):
        Info.parse(payload[:-3])


def test_error_record_describes_itself() -> None:
    text = ErrorRecord(ErrorCode.BAD_SIZE, MsgType.SET_INPUT, 300, "chunk beyond the end of the input").describe()
    assert text == "BAD_SIZE in answer to SET_INPUT (detail 300): chunk beyond the end of the input"
    assert "code 99" in ErrorRecord(99, 0x77, 0, "").describe()


def _header_defines() -> dict[str, int]:
    text = (firmware_include() / "mcukit" / "mk_protocol.h").read_text()
    return {m[1]: int(m[2], 0) for m in re.finditer(r"#define\s+(MK_\w+)\s+(0x[0-9A-Fa-f]+|\d+)u?\b", text)}


def test_numbers_match_the_firmware_header() -> None:
    d = _header_defines()
    assert d["MK_PROTOCOL_VERSION"] == PROTOCOL_VERSION
    assert bytes((d["MK_FRAME_SYNC0"], d["MK_FRAME_SYNC1"])) == framing.SYNC
    assert d["MK_FRAME_HEADER_BYTES"] == framing.HEADER_BYTES and d["MK_FRAME_CRC_BYTES"] == framing.CRC_BYTES
    assert d["MK_INVOKE_PROFILE"] == INVOKE_PROFILE
    c_msgs = {k.removeprefix("MK_MSG_"): v for k, v in d.items() if k.startswith("MK_MSG_")}
    assert c_msgs == {m.name: m.value for m in MsgType}
    c_errs = {k.removeprefix("MK_PERR_"): v for k, v in d.items() if k.startswith("MK_PERR_")}
    assert c_errs == {e.name: e.value for e in ErrorCode}


def test_docs_list_every_message() -> None:
    path = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
    if not path.is_file():
        pytest.skip("docs/ not present (installed package)")
    doc = path.read_text()
    for m in MsgType:
        assert f"`{m.name}`" in doc and f"0x{m.value:02X}" in doc, m.name
    for e in ErrorCode:
        assert f"`{e.name}`" in doc, e.name
