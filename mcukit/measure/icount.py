"""Exact executed-instruction counts of a firmware under QEMU, by instruction class and between marker functions.

    counts = count_instructions(get_board("qemu-m4"), elf, send=input_frames)
    counts.total                           # every instruction the guest executed, start to exit
    inf = counts.spans("invoke", "invoke_end")   # one Span per mk_model_invoke() call
    inf[0].total, inf[0].per_class["dsp_mac"]
    counts.spans("layer_begin", "layer_end")     # one Span per layer per invoke (needs -DMK_PROFILE)

The firmware runs in qemu-system-arm with the mk_icount TCG plugin (firmware/tools/qemu_plugin). Markers are
symbols in the ELF: an "entry" marker fires just before the function's first instruction executes, a "return"
marker just before any of its return instructions. Counts are of instructions, exactly and reproducibly; they are
not cycles (see mcukit.measure.timing_model for estimated cycles).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Literal

from mcukit.boards import Board
from mcukit.errors import DeviceError, UsageError

OUTPUT_VERSION = 1


@dataclass(frozen=True)
class Marker:
    """A point in the firmware where the plugin snapshots its counters."""

    name: str
    symbol: str
    at: Literal["entry", "return"] = "entry"
    required: bool = True


# What the mcukit runtime and generated model provide: the inference (mk_model_invoke) and, with -DMK_PROFILE,
# the per-layer hooks. Missing symbols are skipped for these defaults.
DEFAULT_MARKERS: tuple[Marker, ...] = (
    Marker("invoke", "mk_model_invoke", "entry", required=False),
    Marker("invoke_end", "mk_model_invoke", "return", required=False),
    Marker("layer_begin", "mk_profile_layer_begin", "entry", required=False),
    Marker("layer_end", "mk_profile_layer_end", "entry", required=False),
)


@dataclass(frozen=True)
class Counts:
    """Instructions executed in some stretch of the run: total, per class, and weights (register-list sizes,
    exception entries) that the timing model needs. `total == sum(per_class.values())` always."""

    total: int
    per_class: Mapping[str, int]
    weights: Mapping[str, int]

    @property
    def interrupts(self) -> int:
        """Exception handlers entered in this stretch (their instructions are included in the counts)."""
        return self.weights.get("irq_entries", 0)

    def nonzero_classes(self) -> dict[str, int]:
        return {k: v for k, v in self.per_class.items() if v}


@dataclass(frozen=True)
class Span(Counts):
    """Counts between two marker events: from just before `start` to just before `end` executes."""

    start: str = ""
    end: str = ""
    index: int = 0  # position of this span among spans of the same kind


@dataclass(frozen=True)
class Event:
    marker: str
    vector: tuple[int, ...]


@dataclass(frozen=True)
class InstructionCounts(Counts):
    """A whole run: totals plus the marker events in execution order, and what the firmware did."""

    per_region: tuple[Span, ...] = ()  # consecutive: start->first event, event->event, ..., last event->exit
    events: tuple[Event, ...] = field(default=(), repr=False)
    class_names: tuple[str, ...] = ()
    weight_names: tuple[str, ...] = ()
    status: int = 0
    uart: bytes = b""
    wall_seconds: float = 0.0

    def _counts(self, vector: Sequence[int]) -> tuple[int, dict[str, int], dict[str, int]]:
        n = len(self.class_names)
        per_class = dict(zip(self.class_names, vector[:n], strict=True))
        weights = dict(zip(self.weight_names, vector[n:], strict=True))
        return sum(per_class.values()), per_class, weights

    def _span(self, a: Sequence[int], b: Sequence[int], start: str, end: str, index: int) -> Span:
        total, per_class, weights = self._counts([y - x for x, y in zip(a, b, strict=True)])
        return Span(total=total, per_class=per_class, weights=weights, start=start, end=end, index=index)

    def spans(self, begin: str, end: str) -> list[Span]:
        """Each `begin` event paired with the next `end` event (e.g. "invoke"/"invoke_end", or
        "layer_begin"/"layer_end"). A `begin` without a later `end` is an error: the end marker never fired."""
        out: list[Span] = []
        pending: Event | None = None
        for ev in self.events:
            if ev.marker == begin and pending is None:
                pending = ev
            elif ev.marker == end and pending is not None:
                out.append(self._span(pending.vector, ev.vector, begin, end, len(out)))
                pending = None
        if pending is not None:
            raise DeviceError(f"marker {begin!r} fired but {end!r} never followed it",
                              "the end function may be inlined or tail-called; mark another symbol")
        return out


def _symbols(elf: Path) -> dict[str, tuple[int, int]]:
    """Function symbols: name -> (address without the Thumb bit, size)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    out: dict[str, tuple[int, int]] = {}
    with open(elf, "rb") as fh:
        for section in ELFFile(fh).iter_sections():
            if isinstance(section, SymbolTableSection):
                for sym in section.iter_symbols():
                    if sym["st_info"]["type"] == "STT_FUNC" and sym.name:
                        out.setdefault(sym.name, (sym["st_value"] & ~1, sym["st_size"]))
    return out


