"""The CONV_2D + ADD fusion rules and its memory-plan view (mcukit/codegen/fusion.py), without compiling C: which
pairs fuse, what the planner sees, and that check_plan rejects a plan that forgets the conv input lives until the
ADD. The models are the stored residual blocks of tests/data/ops/fusion (tests/host/gen_fusion_models.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mcukit.codegen.fusion import find_conv_add, plan_fused, planning_view, real_order
from mcukit.codegen.generate import lower_all
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.ir.graph import Graph
from mcukit.ir.reader import parse_tflite
from mcukit.plan import PlanError, check_plan, lifetimes

FAMILY = Path(__file__).resolve().parents[1] / "data" / "ops" / "fusion"
CASES = {c["name"]: c for c in json.loads((FAMILY / "manifest.json").read_text())["cases"]}


def _graph(name: str) -> Graph:
    return parse_tflite((FAMILY / CASES[name]["file"]).read_bytes())


@pytest.mark.parametrize("isa", [(), ("dsp",), ("mve",)])
@pytest.mark.parametrize("name", sorted(CASES))
def test_candidates(name: str, isa: tuple[str, ...]) -> None:
    graph = _graph(name)
    fusions = find_conv_add(graph, lower_all(graph, LowerOptions(isa=isa)))
    assert len(fusions) == CASES[name]["fused"]
    for f in fusions:
        conv, add = graph.ops[f.conv], graph.ops[f.add]
        assert conv.kind == "CONV_2D" and add.kind == "ADD"
        assert add.inputs[f.conv_pos] == conv.outputs[0] == f.conv_out
        assert f.conv_out not in graph.outputs


def test_no_fusion_with_broadcast_or_second_reader() -> None:
    graph = _graph("block3x3_c8")
    calls = lower_all(graph, LowerOptions())
    (f,) = find_conv_add(graph, calls)
    skip = graph.ops[f.add].inputs[f.skip_pos]
    tensors = list(graph.tensors)
    tensors[skip] = dataclasses.replace(tensors[skip], shape=(1, 1, 1, tensors[skip].shape[-1]))
    assert find_conv_add(dataclasses.replace(graph, tensors=tuple(tensors)), calls) == ()
    # the conv output read by a second op (here: also a graph output)
    assert find_conv_add(dataclasses.replace(graph, outputs=graph.outputs + (f.conv_out,)), calls) == ()


def test_planning_view_and_order() -> None:
    graph = _graph("block3x3_c8")
    calls = lower_all(graph, LowerOptions(isa=("dsp",)))
    fusions, plan = plan_fused(graph, calls, find_conv_add(graph, calls, chains=False), select=False)
    (f,) = fusions
    view, vcalls = planning_view(graph, calls, fusions)
    check_plan(view, vcalls, plan)
    order = plan.execution_order(view)
    assert order.index(f.conv) + 1 == order.index(f.add)  # the conv's layer markers come right before the ADD's
    assert real_order(order, fusions) == order
    assert f.conv_out not in plan.offsets  # never materialized
    life = lifetimes(view, order)
    conv_in = graph.ops[f.conv].inputs[0]
    assert life[conv_in][1] == order.index(f.add)  # read until the fused op ends
    add = graph.ops[f.add]
    skip, out = add.inputs[f.skip_pos], add.outputs[0]
    assert plan.offsets[out] == plan.offsets[skip]  # written in place over the skip, element for element
    assert plan.scratch[f.add][1] == vcalls[f.add].scratch_bytes >= calls[f.conv].scratch_bytes
    assert f.conv not in plan.scratch


def test_self_skip_is_not_in_place() -> None:
    """add(conv(x), x): later tiles still read rows of x around the ones already written, so the output may not
    overwrite x."""
    graph = _graph("self_skip")
    calls = lower_all(graph, LowerOptions())
    fusions, plan = plan_fused(graph, calls, find_conv_add(graph, calls), select=False)
    (f,) = fusions
    add = graph.ops[f.add]
    x, out = add.inputs[f.skip_pos], add.outputs[0]
    assert graph.ops[f.conv].inputs[0] == x
    assert plan.offsets[out] != plan.offsets[x]
    check_plan(*planning_view(graph, calls, fusions), plan)


def test_check_plan_rejects_output_over_conv_input() -> None:
    """A plan that places the fused output over the conv's input (as if the input died at the conv) fails."""
    graph = _graph("block3x3_c8")
    calls = lower_all(graph, LowerOptions())
    fusions, plan = plan_fused(graph, calls, find_conv_add(graph, calls, chains=False), select=False)
    (f,) = fusions
    view, vcalls = planning_view(graph, calls, fusions)
    conv_in, out = graph.ops[f.conv].inputs[0], graph.ops[f.add].outputs[0]
    offsets = dict(plan.offsets)
    offsets[out] = offsets[conv_in]
    with pytest.raises(PlanError):
        check_plan(view, vcalls, dataclasses.replace(plan, offsets=offsets))


