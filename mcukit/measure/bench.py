"""`mcukit bench`: N timed inferences of a model on a board, summarised per inference and per layer.

Every figure says what it is (docs/results-schema.md):
  * emulated boards: instructions counted EXACTLY by the QEMU plugin (per inference, per layer), priced with the
    core's timing model into ESTIMATED cycles (`estimated_cycles`, with a low/high range); milliseconds are
    estimated cycles / board clock; energy is MODELED from the estimated cycles and the board's datasheet figures.
    The firmware's own SysTick reading (QEMU -icount: instructions to 1/40 resolution) is kept as a cross-check.
  * real boards: cycles from the device counter (DWT CYCCNT), per inference from unprofiled invokes and per layer
    from profiled ones; energy MEASURED when the board has a current sensor that sent samples, else MODELED from
    the measured cycles.

The emulated run is one QEMU process with the counting plugin loaded, driven over the normal serial protocol, so
the outputs and the device's own timing records are checked exactly as `mcukit run` checks them.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mcukit.boards import Board
from mcukit.device.operations import DeviceSession, SampleResult
from mcukit.errors import DeviceError, McukitError, UsageError
from mcukit.ir.counts import model_stats
from mcukit.measure.energy import Energy, measured_energy, modeled_energy_for_board
from mcukit.measure.icount import (
    DEFAULT_MARKERS,
    InstructionCounts,
    Marker,
    Span,
    parse_plugin_log,
    plugin_args,
)
from mcukit.measure.timing_model import EstimatedCycles, estimate_cycles, get_model
from mcukit.pipeline.data import Samples, load_samples, random_samples
from mcukit.pipeline.firmware import BuiltFirmware, build_firmware, flash_real_board, load_model
from mcukit.pipeline.timing import latency_summary
from mcukit.report.results import model_section, start_results

Progress = Callable[[str, int, int], None]  # (stage, done, total); total 0 = indeterminate

DEFAULT_RUNS = 10
# A layer span (entry of mk_profile_layer_begin to entry of mk_profile_layer_end) holds, besides the kernel, the
# begin hook's body and the call set-up of the kernel and the end hook; the next layer's hook call belongs to no
# layer. With profiling off in the runtime (bench's invokes) that is a handful of instructions per layer; measured
# on examples/kws.h5 (qemu-m4): see docs/results-schema.md. Tests hold the sum of layers to this bound.
LAYER_OVERHEAD_PER_LAYER = 12
INVOKE_OVERHEAD = 24


@dataclass(frozen=True)
class BenchOptions:
    board: Board
    runs: int = DEFAULT_RUNS
    inputs: int | None = None  # distinct inputs cycled through the runs (default: one per run)
    reference: str = "tflm"
    test_data: tuple[str, ...] = ()
    seed: int = 0
    calibration: str | None = None
    port: str | None = None
    json_path: str | None = None
    invoke_timeout: float = 20.0


@dataclass
class _Measured:
    """What one bench run collected, before it is summarised."""

    results: list[SampleResult] = field(default_factory=list)  # one per run (unprofiled invoke)
    profiled: list[SampleResult] = field(default_factory=list)  # real boards: one profiled invoke per run
    counts: InstructionCounts | None = None  # emulated boards: the plugin's counts for the whole session
    order: tuple[int, ...] = ()  # op indices in the order the firmware runs them (layer spans come in this order)


def _noop(stage: str, done: int, total: int) -> None:
    pass


# ---------------------------------------------------------------------------------------------------- statistics


def stats(values: Sequence[float]) -> dict[str, float]:
    """median, p90 (linear interpolation), min, max."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise UsageError("no measurements to summarise", "run at least one inference")
    return {"median": float(np.median(arr)), "p90": float(np.percentile(arr, 90)), "min": float(arr.min()),
            "max": float(arr.max())}


def _ms(value: float, clock_hz: int) -> float:
    return value / clock_hz * 1e3


# ------------------------------------------------------------------------------------------------------- running


