"""Speed and memory of the MLPerf Tiny architectures and the example models, side by side, in one run.

    .venv/bin/python benchmarks/speed_memory.py [--quick] [--models ds_cnn,kws] [--boards qemu-m4,qemu-m55]
                                                [--json out.json]

For every model (built with TensorFlow from a seed, random weights: benchmarks/tiny_models.py; plus examples/*.h5)
and every emulated board, the same model is built twice: with the portable C kernels (LowerOptions isa=(), a board
variant with its ISA cleared), with the board's optimized kernels (DSP / Helium; int16 GEMM weights where the board's
flash allows) and with the optimized kernels on the int8 weight layout ("int8-w", LowerOptions.wide_weights=False: what
the int16 weights buy and cost). One inference each runs under
QEMU with the instruction-counting plugin (counts are exact and deterministic, so one is enough) and its outputs
are compared with the TFLite Micro host interpreter bit for bit.

Columns (every figure says what it is):
  instr        executed instructions of one inference (mk_model_invoke, the SysTick handler taken out): exact
  instr/MAC    instr / MACs
  est.cyc      estimated cycles from the per-core timing model (mcukit.measure.timing_model): an ESTIMATE
  cyc/MAC      est.cyc / MACs
  arena        mcukit's activation arena (the generated C's static buffer, bytes)
  fw RAM       RAM of the whole firmware from the ELF (.data + .bss + stack; includes the arena and the runtime)
  flash        flash of the whole firmware from the ELF; weights = constant tensors + kernel arrays as emitted;
               code = flash - weights (runtime, kernels, HAL, libc)
  exact        outputs identical to the TFLM host interpreter's for the same input
Memory table: mcukit arena (portable / optimized lowering) against TFLite Micro's host interpreter for the same
.tflite: tflm = the smallest arena it runs in (includes its own bookkeeping, 64-bit host layout), tflm_act = the
non-persistent part (activations + scratch from its planner). Ratios are given against both.

--quick: the smallest models only (ad_fc, autoencoder) on qemu-m4 (what tests/ runs). The full run builds 2 x 3 x
7 firmwares and takes several minutes; built firmware is cached by content.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (ROOT, HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

BOARDS = ("qemu-m4", "qemu-m7", "qemu-m55")
TINY = ("ds_cnn", "mobilenet", "resnet8", "ad_fc")
EXAMPLES = ("kws", "resnet", "autoencoder")
QUICK_MODELS = ("ad_fc", "autoencoder")
QUICK_BOARDS = ("qemu-m4",)
SCHEMA = "mcukit.benchmarks.speed_memory/2"
# The optimized kernels with the int8 weight layout (LowerOptions.wide_weights=False): what the int16 GEMM weights
# cost in flash and buy in speed, side by side.
INT8_WEIGHTS = "int8-w"


def model_path(name: str) -> tuple[Path, Path | None]:
    """(model file, calibration file or None)."""
    if name in TINY:
        import tiny_models

        return tiny_models.build(name), None
    h5 = ROOT / "examples" / f"{name}.h5"
    calib = h5.with_name(f"{name}_test.npz")
    return h5, calib if calib.exists() else None


def portable_board(board: Any) -> Any:
    """The same board with its ISA extensions cleared: the generator then picks the portable kernels and the
    project compiles only those (the FPU flag stays: it changes nothing in int8 kernels)."""
    from mcukit.boards import Isa

    return dataclasses.replace(board, isa=Isa(dsp=False, fpu=board.isa.fpu, mve=False))


def run_one(model: Any, board: Any, variant: str, sample: list[Any], expected: list[Any]) -> dict[str, Any]:
    from mcukit.measure import estimate_cycles
    from mcukit.measure.bench import counting_session, handler_owners, without_handlers
    from mcukit.paths import cache_dir
    from mcukit.pipeline.firmware import build_firmware

    target = portable_board(board) if variant == "portable" else board
    folder = cache_dir() / "projects" / f"bench-{model.name}-{model.graph.sha256[:12]}-{board.name}-{variant}"
    built = build_firmware(model, target, project_dir=folder, wide_weights=False if variant == INT8_WEIGHTS else None)
    sizes = built.firmware.sizes
    row: dict[str, Any] = {
        "board": board.name, "variant": variant, "core": board.core,
        "arena_bytes": built.generated.arena_bytes, "plan": built.generated.plan.strategy,
        "firmware_ram_bytes": sizes.ram_bytes, "board_ram_bytes": board.ram_bytes,
        "fits_ram": sizes.ram_bytes <= board.ram_bytes, "flash_bytes": sizes.flash_bytes,
        "weights_bytes": built.generated.weights_bytes,
        "code_bytes": sizes.flash_bytes - built.generated.weights_bytes,
        "kernels": sorted({c.kernel for c in built.generated.calls if c.kernel and not c.alias}),
    }
    if not row["fits_ram"]:
        row["error"] = f"firmware RAM {sizes.ram_bytes} > board RAM {board.ram_bytes}"
        return row
    with counting_session(board, built.firmware.elf, expect_model_hash=model.graph.sha256,
                          invoke_timeout=600.0) as (session, box):
        result = session.run_sample(sample, index=0)
        session.end_run()
    counts = box.counts
    assert counts is not None
    owners = handler_owners(counts)
    (inv,) = counts.spans("invoke", "invoke_end")[:1]
    span = without_handlers(inv, [h for h, o in zip(owners.spans, owners.invoke) if o == 0])
    est = estimate_cycles(span, board.core)
    got = [bytes(b) for b in result.outputs]
    row.update(instructions=span.total, estimated_cycles=round(est.total), timing_model=est.model_name,
               bit_exact=got == [e.tobytes() for e in expected])
    return row


def measure_model(name: str, boards: list[str]) -> dict[str, Any]:
    import plan_vs_tflm

    from mcukit.boards import get_board
    from mcukit.ir.counts import model_stats
    from mcukit.pipeline.data import random_samples
    from mcukit.pipeline.firmware import load_model
    from mcukit.reference import run_reference, tflm_arena_bytes

    path, calib = model_path(name)
    model = load_model(path, calib)
    stats = model_stats(model.graph)
    samples = random_samples(model.graph, 1, seed=0)
    sample = samples.sample(0)
    expected = [a[0] for a in run_reference(model.tflite, [x[None] for x in sample], oracle="tflm")]
    out: dict[str, Any] = {"model": name, "macs": stats.macs, "params": stats.params,
                           "tflm_arena_bytes": tflm_arena_bytes(model.tflite),
                           "tflm_activation_bytes": plan_vs_tflm.tflm_head_bytes(model.tflite), "runs": []}
    for b in boards:
        board = get_board(b)
        for variant in ("portable", "optimized", INT8_WEIGHTS):
            t0 = time.monotonic()
            try:
                row = run_one(model, board, variant, sample, expected)
            except Exception as exc:  # noqa: BLE001 - a benchmark reports a failed cell and goes on
                row = {"board": b, "variant": variant, "error": f"{type(exc).__name__}: {exc}"}
            row["seconds"] = round(time.monotonic() - t0, 1)
            out["runs"].append(row)
    return out


def _ratio(a: float | None, b: float | None, fmt: str = "{:.2f}") -> str:
    return fmt.format(a / b) if a is not None and b else "-"


def print_tables(results: list[dict[str, Any]]) -> None:
    print(f"\n{'model':<12} {'MACs':>11} {'params':>9} {'board':<9} {'variant':<9} {'instr':>13} {'instr/MAC':>9} "
          f"{'est.cyc':>13} {'cyc/MAC':>8} {'arena':>8} {'fw RAM':>8} {'flash':>9} {'weights':>9} {'code':>8} "
          f"exact")
    for m in results:
        for r in m["runs"]:
            if "error" in r and "instructions" not in r:
                print(f"{m['model']:<12} {m['macs']:>11,} {m['params']:>9,} {r['board']:<9} {r['variant']:<9} "
                      f"ERROR {r['error']}")
                continue
            print(f"{m['model']:<12} {m['macs']:>11,} {m['params']:>9,} {r['board']:<9} {r['variant']:<9} "
                  f"{r['instructions']:>13,} {_ratio(r['instructions'], m['macs']):>9} "
                  f"{r['estimated_cycles']:>13,} {_ratio(r['estimated_cycles'], m['macs']):>8} "
                  f"{r['arena_bytes']:>8,} {r['firmware_ram_bytes']:>8,} {r['flash_bytes']:>9,} "
                  f"{r['weights_bytes']:>9,} {r['code_bytes']:>8,} {'yes' if r['bit_exact'] else 'NO'}")
    print("\nspeed-up of the optimized kernels (portable / optimized):")
    print(f"{'model':<12} {'board':<9} {'instr':>7} {'est.cyc':>8}")
    for m in results:
        by = {(r["board"], r["variant"]): r for r in m["runs"] if "instructions" in r}
        for b in sorted({r["board"] for r in m["runs"]}):
            p, o = by.get((b, "portable")), by.get((b, "optimized"))
            if p and o:
                print(f"{m['model']:<12} {b:<9} {_ratio(p['instructions'], o['instructions']):>7} "
                      f"{_ratio(p['estimated_cycles'], o['estimated_cycles']):>8}")
    print("\nint16 GEMM weights (optimized) vs the int8 layout (int8-w): speed bought and flash paid")
    print(f"{'model':<12} {'board':<9} {'instr':>7} {'est.cyc':>8} {'weights':>9} {'int8-w':>9} {'extra':>9}")
    for m in results:
        by = {(r["board"], r["variant"]): r for r in m["runs"] if "instructions" in r}
        for b in sorted({r["board"] for r in m["runs"]}):
            o, n = by.get((b, "optimized")), by.get((b, INT8_WEIGHTS))
            if o and n:
                print(f"{m['model']:<12} {b:<9} {_ratio(n['instructions'], o['instructions']):>7} "
                      f"{_ratio(n['estimated_cycles'], o['estimated_cycles']):>8} {o['weights_bytes']:>9,} "
                      f"{n['weights_bytes']:>9,} {o['weights_bytes'] - n['weights_bytes']:>9,}")
    print("\nmemory: mcukit arena vs TFLite Micro host interpreter (same .tflite)")
    print(f"{'model':<12} {'mk port.':>9} {'mk opt.':>9} {'max':>9} {'tflm':>9} {'tflm_act':>9} "
          f"{'max/tflm':>9} {'max/act':>8}")
    for m in results:
        arenas: dict[str, int] = {}  # per variant, the largest over the boards (the DSP/Helium lowerings differ)
        for r in m["runs"]:
            if "arena_bytes" in r:
                arenas[r["variant"]] = max(arenas.get(r["variant"], 0), r["arena_bytes"])
        worst = max(arenas.values()) if arenas else None
        tf, act = m["tflm_arena_bytes"], m["tflm_activation_bytes"]
        print(f"{m['model']:<12} {arenas.get('portable', 0):>9,} {arenas.get('optimized', 0):>9,} "
              f"{worst or 0:>9,} {tf or 0:>9,} {act or 0:>9,} {_ratio(worst, tf):>9} {_ratio(worst, act):>8}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smallest models on qemu-m4 only")
    ap.add_argument("--models", help="comma-separated: " + ",".join(TINY + EXAMPLES))
    ap.add_argument("--boards", help="comma-separated: " + ",".join(BOARDS))
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    models = args.models.split(",") if args.models else list(QUICK_MODELS if args.quick else TINY + EXAMPLES)
    boards = args.boards.split(",") if args.boards else list(QUICK_BOARDS if args.quick else BOARDS)
    unknown = [m for m in models if m not in TINY + EXAMPLES]
    if unknown:
        ap.error(f"unknown model(s) {unknown}")
    from mcukit import __version__

    t0 = time.monotonic()
    results = []
    for name in models:
        results.append(measure_model(name, boards))
        print(f"[{time.monotonic() - t0:6.1f} s] {name} done", file=sys.stderr)
    print_tables(results)
    doc = {"schema": SCHEMA, "mcukit_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime()),
           "boards": boards, "models": results, "seconds": round(time.monotonic() - t0, 1)}
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2))
    failed = [(m["model"], r["board"], r["variant"]) for m in results for r in m["runs"]
              if "error" in r or not r.get("bit_exact", False)]
    if failed:
        print(f"\nFAILED or not bit-exact: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