# ------------------------------------------------------------------------------------ conv -> conv chains (pre)

# name -> (line-buffer rows, output written over the skip): the stored cases whose fused conv's input comes from a
# conv with no other reader
CHAINS = {"block3x3_c8": (3, True), "block3x3_c6_odd": (3, True), "valid5x5": (3, False),
          "chain5x5_self": (3, False), "chain_1x1": (1, True), "chain_s2_5x5": (5, False),
          "chain_valid_s2": (3, False)}


@pytest.mark.parametrize("isa", [(), ("dsp",), ("mve",)])
@pytest.mark.parametrize("name", sorted(CASES))
def test_chain_candidates(name: str, isa: tuple[str, ...]) -> None:
    graph = _graph(name)
    chained = [f for f in find_conv_add(graph, lower_all(graph, LowerOptions(isa=isa))) if f.pre >= 0]
    if name not in CHAINS:
        assert not chained
        return
    (f,) = chained
    pre, conv = graph.ops[f.pre], graph.ops[f.conv]
    assert pre.kind == "CONV_2D" and pre.outputs[0] == f.pre_out == conv.inputs[0]
    assert [op.index for op in graph.ops if f.pre_out in op.inputs] == [f.conv]
    assert (f.rows, f.over_input) == CHAINS[name]
    assert f.ops == (f.pre, f.conv, f.add)
    assert find_conv_add(graph, lower_all(graph, LowerOptions(isa=isa)), chains=False)[0].pre == -1


def _conv(h_in: int, h_out: int, filt: int, stride: int, pad: int, dil: int = 1) -> dict[str, str]:
    """CONV_2D params (as KernelCall.params strings) with only the row geometry mattering."""
    p = {"batches": 1, "in_h": h_in, "in_w": 4, "in_c": 2, "out_h": h_out, "out_w": 4, "out_c": 2,
         "filter_h": filt, "stride_h": stride, "pad_top": pad, "dilation_h": dil}
    return {k: str(v) for k, v in p.items()}


