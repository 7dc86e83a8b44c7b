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