def bench(model_path: str | Path, opts: BenchOptions, progress: Progress = _noop) -> dict[str, Any]:
    """Build the model's profiling firmware, run `opts.runs` inferences and return the results document (also
    written to opts.json_path after every stage)."""
    board = opts.board
    if opts.runs < 1:
        raise UsageError(f"--runs must be at least 1, got {opts.runs}", "pass --runs N with N >= 1")
    if opts.inputs is not None and opts.inputs < 1:
        raise UsageError(f"--inputs must be at least 1, got {opts.inputs}", "pass --inputs K with K >= 1")
    if board.emulator is not None:
        get_model(board.core)  # fail before building if no timing model exists for this core
    results = start_results(opts.json_path, board, command="bench")
    stage = "model"
    try:
        t0 = time.monotonic()
        progress("load model", 0, 0)
        model = load_model(model_path, opts.calibration)
        mstats = model_stats(model.graph)
        results.update(model=model_section(model_path, model, mstats))
        results.data["stages"]["model_s"] = round(time.monotonic() - t0, 3)

        stage = "data"
        distinct = opts.inputs or opts.runs
        if opts.test_data:
            samples = load_samples(model.graph, list(opts.test_data), distinct)
        else:
            samples = random_samples(model.graph, distinct, opts.seed)

        stage = "build"
        t0 = time.monotonic()
        progress("compile + build", 0, 0)
        built = build_firmware(model, board, reference=opts.reference, profile=True)
        results.update(
            memory={"flash_bytes": built.firmware.sizes.flash_bytes, "ram_bytes": built.firmware.sizes.ram_bytes,
                    "arena_bytes": built.generated.arena_bytes, "weights_bytes": built.generated.weights_bytes},
            build={"cached": built.cached, "project": str(built.project.directory),
                   "elf": str(built.firmware.elf), "seconds": round(built.firmware.build_seconds, 3),
                   "profile": True},
        )
        results.data["stages"]["build_s"] = round(time.monotonic() - t0, 3)

        stage = "flash"
        if board.emulator is None:
            progress("flash", 0, 0)
            flash_real_board(built, opts.port)

        stage = "run"
        t0 = time.monotonic()
        measured = _run(built, samples, opts, progress)
        results.data["stages"]["run_s"] = round(time.monotonic() - t0, 3)
        results.update(run={"completed": len(measured.results), "total": opts.runs, "inputs": samples.count,
                            "input_source": samples.source,
                            "input_of_run": [r % samples.count for r in range(len(measured.results))]})

        stage = "summary"
        results.update(status="ok", **summarise(built, board, measured, mstats))
        return results.data
    except McukitError as err:
        results.fail(stage, err.message, err.hint)
        raise
    except BaseException as err:
        results.fail(stage, f"{type(err).__name__}: {err}")
        raise


def _run(built: BuiltFirmware, samples: Samples, opts: BenchOptions, progress: Progress) -> _Measured:
    board = opts.board
    measured = _Measured(order=tuple(built.generated.order))
    expect = built.model.graph.sha256
    progress("run", 0, opts.runs)
    if board.emulator is not None and not opts.port:
        with counting_session(board, built.firmware.elf, expect_model_hash=expect,
                              invoke_timeout=opts.invoke_timeout) as (session, box):
            for r in range(opts.runs):
                # Unprofiled invokes: the runtime's hooks return at once, the plugin still sees every layer.
                measured.results.append(session.run_sample(samples.sample(r % samples.count), index=r))
                progress("run", r + 1, opts.runs)
            session.end_run()
        measured.counts = box.counts
        return measured

    from mcukit.pipeline.session import open_device

    with open_device(board, built.firmware.elf, port=opts.port, expect_model_hash=expect,
                     invoke_timeout=opts.invoke_timeout) as session:
        for r in range(opts.runs):
            sample = samples.sample(r % samples.count)
            # The total comes from an unprofiled invoke (profiling adds two counter reads per layer), the layers
            # from a profiled invoke of the same input.
            measured.results.append(session.run_sample(sample, index=r))
            measured.profiled.append(session.run_sample(sample, index=r, profile=True))
            progress("run", r + 1, opts.runs)
        session.end_run()
    return measured


