"""CONV_2D + ADD fusion (mcukit/codegen/fusion.py) on the host: fused models give exactly the unfused bytes and the
references', with the portable kernels and the DSP kernels (int16 and int8 GEMM weights), both roundings, and
tiles of every width from 1 pixel to a whole row (short last tiles included); the plans pass check_plan on the
planning view. The stored models are tests/data/ops/fusion (gen_fusion_models.py). The Helium kernels' tile calls
run on qemu-m55 (benchmarks/speed_memory.py on ResNet-8)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from harness import compare, random_inputs, reference

from mcukit.codegen.fusion import find_conv_add, plan_fused, planning_view
from mcukit.codegen.generate import generate, lower_all, render
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.hostbuild import load
from mcukit.ir.reader import parse_tflite
from mcukit.plan import check_plan

FAMILY = Path(__file__).resolve().parents[1] / "data" / "ops" / "fusion"
CASES: list[dict[str, Any]] = json.loads((FAMILY / "manifest.json").read_text())["cases"]
ISAS = {"portable": ((), True), "dsp": (("dsp",), True), "dsp-int8-weights": (("dsp",), False)}


def _model(case: dict[str, Any]) -> bytes:
    data = (FAMILY / case["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == case["sha256"], "stored model does not match its manifest"
    return data


def _options(isa_name: str, rounding: str) -> LowerOptions:
    isa, wide = ISAS[isa_name]
    return LowerOptions(rounding=rounding, isa=isa, wide_weights=wide)


def _forced(graph, options: LowerOptions):
    """Every fusion candidate fused, default tiles: the generator's own choice may drop some (select)."""
    calls = lower_all(graph, options)
    fusions, plan = plan_fused(graph, calls, find_conv_add(graph, calls), select=False, widen=False)
    check_plan(*planning_view(graph, calls, fusions), plan)
    return fusions, render(graph, calls, plan, options, fusions=fusions)


@pytest.mark.parametrize("isa_name", list(ISAS))
@pytest.mark.parametrize("rounding", ["tflm", "litert"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fused_bit_exact(case: dict[str, Any], rounding: str, isa_name: str) -> None:
    model = _model(case)
    graph = parse_tflite(model)
    options = _options(isa_name, rounding)
    xs = random_inputs(model, 3, seed=zlib.crc32(case["file"].encode()))
    fusions, forced = _forced(graph, options)
    assert len(fusions) == case["fused"], [dataclasses.astuple(f) for f in fusions]
    chosen = generate(graph, options)
    unfused = generate(graph, options, fuse=False)
    assert not unfused.fused
    assert chosen.arena_bytes <= unfused.arena_bytes  # a fusion is kept only where it does not cost bytes
    check_plan(*planning_view(graph, chosen.calls, chosen.fused), chosen.plan)
    plain = load(unfused).run(xs)
    for name, gen in (("forced", forced), ("chosen", chosen)):
        got = load(gen).run(xs)
        for a, b in zip(got, plain):
            assert np.array_equal(a, b), f"{case['name']} ({name}): fused and unfused outputs differ"
    bad = [d for d in compare(reference(model, xs, rounding), plain) if d.mismatches]
    assert not bad, f"{case['name']} ({rounding}, {isa_name}): {bad}"


@pytest.mark.parametrize("isa_name", ["portable", "dsp", "dsp-int8-weights"])
@pytest.mark.parametrize("tile", [1, 2, 3, 5, 64])
def test_every_tile_width(tile: int, isa_name: str) -> None:
    """Forced tile widths (64 = more than any row: one tile per row) on every fused model: the tile origins,
    shifted paddings and the short last tile of a row must not change a byte."""
    options = _options(isa_name, "tflm")
    for case in CASES:
        if not case["fused"]:
            continue
        model = _model(case)
        graph = parse_tflite(model)
        calls = lower_all(graph, options)
        fusions = tuple(dataclasses.replace(f, tile=min(tile, int(graph.tensors[f.conv_out].shape[2])))
                        for f in find_conv_add(graph, calls))
        assert fusions, f"{case['name']} ({isa_name}): no fusable pair - is the conv kernel in TILEABLE_CONV?"
        fusions, plan = plan_fused(graph, calls, fusions, select=False, widen=False)
        check_plan(*planning_view(graph, calls, fusions), plan)
        gen = render(graph, calls, plan, options, fusions=fusions)
        xs = random_inputs(model, 2, seed=tile)
        got = load(gen).run(xs)
        bad = [d for d in compare(reference(model, xs, "tflm"), got) if d.mismatches]
        assert not bad, f"{case['name']} tile={tile} ({isa_name}): {bad}"


def test_fusion_saves_the_conv_output() -> None:
    """The arena of a fused 3x3 block is smaller than the unfused one: the conv output is not allocated."""
    for case in CASES:
        if case["name"] != "block3x3_c8":
            continue
        graph = parse_tflite(_model(case))
        fused, unfused = generate(graph), generate(graph, fuse=False)
        (f,) = fused.fused
        assert f.conv_out not in fused.plan.offsets
        assert f.conv_out in unfused.plan.offsets
        assert fused.arena_bytes < unfused.arena_bytes


@pytest.mark.parametrize("isa_name", ["portable", "dsp"])
def test_row_safety_is_needed(isa_name: str) -> None:
    """The mutation the row analysis (fusion.rows_safe) guards against: chain5x5_self's output forced over the
    skip, which its 5x5 first conv still reads a row behind, gives wrong bytes; the generator's plan does not."""
    (case,) = [c for c in CASES if c["name"] == "chain5x5_self"]
    model = _model(case)
    graph = parse_tflite(model)
    options = _options(isa_name, "tflm")
    calls = lower_all(graph, options)
    (f,) = find_conv_add(graph, calls)
    assert f.pre >= 0 and not f.over_input
    xs = random_inputs(model, 2, seed=5)
    plain = load(generate(graph, options, fuse=False)).run(xs)
    for over, should_match in ((False, True), (True, False)):
        fusions, plan = plan_fused(graph, calls, (dataclasses.replace(f, over_input=over),), select=False,
                                   widen=False)
        x, out = graph.ops[f.pre].inputs[0], graph.ops[f.add].outputs[0]
        assert (plan.offsets[out] == plan.offsets[x]) == over
        got = load(render(graph, calls, plan, options, fusions=fusions)).run(xs)
        assert all(np.array_equal(a, b) for a, b in zip(got, plain)) == should_match
