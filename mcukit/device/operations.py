"""What the host does with a device: handshake, run samples (inputs in, outputs and timings out), profile, bye.

`DeviceSession` turns the protocol into operations that return values and never print. Every command is
stop-and-wait with a sequence number: a corrupted or lost frame (in either direction) is answered by resending the
same command, which the firmware treats idempotently (a retried INVOKE replays its results rather than running the
model again), so a noisy link costs time but never yields wrong data. Retries are bounded, and each failure ends in
a DeviceError subclass that says what went wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from mcukit.device.errors import (
    DeviceDisconnected,
    DeviceProtocolError,
    DeviceReportedError,
    DeviceTimeout,
    DeviceVersionMismatch,
)
from mcukit.device.framing import CHUNK_HEAD_BYTES, BadFrame
from mcukit.device.link import DEFAULT_BAUDRATE, Link
from mcukit.device.protocol import (
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
    Message,
    Output,
    RunEnd,
    SensorSample,
    SetInput,
    Timing,
    decode,
    encode,
)
from mcukit.errors import UsageError


@dataclass(frozen=True)
class DeviceInfo:
    """What the firmware reported in the handshake."""

    protocol_version: int
    board: str
    mcukit_version: str
    model_hash: str
    arena_bytes: int
    input_bytes: tuple[int, ...]
    output_bytes: tuple[int, ...]
    num_layers: int
    counter_unit: str
    counter_hz: int
    max_payload: int


@dataclass(frozen=True)
class LayerTiming:
    index: int
    name: str
    ticks: int


@dataclass(frozen=True)
class SampleResult:
    """One inference: raw output tensor bytes (in the model's output order) and counter ticks."""

    index: int
    outputs: tuple[bytes, ...]
    ticks: int
    counter_hz: int
    counter_unit: str
    invoke: int  # the device's invoke number since the handshake (1-based)
    layers: tuple[LayerTiming, ...] = ()
    sensor: tuple[SensorSample, ...] = ()

    @property
    def seconds(self) -> float | None:
        """Ticks converted with the device's counter rate; None if the device reported no rate."""
        return self.ticks / self.counter_hz if self.counter_hz else None


@dataclass(frozen=True)
class RunResult:
    samples: tuple[SampleResult, ...]
    end: RunEnd  # the device's own count of invokes, errors and bad frames since the handshake


class _Collector(Protocol):
    """Gathers the records answering one command. `add` returns True on the record that closes the answer."""

    multi: bool
    result: Any

    def add(self, msg: Message) -> bool: ...

    def complete(self) -> bool: ...


Sample = Any  # bytes-like or numpy array for a one-input model, else a sequence of them (one per input)
_ANSWER_TYPES = (Info, InputAck, Output, Layer, Timing, RunEnd, ByeAck, ErrorRecord)


class DeviceSession:
    """A conversation with one device over a Link.

    reply_timeout: seconds to wait for the answer to a quick command (and between records of a longer answer).
    invoke_timeout: seconds to wait for an inference to start answering.
    retries: resends of a command after corrupted frames; timeout_retries: resends after silence (each costs a
    full timeout, so it is kept small to bound how long a hung device takes to be reported).
    """

    def __init__(
        self,
        link: Link,
        *,
        reply_timeout: float = 2.0,
        invoke_timeout: float = 60.0,
        retries: int = 3,
        timeout_retries: int = 1,
    ) -> None:
        self.link = link
        self.reply_timeout = reply_timeout
        self.invoke_timeout = invoke_timeout
        self.retries = retries
        self.timeout_retries = timeout_retries
        self.info: DeviceInfo | None = None
        self.resends = 0  # commands sent again because of corruption or silence
        self.stale_frames = 0  # valid frames answering an earlier command (duplicates after a resend)
        self.sensor_samples: list[SensorSample] = []  # reserved record type: kept for later use
        self._seq = 0
        self._invokes = 0
        self._ready_lines = 0
        self._failed = False

    @classmethod
    def open(
        cls, url: str, *, baudrate: int = DEFAULT_BAUDRATE, connect_timeout: float = 10.0, **options: Any
    ) -> DeviceSession:
        """Open `url` (serial port or socket://host:port) and return a session; call handshake() next."""
        return cls(Link.open(url, baudrate=baudrate, connect_timeout=connect_timeout), **options)

    # ---- operations ----

    def handshake(self, *, timeout: float = 10.0, expect_model_hash: str | None = None) -> DeviceInfo:
        """Say HELLO until the device answers (it may still be booting) and check it speaks our protocol."""
        seq = self._next_seq()
        msg_type, payload = encode(Hello(PROTOCOL_VERSION))
        deadline = time.monotonic() + timeout
        info: Info | None = None
        corrupted = 0
        while info is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._failed = True
                bad = f" ({corrupted} corrupted answer(s))" if corrupted else ""
                raise DeviceTimeout(
                    f"{self.link.name}: no handshake answer within {timeout:.1f} s{bad}{self.link.context()}",
                    hint="is mcukit firmware running on it, at this baud rate? rebuild/flash with `mcukit deploy`",
                )
            self._send(msg_type, seq, payload)
            wait_until = time.monotonic() + min(self.reply_timeout, remaining)
            while time.monotonic() < wait_until:
                try:
                    item = self._receive(wait_until)
                except DeviceTimeout:
                    break
                if isinstance(item, BadFrame):
                    if item.seq == seq:
                        corrupted += 1
                        break
                    continue
                msg = self._decode(item)
                if item.seq != seq:
                    continue  # output of an earlier session or command
                if isinstance(msg, ErrorRecord) and msg.code in (ErrorCode.BAD_FRAME, ErrorCode.FRAME_TOO_LONG):
                    corrupted += 1
                    break
                if isinstance(msg, ErrorRecord):
                    self._failed = True
                    raise DeviceReportedError(
                        f"{self.link.name}: handshake refused: {msg.describe()}", code=msg.code, detail=msg.detail
                    )
                if isinstance(msg, Info):
                    info = msg
                    break
        if info.version == PROTOCOL_VERSION and info.max_payload < 64:
            self._failed = True
            raise DeviceProtocolError(f"{self.link.name}: device reports a maximum frame payload of {info.max_payload}")
        if info.version != PROTOCOL_VERSION:
            self._failed = True
            raise DeviceVersionMismatch(
                f"{self.link.name}: firmware speaks protocol v{info.version} (mcukit {info.mcukit_version}), "
                f"this host speaks v{PROTOCOL_VERSION}",
                hint="rebuild and flash the firmware with this mcukit version",
            )
        self.info = DeviceInfo(
            protocol_version=info.version,
            board=info.board,
            mcukit_version=info.mcukit_version,
            model_hash=info.model_hash,
            arena_bytes=info.arena_bytes,
            input_bytes=tuple(info.input_bytes),
            output_bytes=tuple(info.output_bytes),
            num_layers=info.num_layers,
            counter_unit=info.counter_unit,
            counter_hz=info.counter_hz,
            max_payload=info.max_payload,
        )
        if expect_model_hash is not None and info.model_hash != expect_model_hash:
            self._failed = True
            raise DeviceVersionMismatch(
                f"{self.link.name}: firmware runs model {info.model_hash!r}, expected {expect_model_hash!r}",
                hint="build and flash the firmware for this model first",
            )
        self._invokes = 0
        self._ready_lines = self.link.ready_lines
        return self.info

    def run_samples(
        self,
        samples: Iterable[Sample],
        *,
        on_result: Callable[[SampleResult], None] | None = None,
        profile: bool = False,
    ) -> RunResult:
        """Run every sample and end the run. `on_result` gets each result as soon as it arrives, so a caller can
        persist what was measured even if a later sample fails."""
        results: list[SampleResult] = []
        for index, sample in enumerate(samples):
            result = self.run_sample(sample, index=index, profile=profile)
            results.append(result)
            if on_result is not None:
                on_result(result)
        return RunResult(tuple(results), self.end_run())

    def run_sample(self, sample: Sample, *, index: int = 0, profile: bool = False) -> SampleResult:
        """Load one sample's inputs, invoke, return outputs and timings."""
        info = self._require_info()
        inputs = self._sample_bytes(sample, index, info)
        chunk = info.max_payload - CHUNK_HEAD_BYTES
        for i, data in enumerate(inputs):
            for off in range(0, max(len(data), 1), chunk):
                part = data[off : off + chunk]
                ack = self._exchange(
                    SetInput(i, off, part), partial(_AckCollector, i, off, len(part)), self.reply_timeout
                ).result
                if ack.filled < off + len(part):
                    raise DeviceProtocolError(
                        f"{self.link.name}: device acknowledged input {i} only up to byte {ack.filled}"
                    )
        collector = self._exchange(Invoke(profile), lambda: _InvokeCollector(info, profile), self.invoke_timeout)
        timing: Timing = collector.result
        if timing.invoke != self._invokes + 1:
            self._failed = True
            raise DeviceProtocolError(
                f"{self.link.name}: device reports invoke #{timing.invoke}, expected #{self._invokes + 1}"
                f"{self.link.context()}",
                hint="the device restarted or ran a command twice; rerun the samples",
            )
        self._invokes = timing.invoke
        return SampleResult(
            index=index,
            outputs=tuple(bytes(b) for b in collector.buffers),
            ticks=timing.ticks,
            counter_hz=info.counter_hz,
            counter_unit=info.counter_unit,
            invoke=timing.invoke,
            layers=tuple(LayerTiming(x.index, x.name, x.ticks) for x in sorted(collector.layers, key=_layer_key)),
            sensor=tuple(collector.sensor),
        )

    def profile(self, sample: Sample, *, index: int = 0) -> SampleResult:
        """One inference with per-layer timing records."""
        return self.run_sample(sample, index=index, profile=True)

    def end_run(self) -> RunEnd:
        """Send END_RUN and check the device counted the same invokes as the host."""
        self._require_info()
        end: RunEnd = self._exchange(EndRun(), lambda: _SingleCollector(RunEnd), self.reply_timeout).result
        if end.invokes != self._invokes:
            self._failed = True
            raise DeviceProtocolError(
                f"{self.link.name}: device counted {end.invokes} inferences, the host {self._invokes}",
                hint="the device restarted during the run; rerun the samples",
            )
        return end

    def bye(self) -> bool:
        """Ask the firmware to exit (emulated boards: QEMU exits with status 0). True if it acknowledged."""
        seq = self._next_seq()
        msg_type, payload = encode(Bye())
        self.link.send(msg_type, seq, payload)
        deadline = time.monotonic() + self.reply_timeout
        try:
            while True:
                item = self.link.receive(max(0.0, deadline - time.monotonic()))
                if isinstance(item, BadFrame) or item.seq != seq:
                    continue
                if isinstance(self._decode(item), ByeAck):
                    return True
        except (DeviceTimeout, DeviceDisconnected):
            return False

    def close(self, *, bye: bool = True) -> bool:
        """Close the link, first saying BYE if asked and the session is healthy. Never raises; returns whether the
        device acknowledged BYE."""
        acknowledged = False
        if bye and self.info is not None and not self._failed:
            try:
                acknowledged = self.bye()
            except Exception:  # noqa: BLE001 - closing must not mask the caller's own outcome
                acknowledged = False
        self.link.close()
        return acknowledged

    def __enter__(self):  # returns self; typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(bye=exc[0] is None)

    # ---- internals ----

    def _next_seq(self) -> int:
        self._seq = self._seq % 255 + 1  # 0 is never used by the host
        return self._seq

    def _require_info(self) -> DeviceInfo:
        if self.info is None:
            raise UsageError("device session used before handshake()", hint="call handshake() first")
        return self.info

    def _send(self, msg_type: int, seq: int, payload: bytes) -> None:
        try:
            self.link.send(msg_type, seq, payload)
        except (DeviceDisconnected, DeviceTimeout):
            self._failed = True
            raise

    def _receive(self, deadline: float) -> Any:
        try:
            return self.link.receive(max(0.0, deadline - time.monotonic()))
        except DeviceDisconnected:
            self._failed = True
            raise

    def _decode(self, frame: Any) -> Message:
        try:
            return decode(frame)
        except DeviceProtocolError as exc:
            self._failed = True
            raise DeviceProtocolError(
                f"{self.link.name}: {exc.message}", hint="firmware and host disagree on the protocol; rebuild it"
            ) from exc

    def _check_restart(self) -> None:
        if self.link.ready_lines > self._ready_lines:
            self._failed = True
            raise DeviceProtocolError(
                f"{self.link.name}: the device restarted (boot banner seen again){self.link.context()}",
                hint="it may have crashed or reset (watchdog, brown-out); rerun the samples",
            )

    def _exchange(self, msg: Message, make_collector: Callable[[], Any], first_timeout: float) -> Any:
        """Send `msg` and feed answer records with its sequence number to a fresh collector until it closes; return
        the collector.
        Corruption (a rejected frame, or the device reporting our frame as corrupted, or an incomplete answer) and
        silence lead to resending the same command, a bounded number of times."""
        seq = self._next_seq()
        msg_type, payload = encode(msg)
        name = type(msg).__name__
        corrupted = timeouts = 0
        while True:
            self._send(msg_type, seq, payload)
            col: _Collector = make_collector()
            deadline = time.monotonic() + first_timeout
            tainted = False
            outcome: Any = None
            while outcome is None:
                try:
                    item = self._receive(deadline)
                except DeviceTimeout:
                    self._check_restart()
                    if tainted:
                        corrupted += 1
                    else:
                        timeouts += 1
                    outcome = "retry"
                    break
                self._check_restart()
                if isinstance(item, BadFrame):
                    if item.seq != seq:
                        self.stale_frames += 1  # noise that looked like a frame header, or an old answer
                        continue
                    tainted = True
                    if not col.multi:
                        corrupted += 1
                        outcome = "retry"
                        break
                    deadline = time.monotonic() + self.reply_timeout  # let the rest of the answer drain
                    continue
                msg_in = self._decode(item)
                if isinstance(msg_in, SensorSample):
                    self.sensor_samples.append(msg_in)
                    col.add(msg_in)
                    continue
                if item.seq != seq:
                    self.stale_frames += 1
                    continue
                if isinstance(msg_in, ErrorRecord):
                    if msg_in.code in (ErrorCode.BAD_FRAME, ErrorCode.FRAME_TOO_LONG):
                        corrupted += 1
                        outcome = "retry"
                        break
                    self._failed = True
                    raise DeviceReportedError(
                        f"{self.link.name}: device error: {msg_in.describe()}",
                        hint=_ERROR_HINTS.get(msg_in.code),
                        code=msg_in.code,
                        detail=msg_in.detail,
                    )
                if not isinstance(msg_in, _ANSWER_TYPES):
                    self._failed = True
                    raise DeviceProtocolError(
                        f"{self.link.name}: device sent a host command ({type(msg_in).__name__}) in answer to {name}"
                    )
                deadline = time.monotonic() + self.reply_timeout
                if col.add(msg_in):
                    if tainted or not col.complete():
                        corrupted += 1
                        outcome = "retry"
                        break
                    return col
            if corrupted > self.retries:
                self._failed = True
                raise DeviceProtocolError(
                    f"{self.link.name}: {name}: {corrupted} corrupted answer(s) or frame(s), giving up after "
                    f"{corrupted + timeouts} attempt(s){self.link.context()}",
                    hint="the link is too noisy: check the cable, the baud rate and that nothing else uses the port",
                )
            if timeouts > self.timeout_retries:
                self._failed = True
                raise DeviceTimeout(
                    f"{self.link.name}: {name}: no answer within {first_timeout:.1f} s, {timeouts} time(s)"
                    f"{self.link.context()}",
                    hint="the firmware hung or crashed, or the timeout is too short for this model",
                )
            self.resends += 1

    @staticmethod
    def _sample_bytes(sample: Sample, index: int, info: DeviceInfo) -> list[bytes]:
        n = len(info.input_bytes)
        single = isinstance(sample, (bytes, bytearray, memoryview)) or hasattr(sample, "tobytes")
        items: Sequence[Any] = [sample] if single else list(sample)
        if len(items) != n:
            raise UsageError(
                f"sample {index} has {len(items)} input(s), the model on the device takes {n}",
                hint="pass one array per model input",
            )
        out = []
        for i, item in enumerate(items):
            data = item.tobytes() if hasattr(item, "tobytes") else bytes(item)
            if len(data) != info.input_bytes[i]:
                raise UsageError(
                    f"sample {index} input {i} has {len(data)} bytes, the model on the device expects "
                    f"{info.input_bytes[i]}",
                    hint="check the sample's shape and dtype (int8) against the model",
                )
            out.append(data)
        return out


def _layer_key(layer: Layer) -> int:
    return layer.index


_ERROR_HINTS = {
    ErrorCode.BAD_SIZE: "host and firmware disagree on tensor sizes; rebuild the firmware for this model",
    ErrorCode.INPUT_INCOMPLETE: "an input chunk was lost; rerun",
    ErrorCode.MODEL: "the generated model failed on the device; run `mcukit test` on the host build",
    ErrorCode.UNKNOWN_MSG: "firmware and host mcukit versions differ; rebuild the firmware",
    ErrorCode.INFO_TOO_LARGE: "the model has too many inputs/outputs for one INFO frame; raise MK_FRAME_MAX_PAYLOAD",
}


class _SingleCollector:
    """An answer made of one record of a given type."""

    multi = False

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.result: Any = None

    def add(self, msg: Message) -> bool:
        if isinstance(msg, SensorSample):
            return False
        if not isinstance(msg, self.cls):
            raise DeviceProtocolError(f"expected a {self.cls.__name__} record, got {type(msg).__name__}")
        self.result = msg
        return True

    def complete(self) -> bool:
        return True


class _AckCollector(_SingleCollector):
    def __init__(self, index: int, offset: int, length: int) -> None:
        super().__init__(InputAck)
        self.expect = (index, offset, length)

    def add(self, msg: Message) -> bool:
        if not super().add(msg):
            return False
        ack = self.result
        if (ack.index, ack.offset, ack.length) != self.expect:
            raise DeviceProtocolError(
                f"input acknowledgement for {(ack.index, ack.offset, ack.length)}, expected {self.expect}"
            )
        return True


class _InvokeCollector:
    """OUTPUT chunks (must arrive in order), LAYER records, closed by TIMING."""

    multi = True

    def __init__(self, info: DeviceInfo, profile: bool) -> None:
        self.info = info
        self.profile = profile
        self.buffers = [bytearray() for _ in info.output_bytes]
        self.layers: list[Layer] = []
        self.sensor: list[SensorSample] = []
        self.output_frames = 0
        self.in_order = True
        self.result: Timing | None = None

    def add(self, msg: Message) -> bool:
        if isinstance(msg, SensorSample):
            self.sensor.append(msg)
            return False
        if isinstance(msg, Output):
            self.output_frames += 1
            sizes = self.info.output_bytes
            if (
                msg.index >= len(sizes)
                or msg.offset != len(self.buffers[msg.index])
                or msg.offset + len(msg.data) > sizes[msg.index]
            ):
                self.in_order = False  # a chunk went missing (rejected frame): the answer will be asked again
                return False
            self.buffers[msg.index] += msg.data
            return False
        if isinstance(msg, Layer):
            self.layers.append(msg)
            return False
        if isinstance(msg, Timing):
            self.result = msg
            return True
        raise DeviceProtocolError(f"unexpected {type(msg).__name__} record in the answer to INVOKE")

    def complete(self) -> bool:
        t = self.result
        return (
            t is not None
            and self.in_order
            and all(len(b) == n for b, n in zip(self.buffers, self.info.output_bytes))
            and t.output_frames == self.output_frames
            and t.layer_frames == len(self.layers)
            and (not self.profile or bool(t.flags & 1))
        )