@dataclass
class CountBox:
    """Filled by counting_session when its block ends cleanly (the plugin's counts are final only after BYE)."""

    counts: InstructionCounts | None = None


@contextmanager
def counting_session(board: Board, elf: Path, *, expect_model_hash: str | None = None,
                     invoke_timeout: float = 20.0, reply_timeout: float = 3.0,
                     handshake_timeout: float = 10.0) -> Iterator[tuple[DeviceSession, CountBox]]:
    """A handshaken DeviceSession on an emulated board whose QEMU runs the instruction-counting plugin.

    Yields (session, box); when the block ends without error the session says BYE, QEMU exits, and box.counts
    holds the InstructionCounts of the whole session (markers: mcukit.measure.DEFAULT_MARKERS)."""
    from mcukit.device.link import Link
    from mcukit.device.qemu import QemuSession
    from mcukit.measure.plugin import build_plugin
    from mcukit.pipeline.session import ICOUNT_SHIFT, explain_qemu_failure

    lib = build_plugin()
    args, names = plugin_args(Path(elf), (*DEFAULT_MARKERS, *tick_handler_markers(Path(elf))))
    box = CountBox()
    with tempfile.TemporaryDirectory(prefix="mcukit-bench-") as tmp:
        log = Path(tmp) / "plugin.log"
        if "," in str(lib) or "," in str(log):
            raise UsageError("a path used for the QEMU plugin contains a comma",
                             "set MCUKIT_CACHE_DIR / TMPDIR to paths without commas")
        extra = ("-plugin", ",".join([f"file={lib}", *args]), "-d", "plugin", "-D", str(log))
        with QemuSession(board, Path(elf), icount_shift=ICOUNT_SHIFT, extra_args=extra) as qemu:
            port = qemu.connect(timeout=10.0, read_timeout=0.05)
            session = DeviceSession(Link(port, name=board.name), invoke_timeout=invoke_timeout,
                                    reply_timeout=reply_timeout)
            try:
                session.handshake(timeout=handshake_timeout, expect_model_hash=expect_model_hash)
                yield session, box
            except DeviceError as err:
                raise explain_qemu_failure(err, qemu, session.link) from err
            if not session.close(bye=True):
                raise DeviceError(f"{board.name} did not acknowledge BYE, so the instruction counts are incomplete",
                                  "rerun; if it persists, run with --debug and report it")
            status = qemu.wait(timeout=10.0)
            if status != 0:
                raise DeviceError(f"the emulated {board.name} exited with status {status} after the bench",
                                  "rerun with --debug to see the device's last lines")
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    classes, weights, events, final = parse_plugin_log(text, names)
    if final is None:
        raise DeviceError("QEMU ended without the plugin's final counts", "rerun; if it persists, report it")
    n = len(classes)
    per_class = dict(zip(classes, final[:n], strict=True))
    box.counts = InstructionCounts(total=sum(per_class.values()), per_class=per_class,
                                   weights=dict(zip(weights, final[n:], strict=True)), events=tuple(events),
                                   class_names=classes, weight_names=weights, status=0)


# ------------------------------------------------------------------------------------- interrupts in the spans

SYSTICK_VECTOR = 15  # exception number of SysTick on every Cortex-M
# The exception return (BX LR with EXC_RETURN) of a handler: the `ret` marker fires just before it, so it is not
# in the handler's span; it is one instruction of this class.
_RETURN_CLASS = "branch"


