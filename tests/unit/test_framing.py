"""Framing: round trips, resynchronisation after noise, corrupted/truncated/oversized frames (seeded random)."""

from __future__ import annotations

import random
import zlib

import pytest

from mcukit.device.framing import (
    MAX_PAYLOAD_LIMIT,
    OVERHEAD,
    SYNC,
    BadFrame,
    Frame,
    FrameDecoder,
    TextLine,
    crc8,
    crc32,
    encode_frame,
)


def _frames(events: list) -> list[Frame]:
    return [e for e in events if isinstance(e, Frame)]


def _random_frame(rng: random.Random, max_size: int = 600) -> Frame:
    return Frame(
        rng.randrange(256), rng.randrange(256), bytes(rng.randrange(256) for _ in range(rng.randrange(max_size)))
    )


def _enc(f: Frame) -> bytes:
    return encode_frame(f.type, f.seq, f.payload)


def test_crc_check_values() -> None:
    assert crc32(b"123456789") == 0xCBF43926 == zlib.crc32(b"123456789")
    assert crc8(b"123456789") == 0xFB  # poly 0x07, init 0xFF (the C side is checked against this in tests/host)
    assert crc8(b"") == 0xFF


def test_layout() -> None:
    raw = encode_frame(0x83, 7, b"abc")
    assert raw[:2] == SYNC and raw[2] == 0x83 and raw[3] == 7
    assert raw[4:6] == (3).to_bytes(2, "little") and raw[6] == crc8(raw[2:6])
    assert raw[7:10] == b"abc" and raw[10:] == crc32(raw[2:10]).to_bytes(4, "little")
    assert len(raw) == 3 + OVERHEAD


def test_round_trip_whole_bytewise_and_random_splits() -> None:
    rng = random.Random(1)
    frames = [_random_frame(rng) for _ in range(50)] + [Frame(1, 2, b""), Frame(255, 255, bytes(5000))]
    stream = b"".join(_enc(f) for f in frames)
    assert _frames(FrameDecoder().feed(stream)) == frames
    dec = FrameDecoder()
    assert _frames([e for b in stream for e in dec.feed(bytes((b,)))]) == frames
    dec, got, pos = FrameDecoder(), [], 0
    while pos < len(stream):
        step = rng.randrange(1, 300)
        got += dec.feed(stream[pos : pos + step])
        pos += step
    assert _frames(got) == frames


def test_resync_after_random_noise_recovers_every_frame() -> None:
    rng = random.Random(2)
    for _ in range(20):
        frames, stream = [], bytearray()
        for _ in range(10):
            # Noise rich in sync bytes, including whole false syncs.
            stream += bytes(rng.choice((0xA5, 0x5A, rng.randrange(256))) for _ in range(rng.randrange(60)))
            f = _random_frame(rng, 300)
            frames.append(f)
            stream += _enc(f)
        dec = FrameDecoder()
        events = dec.feed(bytes(stream))
        while dec.in_frame:  # a false header at the very end waits for bytes that never come
            events += dec.resync()
        assert _frames(events) == frames


def test_single_bit_errors_are_never_accepted() -> None:
    rng = random.Random(3)
    before, after = Frame(1, 1, b"first"), Frame(3, 3, b"last")
    for _ in range(300):
        victim = _random_frame(rng, 200)
        raw = bytearray(_enc(victim))
        pos = rng.randrange(len(raw))
        raw[pos] ^= 1 << rng.randrange(8)
        dec = FrameDecoder()
        events = dec.feed(_enc(before) + bytes(raw) + _enc(after))
        while dec.in_frame:
            events += dec.resync()
        assert _frames(events) == [before, after], f"flip at {pos}"


def test_crc_mismatch_reports_bad_frame_with_header_fields() -> None:
    raw = bytearray(encode_frame(0x85, 9, b"payload"))
    raw[-1] ^= 0x01
    events = FrameDecoder().feed(bytes(raw))
    assert BadFrame("crc", 0x85, 9) in events
    assert not _frames(events)


def test_truncated_frame_waits_then_is_dropped_by_resync() -> None:
    raw = encode_frame(2, 5, bytes(range(100)))
    dec = FrameDecoder()
    assert dec.feed(raw[:-3]) == []
    assert dec.in_frame and dec.bytes_wanted() == 3
    assert _frames(dec.resync()) == []
    assert not dec.in_frame
    good = Frame(4, 6, b"ok")
    assert _frames(dec.feed(_enc(good))) == [good]


def test_bytes_wanted_guides_exact_reads() -> None:
    raw = encode_frame(2, 5, bytes(40))
    dec = FrameDecoder()
    assert dec.bytes_wanted() == 1
    dec.feed(raw[:2])
    assert dec.bytes_wanted() == 5
    dec.feed(raw[2:7])
    assert dec.bytes_wanted() == 44
    assert _frames(dec.feed(raw[7:])) == [Frame(2, 5, bytes(40))]
    assert dec.bytes_wanted() == 1


def test_max_length_guard() -> None:
    dec = FrameDecoder(max_payload=100)
    ok = Frame(1, 1, bytes(100))
    events = dec.feed(encode_frame(1, 9, bytes(101)) + _enc(ok))
    assert BadFrame("too_long", 1, 9) in events
    assert _frames(events) == [ok]
    with pytest.raises(ValueError, match="exceeds"):
        encode_frame(1, 1, bytes(MAX_PAYLOAD_LIMIT + 1))
    with pytest.raises(ValueError):
        encode_frame(256, 1)
    with pytest.raises(ValueError):
        FrameDecoder(max_payload=MAX_PAYLOAD_LIMIT + 1)


def test_text_lines_between_frames() -> None:
    f = Frame(0x81, 1, b"info")
    stream = b"\r\nmcukit ready board=x\r\n" + _enc(f) + b"\r\nmk: log line\r\n" + b"\x00\xffnoise\n"
    dec = FrameDecoder()
    events = dec.feed(stream)
    texts = [e.text for e in events if isinstance(e, TextLine)]
    assert texts[:2] == ["mcukit ready board=x", "mk: log line"]
    assert texts[2].endswith("noise")
    assert _frames(events) == [f]
    assert dec.garbage_bytes == 2


def test_text_without_newline_is_bounded() -> None:
    dec = FrameDecoder(max_line=100)
    events = [e for _ in range(10) for e in dec.feed(b"x" * 30)] + dec.flush_text()
    assert len(events) >= 2
    assert all(isinstance(e, TextLine) and len(e.text) <= 130 for e in events)
    assert sum(len(e.text) for e in events) == 300


def test_frame_ending_in_a_sync_byte_leaves_no_noise() -> None:
    # Found on QEMU: a frame whose last CRC byte is 0xA5 must not leave that byte behind as a would-be sync.
    payload = next(bytes((n,)) for n in range(256) if encode_frame(0x84, 1, bytes((n,)))[-1] == 0xA5)
    dec = FrameDecoder()
    events = dec.feed(encode_frame(0x84, 1, payload)) + dec.feed(b"\r\nmk: next\r\n")
    assert events == [Frame(0x84, 1, payload), TextLine("mk: next")]
    assert dec.garbage_bytes == 0 and not dec.in_frame