def _same(h: int, filt: int, stride: int = 1, dil: int = 1) -> dict[str, str]:
    out = -(-h // stride)
    eff = (filt - 1) * dil + 1
    return _conv(h, out, filt, stride, max(0, (out - 1) * stride + eff - h) // 2, dil)


def _taps(o: int, p: dict[str, str]) -> list[int]:
    start = o * int(p["stride_h"]) - int(p["pad_top"])
    rows = [start + k * int(p["dilation_h"]) for k in range(int(p["filter_h"]))]
    return [r for r in rows if 0 <= r < int(p["in_h"])]


def _simulate(pre: dict[str, str], conv: dict[str, str]) -> tuple[int, bool]:
    """The generated C's row loop, independently: (most rows held, whether every row the pre conv computes reads
    only x rows not yet overwritten by the output, which lands on x row by row). Checks on the way that each conv
    row finds every row its taps read in the buffer."""
    lo_done = hi_done = 0
    held, safe = 0, True
    h1 = int(conv["in_h"])
    eff = (int(conv["filter_h"]) - 1) * int(conv["dilation_h"]) + 1
    for oy in range(int(conv["out_h"])):
        start = oy * int(conv["stride_h"]) - int(conv["pad_top"])
        lo, hi = max(0, start), min(h1, start + eff)
        if lo > lo_done:
            lo_done, hi_done = lo, max(hi_done, lo)
        while hi_done < hi:
            safe &= all(r >= oy for r in _taps(hi_done, pre))
            hi_done += 1
        assert set(_taps(oy, conv)) <= set(range(lo_done, hi_done))
        held = max(held, hi_done - lo_done)
    return held, safe


@pytest.mark.parametrize(("pre", "conv", "safe"), [
    (_same(9, 3), _same(9, 3), True),  # the ResNet block: row r + 1 of y1 reads x rows r.. r + 2
    (_same(9, 5), _same(9, 3), False),  # y1 row r + 1 reads x row r - 1, already overwritten
    (_same(9, 3), _same(9, 5), True),
    (_same(9, 1), _same(9, 3), True),
    (_same(9, 3, dil=2), _same(9, 3), False),
    (_same(9, 3), _same(9, 3, dil=2), True),
    (_same(10, 3, stride=2), _same(5, 3), None),  # the output has fewer rows than x: not over x, only streamed
    (_same(9, 3), _conv(9, 4, 3, 2, 0), None),
    (_same(9, 3), _same(9, 3, stride=2), None),
])
def test_row_schedule_and_safety(pre: dict[str, str], conv: dict[str, str], safe: bool | None) -> None:
    from mcukit.codegen.fusion import row_schedule, rows_safe

    sched = row_schedule(pre, conv)
    assert sched is not None
    computed = [j for _, _, new in sched for j in new]
    assert computed == sorted(set(computed))  # each row once, in order
    held, simulated = _simulate(pre, conv)
    assert held == max(hi - lo for lo, hi, _ in sched)
    if safe is not None:
        assert rows_safe(pre, sched) == simulated == safe


def test_row_schedule_random_geometries() -> None:
    """rows_safe agrees with the simulation of the C loop on many window geometries."""
    import random

    from mcukit.codegen.fusion import row_schedule, rows_safe

    rng = random.Random(7)
    seen = set()
    for _ in range(300):
        h = rng.randint(1, 12)
        pre = _same(h, rng.choice([1, 2, 3, 5]), dil=rng.choice([1, 1, 2]))
        conv = _same(h, rng.choice([1, 2, 3, 4, 5]), dil=rng.choice([1, 1, 2]))
        sched = row_schedule(pre, conv)
        assert sched is not None
        held, simulated = _simulate(pre, conv)
        assert held == max(hi - lo for lo, hi, _ in sched)
        assert rows_safe(pre, sched) == simulated
        seen.add(simulated)
    assert seen == {True, False}


def test_row_schedule_refuses_mismatched_shapes() -> None:
    from mcukit.codegen.fusion import row_schedule

    assert row_schedule(_same(9, 3), _same(8, 3)) is None


def _chain_plan(name: str, isa: tuple[str, ...] = ()):
    graph = _graph(name)
    calls = lower_all(graph, LowerOptions(isa=isa))
    fusions, plan = plan_fused(graph, calls, find_conv_add(graph, calls), select=False, widen=False)
    (f,) = fusions
    assert f.pre >= 0
    return graph, calls, f, plan


@pytest.mark.parametrize("isa", [(), ("dsp",), ("mve",)])
def test_chain_planning_view(isa: tuple[str, ...]) -> None:
    """A streamed block: neither conv output exists, x lives until the fused op, the output is written exactly
    over x (the skip), the scratch holds the kernels' scratch, the line buffer and the tile, and check_plan
    accepts it only because the view declares the row-safe in-place read."""
    from mcukit.codegen.fusion import row_bytes, scratch_layout

    graph, calls, f, plan = _chain_plan("block3x3_c8", isa)
    view, vcalls = planning_view(graph, calls, (f,))
    check_plan(view, vcalls, plan)
    order = plan.execution_order(view)
    i = order.index(f.pre)
    assert order[i:i + 3] == (f.pre, f.conv, f.add)
    assert f.pre_out not in plan.offsets and f.conv_out not in plan.offsets
    add = graph.ops[f.add]
    x = graph.ops[f.pre].inputs[0]
    assert add.inputs[f.skip_pos] == x
    assert lifetimes(view, order)[x][1] == order.index(f.add)
    assert plan.offsets[add.outputs[0]] == plan.offsets[x]
    line, tile, total = scratch_layout(graph, calls, f)
    kernel = max(calls[f.pre].scratch_bytes, calls[f.conv].scratch_bytes)
    assert line >= kernel and tile - line >= f.rows * row_bytes(graph, f) == 3 * 9 * 8
    assert plan.scratch[f.add][1] == total == vcalls[f.add].scratch_bytes
    # the same layout, but the fusion not proved row-safe: the output over x is a conflict
    unsafe = dataclasses.replace(f, over_input=False)
    with pytest.raises(PlanError):
        check_plan(*planning_view(graph, calls, (unsafe,)), plan)


def test_chain_not_row_safe_keeps_output_off_x() -> None:
    """chain5x5_self: the 5x5 first conv still reads x row r - 1 when output row r is due, so the planner keeps
    the output off x, and check_plan rejects a plan that puts it there."""
    graph, calls, f, plan = _chain_plan("chain5x5_self")
    assert not f.over_input
    view, vcalls = planning_view(graph, calls, (f,))
    check_plan(view, vcalls, plan)
    x = graph.ops[f.pre].inputs[0]
    out = graph.ops[f.add].outputs[0]
    assert plan.offsets[out] != plan.offsets[x]
    offsets = dict(plan.offsets)
    offsets[out] = offsets[x]
    with pytest.raises(PlanError):
        check_plan(view, vcalls, dataclasses.replace(plan, offsets=offsets))


def test_select_drops_the_stream_where_it_does_not_pay() -> None:
    """plan_fused keeps the pre conv only where the arena would grow without it."""
    for name in CHAINS:
        graph = _graph(name)
        calls = lower_all(graph, LowerOptions())
        fusions, plan = plan_fused(graph, calls, find_conv_add(graph, calls))
        for f in fusions:
            if f.pre < 0:
                continue
            plain = dataclasses.replace(f, pre=-1, pre_out=-1, pre_mode="", rows=0, over_input=False)
            other = tuple(plain if g == f else g for g in fusions)
            assert plan_fused(graph, calls, other, select=False, widen=False)[1].arena_bytes > plan.arena_bytes


def test_over_input_needs_a_stream_over_its_own_skip() -> None:
    """over_input set where no row proof applies (a plain pair whose skip is the conv input, a chain whose skip is
    another tensor) declares nothing: the view stays as without it."""
    graph = _graph("self_skip")
    calls = lower_all(graph, LowerOptions())
    (f,) = find_conv_add(graph, calls)
    (_, vcalls) = planning_view(graph, calls, (dataclasses.replace(f, over_input=True),))
    assert vcalls[f.add].inplace_inputs == (f.skip_pos,)
    graph = _graph("valid5x5")
    calls = lower_all(graph, LowerOptions())
    (f,) = find_conv_add(graph, calls)
    assert f.pre >= 0 and graph.ops[f.add].inputs[f.skip_pos] != graph.ops[f.pre].inputs[0]
    (_, vcalls) = planning_view(graph, calls, (dataclasses.replace(f, over_input=True),))
    assert vcalls[f.add].inplace_inputs == (f.skip_pos,)