def tick_handler_markers(elf: Path) -> tuple[Marker, ...]:
    """Entry and return markers on the firmware's SysTick handler (vector 15), if it is a function with a size.

    The emulated HAL counts SysTick wraps in that handler (one every 2^24 ticks = 671 million instructions on
    qemu-m4), and the wrap lands inside an inference with a probability of about instructions / 671e6 (2 % for
    examples/kws.h5) depending on host timing. Marking the handler lets bench take its instructions out of the
    inference and layer figures, so they stay identical run to run."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    with open(elf, "rb") as fh:
        f = ELFFile(fh)
        section = f.get_section_by_name(".vectors") or f.get_section_by_name(".isr_vector")
        if section is None:
            return ()
        data = section.data()
        if len(data) < 4 * (SYSTICK_VECTOR + 1):
            return ()
        address = int.from_bytes(data[4 * SYSTICK_VECTOR: 4 * SYSTICK_VECTOR + 4], "little") & ~1
        for sec in f.iter_sections():
            if not isinstance(sec, SymbolTableSection):
                continue
            for sym in sec.iter_symbols():
                if (sym["st_info"]["type"] == "STT_FUNC" and sym.name and sym["st_size"]
                        and sym["st_value"] & ~1 == address):
                    return (Marker("tick_isr", sym.name, "entry", required=False),
                            Marker("tick_isr_end", sym.name, "return", required=False))
    return ()


@dataclass(frozen=True)
class HandlerOwners:
    """Which inference and which layer span (flat index over the whole session) each tick-handler span ran in."""

    spans: tuple[Span, ...]
    invoke: tuple[int | None, ...]
    layer: tuple[int | None, ...]


def handler_owners(counts: InstructionCounts) -> HandlerOwners:
    invoke = layer = -1
    in_invoke = in_layer = False
    inv_of: list[int | None] = []
    layer_of: list[int | None] = []
    for ev in counts.events:
        if ev.marker == "invoke":
            invoke, in_invoke = invoke + 1, True
        elif ev.marker == "invoke_end":
            in_invoke = False
        elif ev.marker == "layer_begin":
            layer, in_layer = layer + 1, True
        elif ev.marker == "layer_end":
            in_layer = False
        elif ev.marker == "tick_isr":
            inv_of.append(invoke if in_invoke else None)
            layer_of.append(layer if in_layer else None)
    spans = tuple(counts.spans("tick_isr", "tick_isr_end")) if inv_of else ()
    if len(spans) != len(inv_of):
        raise DeviceError(f"the SysTick handler was entered {len(inv_of)} times but returned {len(spans)} times",
                          "please report it with the firmware ELF")
    return HandlerOwners(spans, tuple(inv_of), tuple(layer_of))


def without_handlers(span: Span, handlers: Sequence[Span]) -> Span:
    """`span` minus the instructions of the handler executions that ran inside it (each: its span plus the
    exception-return instruction). The irq_entries weight goes with them."""
    if not handlers:
        return span
    per_class = dict(span.per_class)
    weights = dict(span.weights)
    for h in handlers:
        for k, v in h.per_class.items():
            per_class[k] -= v
        for k, v in h.weights.items():
            weights[k] = weights.get(k, 0) - v
        per_class[_RETURN_CLASS] = per_class.get(_RETURN_CLASS, 0) - 1
    if min(per_class.values()) < 0 or min(weights.values(), default=0) < 0:
        raise DeviceError("interrupt handler counts exceed the span they interrupted",
                          "please report it with the firmware ELF")
    return Span(total=sum(per_class.values()), per_class=per_class, weights=weights, start=span.start,
                end=span.end, index=span.index)


# ----------------------------------------------------------------------------------------------------- summary


def summarise(built: BuiltFirmware, board: Board, measured: _Measured, mstats: Any) -> dict[str, Any]:
    """The latency, per-layer and energy sections of the results document."""
    graph = built.model.graph
    names = built.generated.layer_names
    layer_info = [{"index": i, "op": op.kind, "name": _layer_name(names, i, op.kind), "macs": mstats.layers[i].macs}
                  for i, op in enumerate(graph.ops)]
    _merge_fused(layer_info, built.generated.fused)
    first = measured.results[0]
    device_counter = latency_summary([r.ticks for r in measured.results], first.counter_hz, first.counter_unit,
                                     board, icount=True)
    if measured.counts is not None:
        out = _summarise_emulated(board, measured, layer_info)
    else:
        out = _summarise_real(board, measured, layer_info)
    out["device_counter"] = device_counter
    return out


def _merge_fused(layer_info: list[dict[str, Any]], fusions: Sequence[Any]) -> None:
    """A fused block (codegen.fusion: conv + ADD, or conv -> conv + ADD streamed row by row) runs entirely inside
    its conv's layer markers: that layer gets the block's MACs, the others none and a note where their work went,
    so that MACs per cycle stay meaningful."""
    for f in fusions:
        carrier = layer_info[f.conv]
        for member in (f.pre, f.add):
            if member < 0:
                continue
            info = layer_info[member]
            carrier["macs"] += info["macs"]
            info["macs"] = 0
            info["fused_into"] = f.conv
            info["name"] = f"in #{f.conv}: {info['name']}"


def _layer_name(names: Sequence[str], i: int, kind: str) -> str:
    """The generated layer's name without the op kind it starts with (the kind has its own field)."""
    name = names[i] if i < len(names) else f"layer{i}"
    return name[len(kind) + 1:] if name.startswith(kind + " ") else name


