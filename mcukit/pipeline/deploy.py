"""`mcukit deploy`: quantize (if Keras) -> compile -> project -> build -> flash -> run -> compare -> results.

The results JSON is rewritten after every stage and after every few samples, so whatever was measured before a
failure stays on disk; the raw board outputs go to an .npy beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcukit.boards import Board
from mcukit.errors import McukitError
from mcukit.ir.counts import model_stats
from mcukit.ir.graph import NUMPY_DTYPES
from mcukit.pipeline.data import Samples, load_samples, random_samples
from mcukit.pipeline.firmware import BuiltFirmware, build_firmware, flash_real_board, load_model
from mcukit.pipeline.session import open_device
from mcukit.pipeline.timing import latency_summary
from mcukit.pipeline.validate import compare, top1
from mcukit.report.results import ResultsFile, model_section, start_results

Progress = Callable[[str, int, int], None]  # (stage, done, total); total 0 = indeterminate


@dataclass(frozen=True)
class DeployOptions:
    board: Board
    reference: str = "tflm"
    test_data: tuple[str, ...] = ()
    samples: int | None = None  # at most this many samples (all of the test data by default; 16 random ones)
    seed: int = 0
    calibration: str | None = None
    port: str | None = None
    json_path: str | None = None
    outputs_path: str | None = None
    profile: bool = False
    invoke_timeout: float = 20.0
    build_flags: tuple[str, ...] = ()  # extra compiler flags for the firmware (e.g. "-O0")


def _noop(stage: str, done: int, total: int) -> None:
    pass


def run_outputs(graph, results) -> list[np.ndarray]:
    """Board output bytes -> one array per model output, (N, *shape) in the tensor's dtype."""
    arrays = []
    for k, t in enumerate(graph.output_tensors):
        dtype = np.dtype(NUMPY_DTYPES[t.dtype])
        rows = [np.frombuffer(r.outputs[k], dtype=dtype).reshape(t.shape) for r in results]
        arrays.append(np.stack(rows) if rows else np.zeros((0, *t.shape), dtype))
    return arrays


def deploy(model_path: str | Path, opts: DeployOptions, progress: Progress = _noop) -> dict:
    board = opts.board
    results = start_results(opts.json_path, board)
    stage = "quantize"
    try:
        t0 = time.monotonic()
        progress("quantize" if Path(model_path).suffix != ".tflite" else "load model", 0, 0)
        calibration = opts.calibration
        keras = Path(model_path).suffix.lower() != ".tflite"
        if keras and calibration is None and len(opts.test_data) == 1:
            # Random calibration guesses activation ranges: on examples/resnet.h5 it cost 57 points of top-1.
            # The test inputs are the best data at hand (they only set ranges; pass --calibration to avoid them).
            calibration = opts.test_data[0]
        model = load_model(model_path, calibration)
        stats = model_stats(model.graph)
        results.update(model=model_section(model_path, model, stats,
                                           calibration=(calibration or "random inputs") if keras else None))
        results.data["stages"]["model_s"] = round(time.monotonic() - t0, 3)

        stage = "data"
        if opts.test_data:
            samples = load_samples(model.graph, list(opts.test_data), opts.samples)
        else:
            samples = random_samples(model.graph, opts.samples or 16, opts.seed)

        stage = "build"
        t0 = time.monotonic()
        progress("compile + build", 0, 0)
        built = build_firmware(model, board, reference=opts.reference, profile=opts.profile,
                               extra_flags=opts.build_flags)
        results.update(
            memory={"flash_bytes": built.firmware.sizes.flash_bytes, "ram_bytes": built.firmware.sizes.ram_bytes,
                    "arena_bytes": built.generated.arena_bytes, "weights_bytes": built.generated.weights_bytes},
            build={"cached": built.cached, "project": str(built.project.directory),
                   "elf": str(built.firmware.elf), "seconds": round(built.firmware.build_seconds, 3)},
        )
        results.data["stages"]["build_s"] = round(time.monotonic() - t0, 3)

        stage = "flash"
        if board.emulator is None:
            progress("flash", 0, 0)
            flash_real_board(built, opts.port)

        stage = "run"
        t0 = time.monotonic()
        board_rows = _run_samples(built, samples, opts, results, progress)
        results.data["stages"]["run_s"] = round(time.monotonic() - t0, 3)

        stage = "reference"
        progress("reference", 0, 0)
        from mcukit.reference import run_reference, versions

        ref = run_reference(model.tflite, list(samples.inputs), oracle=opts.reference)
        outputs = run_outputs(model.graph, board_rows)
        validation = compare(outputs, ref, opts.reference)
        summary = {"validation": {**validation.as_json(), "versions": versions(), "inputs": samples.source}}
        if samples.labels is not None and outputs:
            labels = np.asarray(samples.labels).reshape(-1)
            summary["accuracy"] = {
                "board_top1": float((top1(outputs[0]) == labels).mean()),
                "reference_top1": float((top1(ref[0].reshape(outputs[0].shape)) == labels).mean()),
                "samples": int(labels.size),
            }
        results.update(status="ok" if validation.bit_exact else "mismatch", **summary)
        return results.data
    except McukitError as err:
        results.fail(stage, err.message, err.hint)
        raise
    except BaseException as err:
        results.fail(stage, f"{type(err).__name__}: {err}")
        raise