def exception_handlers(elf: Path) -> list[int]:
    """Addresses of the handlers in the vector table (section .vectors or .isr_vector), reset excluded."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as fh:
        f = ELFFile(fh)
        section = f.get_section_by_name(".vectors") or f.get_section_by_name(".isr_vector")
        if section is None:
            return []
        data = section.data()
    words = [int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data) - 3, 4)]
    return sorted({w & ~1 for w in words[2:] if w})  # [0] is the stack top, [1] the reset handler


def plugin_args(elf: Path, markers: Iterable[Marker], *, isr: bool = True) -> tuple[list[str], list[str]]:
    """The plugin's key=value arguments and the marker name of each event id."""
    syms = _symbols(elf)
    args: list[str] = []
    names: list[str] = []
    for m in markers:
        if m.symbol not in syms:
            if m.required:
                raise UsageError(f"marker symbol {m.symbol!r} is not a function in {elf}",
                                 "check the name (arm-none-eabi-nm), and that it is not inlined or static-removed")
            continue
        addr, size = syms[m.symbol]
        if m.at == "entry":
            args.append(f"mark={addr:#x}")
        else:
            if size == 0:
                raise UsageError(f"symbol {m.symbol!r} has no size, so its returns cannot be found",
                                 "mark its entry, or a function compiled from C")
            args.append(f"ret={addr:#x}:{addr + size:#x}")
        names.append(m.name)
    if isr:
        args += [f"isr={a:#x}" for a in exception_handlers(elf)]
    return args, names


def parse_plugin_log(text: str, marker_names: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...],
                                                                      list[Event], tuple[int, ...] | None]:
    """Parse the plugin's log: (class names, weight names, events, final counters or None if QEMU died)."""
    classes: tuple[str, ...] = ()
    weights: tuple[str, ...] = ()
    events: list[Event] = []
    final: tuple[int, ...] | None = None
    for line in text.splitlines():
        if line.startswith("H "):
            parts = line.split()
            if int(parts[1]) != OUTPUT_VERSION:
                raise DeviceError(f"QEMU plugin output version {parts[1]} is not {OUTPUT_VERSION}",
                                  "clear the plugin cache (~/.cache/mcukit/qemu-plugin) and retry")
            fields = dict(p.split("=", 1) for p in parts[2:])
            classes = tuple(fields["classes"].split(","))
            weights = tuple(fields["weights"].split(","))
        elif line.startswith("E "):
            parts = line.split()
            events.append(Event(marker_names[int(parts[1])], tuple(int(v) for v in parts[2:])))
        elif line.startswith("T "):
            final = tuple(int(v) for v in line.split()[1:])
    if not classes:
        raise DeviceError("the QEMU plugin wrote no header", "QEMU may have failed to load the plugin")
    return classes, weights, events, final


def count_instructions(
    board: Board,
    elf: Path,
    *,
    send: bytes = b"",
    markers: Sequence[Marker] = DEFAULT_MARKERS,
    timeout: float = 60.0,
    icount_shift: int | None = 0,
    check: bool = True,
) -> InstructionCounts:
    """Run `elf` to completion on the emulated `board` with the counting plugin; send `send` to its UART.

    Counts between markers are exact in any case. `icount_shift=0` (the default) also makes the guest's clock
    (SysTick) follow the instruction count, so code that waits on the clock -- the HAL's start-up, timeouts --
    runs the same number of instructions every time and whole-run totals repeat too; None runs QEMU on host time.

    Raises DeviceError if the firmware does not exit within `timeout` or (with `check`) exits non-zero."""
    from mcukit.device.qemu import run_elf
    from mcukit.measure.plugin import build_plugin

    elf = Path(elf)
    lib = build_plugin()
    args, names = plugin_args(elf, markers)
    with tempfile.TemporaryDirectory(prefix="mcukit-icount-") as tmp:
        log = Path(tmp) / "plugin.log"
        if "," in str(lib) or "," in str(log):
            raise UsageError("a path used for the QEMU plugin contains a comma",
                             "set MCUKIT_CACHE_DIR / TMPDIR to paths without commas")
        extra = ("-plugin", ",".join([f"file={lib}", *args]), "-d", "plugin", "-D", str(log))
        start = time.monotonic()
        result = run_elf(board, elf, send=send, timeout=timeout, icount_shift=icount_shift, extra_args=extra)
        status, uart, output = result.status, result.uart, result.output
        wall = time.monotonic() - start
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    if check and status != 0:
        raise DeviceError(f"the firmware on {board.name} exited with status {status} while counting instructions",
                          (output.strip().splitlines() or ["see the firmware's output"])[-1])
    classes, weights, events, final = parse_plugin_log(text, names)
    if final is None:
        raise DeviceError("QEMU ended without the plugin's final counts", output.strip()[-500:] or "no output")
    counts = InstructionCounts(total=0, per_class={}, weights={}, class_names=classes, weight_names=weights)
    total, per_class, wts = counts._counts(final)
    zero = (0,) * len(final)
    points = [("start", zero), *((e.marker, e.vector) for e in events), ("exit", final)]
    regions = tuple(counts._span(a[1], b[1], a[0], b[0], i) for i, (a, b) in enumerate(pairwise(points)))
    return InstructionCounts(total=total, per_class=per_class, weights=wts, per_region=regions,
                             events=tuple(events), class_names=classes, weight_names=weights, status=status,
                             uart=uart, wall_seconds=wall)