def invoke_spans(counts: InstructionCounts, runs: int) -> tuple[list[Span], list[int]]:
    """One Span per inference (entry to return of mk_model_invoke) without the tick handler's instructions, and
    how many handler runs were taken out of each. `runs` is how many inferences the host ran (checked)."""
    invokes = counts.spans("invoke", "invoke_end")
    owners = handler_owners(counts)
    removed = [sum(1 for o in owners.invoke if o == i) for i in range(len(invokes))]
    invokes = [without_handlers(s, [h for h, o in zip(owners.spans, owners.invoke) if o == i])
               for i, s in enumerate(invokes)]
    if len(invokes) != runs:
        raise DeviceError(f"the plugin saw {len(invokes)} inference(s), the host ran {runs}",
                          "the firmware's mk_model_invoke may be inlined; rebuild the firmware")
    return invokes, removed


def _per_run_spans(counts: InstructionCounts, runs: int, num_layers: int,
                   order: Sequence[int] = ()) -> tuple[list[Span], list[list[Span]], list[int]]:
    """Inference and layer spans per run without the tick handler's instructions, and how many handler runs were
    taken out of each inference."""
    invokes, removed = invoke_spans(counts, runs)
    layers = counts.spans("layer_begin", "layer_end")
    owners = handler_owners(counts)
    layers = [without_handlers(s, [h for h, o in zip(owners.spans, owners.layer) if o == i])
              for i, s in enumerate(layers)]
    if len(layers) != runs * num_layers:
        raise DeviceError(f"the plugin saw {len(layers)} layer span(s), expected {runs} x {num_layers}",
                          "the firmware was not built with -DMK_PROFILE; rebuild it with profiling")
    per_run = [layers[r * num_layers:(r + 1) * num_layers] for r in range(runs)]
    if order:  # spans come in execution order; results are keyed by op index (the planner may reorder ops)
        per_run = [[run[order.index(op)] for op in range(num_layers)] for run in per_run]
    return invokes, per_run, removed