# Why an emulated run has no exact counts: the plugin writes them when QEMU exits after BYE.
COUNTS_PENDING = ("pending: the QEMU plugin's exact counts are complete only when the run ends (BYE); until then "
                  "latency holds the SysTick figures (instructions to the counter's resolution)")
COUNTS_UNAVAILABLE = ("unavailable: the run ended before the QEMU plugin's exact counts were complete (they are "
                      "written when the firmware says BYE); latency and device_counter hold the SysTick figures "
                      "measured so far (instructions to the counter's resolution)")


def _run_samples(built: BuiltFirmware, samples: Samples, opts: DeployOptions, results: ResultsFile,
                 progress: Progress) -> list:
    """Run every sample, saving outputs and timings as they arrive.

    Emulated boards run under the instruction-counting QEMU plugin (one QEMU, the same protocol): when the run
    completes, `latency` is in estimated cycles (with ms, an estimate), `instructions` exact and `energy` modeled
    (mcukit.measure.bench.emulated_timing), and `device_counter` keeps the firmware's SysTick figures as a
    cross-check. Until then, and after a failure, `latency` holds the SysTick figures."""
    from mcukit.measure.timing_model import MODELS

    board = opts.board
    # A core without a timing model has no estimate to report: it keeps the SysTick figures (docs/results-schema.md).
    counting = board.emulator is not None and not opts.port and board.core in MODELS
    rows: list = []
    ticks: list[int] = []
    timing: dict | None = None
    outputs_path = Path(opts.outputs_path) if opts.outputs_path else (
        Path(opts.json_path).with_suffix(".outputs.npz") if opts.json_path else None)
    total = samples.count

    def save_partial(final: bool = False) -> None:
        if rows:
            info = rows[-1]
            systick = latency_summary(ticks, info.counter_hz, info.counter_unit, board, icount=True)
            run = {"completed": len(rows), "total": total}
            if not counting:
                results.update(latency=systick, run=run)
            elif timing is not None:
                results.update(**timing, device_counter=systick, run=run)
            else:
                results.update(latency=systick, device_counter=systick, run=run,
                               instructions={"available": False,
                                             "reason": COUNTS_UNAVAILABLE if final else COUNTS_PENDING})
        if outputs_path is not None and rows:
            arrays = run_outputs(built.model.graph, rows)
            np.savez(outputs_path, **{f"output{k}": a for k, a in enumerate(arrays)})

    def on_result(result) -> None:
        rows.append(result)
        ticks.append(result.ticks)
        progress("run", len(rows), total)
        if len(rows) % 25 == 0:
            save_partial()

    progress("run", 0, total)
    expect = built.model.graph.sha256
    sample_iter = (samples.sample(i) for i in range(total))
    try:
        if counting:
            from mcukit.measure.bench import counting_session, session_timing

            with counting_session(board, built.firmware.elf, expect_model_hash=expect,
                                  invoke_timeout=opts.invoke_timeout) as (session, box):
                session.run_samples(sample_iter, on_result=on_result, profile=opts.profile)
            assert box.counts is not None  # counting_session fills it or raises
            if rows:
                timing = session_timing(box.counts, board, len(rows), what="samples")
        else:
            with open_device(board, built.firmware.elf, port=opts.port, expect_model_hash=expect,
                             invoke_timeout=opts.invoke_timeout) as session:
                session.run_samples(sample_iter, on_result=on_result, profile=opts.profile)
    finally:
        save_partial(final=True)
    return rows
