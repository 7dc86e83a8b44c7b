"""mcukit's static arena versus TFLite Micro's, side by side.

    .venv/bin/python benchmarks/plan_vs_tflm.py [MODEL.tflite ...]

Without arguments, the example models (examples/*.h5) are quantized with mcukit.quantize (cached) and measured.
Columns:
  mcukit  - arena bytes of the generated C (activations + scratch, offline plan with the conv fusions of
            mcukit.codegen.fusion, portable kernels; the exact RAM it declares)
  naive   - every activation and scratch buffer in its own 16-byte aligned slot
  tflm    - the smallest arena TFLite Micro's host interpreter runs the model in (mcukit.reference.tflm_arena_bytes;
            it includes TFLM's own bookkeeping, laid out for a 64-bit host)
  tflm_act - the "head" of that arena as TFLM's recording allocator reports it: the non-persistent part, i.e.
            activations and scratch as planned by TFLM's greedy planner (the like-for-like comparison)
  ratio   - mcukit / tflm_act
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Row:
    name: str
    mcukit: int | None
    naive: int | None
    tflm: int | None
    tflm_act: int | None
    note: str = ""


def measure(name: str, model: bytes) -> Row:
    from mcukit.codegen.fusion import find_conv_add, plan_fused, planning_view
    from mcukit.codegen.generate import lower_all
    from mcukit.codegen.kernel_call import LowerOptions
    from mcukit.codegen.ops import supported_kinds
    from mcukit.errors import McukitError
    from mcukit.ir.reader import parse_tflite
    from mcukit.plan import check_plan

    graph = parse_tflite(model, name=name)
    mk = naive = tflm = tflm_act = None
    note = ""
    missing = sorted({op.kind for op in graph.ops if op.kind not in supported_kinds()})
    if missing:
        note = "no lowering for " + ", ".join(missing)
    else:
        calls = lower_all(graph, LowerOptions())
        fusions, plan = plan_fused(graph, calls, find_conv_add(graph, calls))  # the plan generate() uses
        check_plan(*planning_view(graph, calls, fusions), plan)
        mk, naive = plan.arena_bytes, plan.naive_bytes
    try:
        from mcukit.reference import tflm_arena_bytes

        tflm = tflm_arena_bytes(model)
        tflm_act = tflm_head_bytes(model)
    except (ImportError, McukitError) as exc:
        note = (note + "; " if note else "") + f"tflm: {exc}"
    return Row(name, mk, naive, tflm, tflm_act, note)


def tflm_head_bytes(model: bytes) -> int | None:
    """TFLM's non-persistent arena use ("Arena allocation head"), read from its allocation report."""
    import os
    import tempfile

    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 22)
    # The report goes to the C++ side's stderr: capture file descriptor 2, not sys.stderr.
    with tempfile.TemporaryFile(mode="w+") as tmp:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(tmp.fileno(), 2)
            interp.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read()
    for line in text.splitlines():
        if "Arena allocation head" in line:
            return int([w for w in line.split() if w.isdigit()][-1])
    return None


def example_models() -> list[tuple[str, bytes]]:
    from mcukit.quantize import quantize_file

    out = []
    for h5 in sorted((ROOT / "examples").glob("*.h5")):
        calib = h5.with_name(f"{h5.stem}_test.npz")
        out.append((h5.stem, quantize_file(h5, calibration=calib if calib.exists() else None).tflite))
    return out


def _fmt(v: int | None) -> str:
    return f"{v:,}" if v is not None else "-"


def main(argv: list[str]) -> int:
    models = [(Path(p).stem, Path(p).read_bytes()) for p in argv] if argv else example_models()
    rows = [measure(name, data) for name, data in models]
    print(f"{'model':<16} {'mcukit':>10} {'naive':>10} {'tflm':>10} {'tflm_act':>10} {'ratio':>6}  note")
    for r in rows:
        ratio = f"{r.mcukit / r.tflm_act:.2f}" if r.mcukit is not None and r.tflm_act else "-"
        print(f"{r.name:<16} {_fmt(r.mcukit):>10} {_fmt(r.naive):>10} {_fmt(r.tflm):>10} {_fmt(r.tflm_act):>10} "
              f"{ratio:>6}  {r.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