def emulated_timing(board: Board, invokes: Sequence[Span], removed: Sequence[int], *,
                    what: str = "runs") -> dict[str, Any]:
    """The `latency`, `instructions` and `energy` blocks of a results document from per-inference spans counted
    by the QEMU plugin (see invoke_spans): exact instructions, ESTIMATED cycles priced with the core's timing model
    (milliseconds at the board clock follow from them, an estimate too) and energy MODELED from the median
    estimated cycles and the board's power figures. `what` names the inferences in the texts ("runs",
    "samples"). docs/results-schema.md describes every field."""
    runs = len(invokes)
    if runs == 0:
        raise UsageError("no inferences to summarise", "run at least one inference")
    est: list[EstimatedCycles] = [estimate_cycles(s, board.core) for s in invokes]
    instr = [s.total for s in invokes]
    cycles = [e.total for e in est]
    model = get_model(board.core)
    mid = median_index(cycles)
    lat = {
        "unit": "estimated_cycles",
        "estimate": True,
        **stats(cycles),
        "samples": runs,
        "clock_hz": board.clock_hz,
        "low": est[mid].low,
        "high": est[mid].high,
        "timing_model": model.name,
        "timing_model_basis": model.basis,
        "source": f"instructions counted exactly by the QEMU plugin, priced with the {model.name} timing model: "
                  "an estimate, not a measurement (docs/timing-model.md)",
    }
    lat["ms"] = _ms(lat["median"], board.clock_hz)
    lat["ms_p90"] = _ms(lat["p90"], board.clock_hz)
    lat["ms_min"] = _ms(lat["min"], board.clock_hz)
    lat["ms_max"] = _ms(lat["max"], board.clock_hz)
    instructions = {
        "unit": "instructions",
        "exact": True,
        **stats(instr),
        "samples": runs,
        "per_class": invokes[mid].nonzero_classes(),
        "tick_interrupts_removed": sum(removed),
        "other_interrupts": int(sum(s.interrupts for s in invokes)),
        "source": "QEMU TCG plugin (mk_icount), entry to return of mk_model_invoke, without the emulated HAL's "
                  "SysTick handler; exact and repeatable",
    }
    energy = modeled_energy_for_board(
        board, lat["median"],
        cycles_basis=f"median of {runs} {what}, {model.name} estimate from exact instruction counts")
    return {"latency": lat, "instructions": instructions, "energy": energy_json(energy)}


def median_index(values: Sequence[float]) -> int:
    """Index of the median value (the lower middle one for an even count; the first of equal values)."""
    return int(np.argsort(values, kind="stable")[(len(values) - 1) // 2])


def session_timing(counts: InstructionCounts, board: Board, inferences: int, *,
                   what: str = "runs") -> dict[str, Any]:
    """A counting session's InstructionCounts -> the `latency` (estimated cycles), `instructions` (exact) and
    `energy` (modeled) blocks, per inference (see emulated_timing). `inferences`: how many the host ran."""
    invokes, removed = invoke_spans(counts, inferences)
    return emulated_timing(board, invokes, removed, what=what)


def _summarise_emulated(board: Board, measured: _Measured, layer_info: list[dict[str, Any]]) -> dict[str, Any]:
    assert measured.counts is not None
    runs = len(measured.results)
    invokes, layer_runs, removed = _per_run_spans(measured.counts, runs, len(layer_info), measured.order)
    timing = emulated_timing(board, invokes, removed)
    lat = timing["latency"]
    instr = [s.total for s in invokes]
    cycles = [estimate_cycles(s, board.core).total for s in invokes]
    layers = []
    for k, info in enumerate(layer_info):
        spans = [layer_runs[r][k] for r in range(runs)]
        l_est = [estimate_cycles(s, board.core) for s in spans]
        l_cycles = float(np.median([e.total for e in l_est]))
        layers.append({
            **info,
            "cost": l_cycles,
            "unit": "estimated_cycles",
            "estimate": True,
            "share": l_cycles / lat["median"] if lat["median"] else 0.0,
            "macs_per_cycle": info["macs"] / l_cycles if l_cycles else None,
            "instructions": int(np.median([s.total for s in spans])),
            "instructions_min": int(min(s.total for s in spans)),
            "instructions_max": int(max(s.total for s in spans)),
            "estimated_cycles": l_cycles,
            "estimated_low": float(np.median([e.low for e in l_est])),
            "estimated_high": float(np.median([e.high for e in l_est])),
        })
    per_run = [{"index": r, "instructions": instr[r], "estimated_cycles": cycles[r],
                "layer_instructions": sum(s.total for s in layer_runs[r]),
                "layers": [s.total for s in layer_runs[r]], "tick_interrupts_removed": removed[r],
                "other_interrupts": invokes[r].interrupts,
                "ticks": measured.results[r].ticks} for r in range(runs)]
    overhead = [instr[r] - per_run[r]["layer_instructions"] for r in range(runs)]
    return {
        "latency": lat,
        "instructions": timing["instructions"],
        "layers": layers,
        "layers_overhead": {"unit": "instructions", "median": float(np.median(overhead)), "max": max(overhead),
                            "note": "instructions of the inference outside every layer span (the hooks' calls "
                                    "between layers and mk_model_invoke's own prologue/epilogue)"},
        "per_run": per_run,
        "energy": timing["energy"],
    }


def _summarise_real(board: Board, measured: _Measured, layer_info: list[dict[str, Any]]) -> dict[str, Any]:
    first = measured.results[0]
    hz = first.counter_hz
    is_cycles = first.counter_unit == "cycles"
    unit = "cycles" if is_cycles else "ticks"
    ticks = [r.ticks for r in measured.results]
    lat: dict[str, Any] = {"unit": unit, "estimate": False, **stats(ticks), "samples": len(ticks),
                           "clock_hz": board.clock_hz, "counter_hz": hz,
                           "source": f"on-board {first.counter_unit} counter at {hz} Hz (unprofiled invokes)"}
    for key in ("median", "p90", "min", "max"):
        lat["ms" if key == "median" else f"ms_{key}"] = lat[key] / hz * 1e3 if hz else None
    # cycles per counter tick: 1 for DWT; a SysTick at the core clock also counts cycles
    to_cycles = board.clock_hz / hz if hz else 1.0
    layers = []
    for k, info in enumerate(layer_info):
        per_run = [next((x.ticks for x in p.layers if x.index == k), 0) for p in measured.profiled]
        cost = float(np.median(per_run)) if per_run else 0.0
        layers.append({
            **info,
            "cost": cost,
            "unit": unit,
            "estimate": False,
            "share": cost / lat["median"] if lat["median"] else 0.0,
            "macs_per_cycle": info["macs"] / (cost * to_cycles) if cost else None,
            "ticks": cost,
        })
    energy = _real_energy(board, measured, lat["median"] * to_cycles, lat["ms"])
    per_run = [{"index": r, unit: measured.results[r].ticks,
                "profiled_" + unit: measured.profiled[r].ticks if measured.profiled else None}
               for r in range(len(measured.results))]
    return {"latency": lat, "layers": layers, "per_run": per_run, **energy}


def _real_energy(board: Board, measured: _Measured, cycles: float, ms: float | None) -> dict[str, Any]:
    sensor = board.current_sensor
    results = [r for r in (*measured.results, *measured.profiled) if r.sensor]
    if sensor is not None and results and ms:
        from mcukit.measure.ina219 import decode_records

        # Each invoke's first sample is the runtime's baseline, read before the marker rises (docs/energy.md):
        # it is idle current and must not be averaged into the inference.
        samples = [s for r in results for s in decode_records(r.sensor, sensor.shunt_ohms)[1:]]
        energy = measured_energy(samples, ms / 1e3, basis=f"INA219 at 0x{sensor.i2c_address:02x}, "
                                                          f"{sensor.shunt_ohms:g} ohm shunt")
        hz = measured.results[0].counter_hz
        trace = [{"t_ms": (s.counter - samples[0].counter) / hz * 1e3 if hz else float(i),
                  "current_ma": s.current_ma} for i, s in enumerate(samples)]
        return {"energy": {**energy_json(energy), "trace": trace}}
    energy = modeled_energy_for_board(board, cycles, cycles_basis="median measured cycles")
    return {"energy": energy_json(energy)}


def energy_json(energy: Energy) -> dict[str, Any]:
    return {**energy.to_dict(), "mean_power_mw": energy.mean_power_mw}
