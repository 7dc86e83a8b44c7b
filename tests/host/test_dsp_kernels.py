"""The DSP kernel variants (firmware/src/kernels/dsp) against the references, on the SAME stored single-op sweep
as the portable kernels (tests/data/ops: conv, depthwise, fully_connected, pool, add), in both rounding modes.

Models are generated with LowerOptions(isa=("dsp",)), i.e. for a Cortex-M4/M7-class board, so model.c calls the
*_dsp kernels; the host compiles those with the C emulation of the ACLE intrinsics (mcukit/mk_dsp_compat.h). The
oracle is the reference interpreter of each rounding mode, exactly as in test_ops_conv.py.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from harness import compare, random_inputs, reference

from mcukit.codegen.generate import lower_all
from mcukit.codegen.kernel_call import SCRATCH, LowerOptions, array
from mcukit.codegen.ops._isa import (
    ADD_LUT_KERNEL,
    FC_WIDE_KERNEL,
    GEMM_KERNELS,
    IM2COL_KERNELS,
    WIDE_KERNEL,
    WIDE_W8_KERNEL,
    add_lut_table,
    fold_input_offset,
    gemm_rq_table,
    gemm_weight_layout,
    im2col_scratch_bytes,
    pad_rq_table,
    wide_scratch_bytes,
    wide_w8_weight_layout,
    wide_weight_layout,
)
from mcukit.hostbuild import compile_model
from mcukit.ir.reader import parse_tflite

DATA = Path(__file__).resolve().parents[1] / "data" / "ops"
FAMILIES = ("conv", "depthwise", "fully_connected", "pool", "add")
ROUNDINGS = ("tflm", "litert")
SAMPLES = 4
DSP = ("dsp",)
# Kinds whose lowering must pick a *_dsp kernel on a DSP board.
ACCELERATED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD"}


def _cases(family: str) -> list[dict[str, Any]]:
    return json.loads((DATA / family / "manifest.json").read_text())["cases"]


def _params() -> list[Any]:
    out = []
    for fam in FAMILIES:
        for case in _cases(fam):
            for rounding in ROUNDINGS:
                out.append(pytest.param(fam, case, rounding, id=f"{case['file'][:-7]}-{rounding}"))
    return out


def _model(family: str, case: dict[str, Any]) -> bytes:
    data = (DATA / family / case["file"]).read_bytes()
    if "sha256" in case:
        assert hashlib.sha256(data).hexdigest() == case["sha256"], "stored model does not match its manifest"
    return data


@pytest.mark.parametrize(("family", "case", "rounding"), _params())
def test_dsp_kernels_bit_exact(family: str, case: dict[str, Any], rounding: str) -> None:
    model = _model(family, case)
    xs = random_inputs(model, SAMPLES, seed=zlib.crc32(case["file"].encode()))
    expected = reference(model, xs, rounding)
    got = compile_model(model, rounding=rounding, isa=DSP).run(xs)
    bad = [d for d in compare(expected, got) if d.mismatches]
    assert not bad, f"{case['file']} ({rounding}): {bad}"


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_int8_weight_kernels_bit_exact(rounding: str) -> None:
    """With wide_weights off (what a board with crowded flash gets) ungrouped convs run the int8-weight wide GEMM
    (mk_conv_wide_w8_s8_dsp) and fully connected layers mk_fully_connected_s8_dsp: the same stored sweeps, bit for
    bit."""
    ran: dict[str, int] = {}
    narrow = LowerOptions(isa=DSP, wide_weights=False)
    for family in ("conv", "fully_connected"):
        for case in _cases(family):
            model = _model(family, case)
            calls = lower_all(parse_tflite(model), narrow)
            assert not any(c.kernel in (WIDE_KERNEL, FC_WIDE_KERNEL) for c in calls)
            picked = {c.kernel for c in calls} & {*GEMM_KERNELS, WIDE_W8_KERNEL, "mk_fully_connected_s8_dsp"}
            if not picked:
                continue
            xs = random_inputs(model, 2, seed=zlib.crc32(case["file"].encode()))
            got = compile_model(model, rounding=rounding, isa=DSP, wide_weights=False).run(xs)
            bad = [d for d in compare(reference(model, xs, rounding), got) if d.mismatches]
            assert not bad, f"{case['file']} ({rounding}): {bad}"
            for k in picked:
                ran[k] = ran.get(k, 0) + 1
    # 45 of the stored conv models are ungrouped (all but one within the short epilogue's bound); every fully
    # connected one qualifies
    assert ran.get(WIDE_W8_KERNEL, 0) >= 40 and ran.get("mk_fully_connected_s8_dsp", 0) >= 30, ran


def test_dsp_boards_select_the_dsp_kernels() -> None:
    """Every accelerated op in the sweep lowers to a *_dsp kernel with isa=("dsp",), to *_mve for conv/depthwise/FC
    with MVE, and to the portable kernel without an ISA (so the sweep above really runs the variants), and every
    DSP kernel - the 1x1 GEMM included - is exercised by at least one stored model."""
    seen: dict[str, set[str]] = {"dsp": set(), "mve": set()}
    for fam in FAMILIES:
        for case in _cases(fam):
            graph = parse_tflite(_model(fam, case))
            portable = lower_all(graph, LowerOptions())
            dsp = lower_all(graph, LowerOptions(isa=DSP))
            mve = lower_all(graph, LowerOptions(isa=("dsp", "fpu", "mve")))
            for op, p, d, m in zip(graph.ops, portable, dsp, mve):
                if op.kind not in ACCELERATED:
                    assert d.kernel == p.kernel == m.kernel
                    continue
                assert not p.kernel.endswith(("_dsp", "_mve")), p.kernel
                assert d.kernel.endswith("_dsp"), (case["file"], d.kernel)
                assert d.params == p.params, "the variants share the portable params"
                w = graph.tensor(op.inputs[1]).array() if op.kind == "CONV_2D" else None
                if d.kernel in GEMM_KERNELS:
                    # Compile-time GEMM forms: re-laid-out weights and a folded bias replace the tensors.
                    assert d.args[0] == p.args[0] and d.args[3] == p.args[3]
                    assert d.args[1:3] == (array("w_gemm"), array("bias_folded")), d.args
                    names = {a.name: a for a in d.arrays}
                    assert sorted(names["w_gemm"].values.tolist()) == sorted(w.reshape(-1).tolist())
                    if d.kernel in IM2COL_KERNELS:
                        assert d.args[4:] == (SCRATCH,) and d.scratch_bytes == im2col_scratch_bytes(*w.shape[1:])
                elif d.kernel == WIDE_KERNEL:
                    # Provably small accumulators: int16 weights and the short epilogue's table.
                    assert d.args[0] == p.args[0] and d.args[3] == p.args[3] and d.args[4:] == (SCRATCH,)
                    assert d.args[1:3] == (array("w_wide"), array("rq_table")), d.args
                    names = {a.name: a for a in d.arrays}
                    assert np.array_equal(names["w_wide"].values, wide_weight_layout(w))
                    pr = dict(d.params)
                    one = w.shape[1:3] == (1, 1) and pr["pad_top"] == pr["pad_left"] == "0"
                    assert d.scratch_bytes == wide_scratch_bytes(*w.shape[1:], one_by_one=one)
                elif d.kernel == FC_WIDE_KERNEL:
                    # int16 weights and the folded bias; no scratch.
                    w = graph.tensor(op.inputs[1]).array()
                    assert d.args[0] == p.args[0] and d.args[3:] == p.args[3:]
                    assert d.args[1:3] == (array("w_wide"), array("bias_folded")), d.args
                    names = {a.name: a for a in d.arrays}
                    assert np.array_equal(names["w_wide"].values, wide_weight_layout(w))
                    assert d.scratch_bytes == 0
                elif d.kernel == ADD_LUT_KERNEL:
                    # Same-shape ADD: the compile-time table goes between the inputs and the output.
                    assert d.args == p.args[:2] + (array("add_lut"),) + p.args[2:], d.args
                    assert [a.name for a in d.arrays] == ["add_lut"] and d.arrays[0].values.size == 515
                else:
                    assert d.args == p.args, "the variants share the portable contract"
                seen["dsp"].add(d.kernel)
                seen["mve"].add(m.kernel)
    # The stored layers all fit the short GEMM epilogue, so they run the wide kernel; the int8 GEMM kernels run them
    # in test_int8_gemm_kernels_bit_exact and on unproven layers in the direct self-check (test_dsp_kernels_direct.py).
    assert seen["dsp"] >= {"mk_conv_s8_dsp", WIDE_KERNEL, FC_WIDE_KERNEL,
                           "mk_depthwise_conv_s8_dsp", "mk_avg_pool_s8_dsp",
                           "mk_max_pool_s8_dsp", "mk_add_s8_dsp", ADD_LUT_KERNEL}, seen["dsp"]
    assert seen["mve"] >= {"mk_conv_s8_mve", "mk_depthwise_conv_s8_mve", "mk_fully_connected_s8_mve"}


def test_wide_weight_layout() -> None:
    """The int16 GEMM form by definition: rows and channels zero-padded (to 4 and to even), then per channel pair
    and 4-weight block the halfword pairs (w0, w2), (w1, w3) of channel c and of c + 1, low half first; and the
    table padded with a copy of its last row for an odd channel count."""
    rng = np.random.default_rng(5)
    for out_c, k in ((1, 3), (2, 4), (3, 9), (4, 40), (5, 2)):
        w = rng.integers(-128, 128, size=(out_c, 1, 1, k), dtype=np.int8)
        rows = np.zeros((out_c + out_c % 2, -(-k // 4) * 4), np.int64)
        rows[:out_c, :k] = w.reshape(out_c, k)
        want: list[int] = []
        for c in range(0, len(rows), 2):
            for b in range(0, rows.shape[1], 4):
                for r in (rows[c], rows[c + 1]):
                    for j in (b, b + 1):
                        want.append(int(np.uint32((int(r[j]) & 0xFFFF) | ((int(r[j + 2]) & 0xFFFF) << 16))))
        assert wide_weight_layout(w).view(np.uint32).tolist() == want, (out_c, k)
    table = np.arange(15, dtype=np.int32)
    assert pad_rq_table(table).tolist() == list(range(15)) + list(range(10, 15))
    assert pad_rq_table(table[:10]).tolist() == list(range(10))


def test_wide_w8_weight_layout() -> None:
    """The int8 form of the wide GEMM by definition: the same padding, then per channel pair and block the 4 bytes
    of channel c and of c + 1 as little-endian words."""
    rng = np.random.default_rng(6)
    for out_c, k in ((1, 3), (2, 4), (3, 9), (4, 40), (5, 2)):
        w = rng.integers(-128, 128, size=(out_c, 1, 1, k), dtype=np.int8)
        rows = np.zeros((out_c + out_c % 2, -(-k // 4) * 4), np.int64)
        rows[:out_c, :k] = w.reshape(out_c, k)
        want = [sum((int(r[b + j]) & 0xFF) << (8 * j) for j in range(4))
                for c in range(0, len(rows), 2) for b in range(0, rows.shape[1], 4) for r in (rows[c], rows[c + 1])]
        assert wide_w8_weight_layout(w).view(np.uint32).tolist() == want, (out_c, k)


def test_gemm_weight_layout_and_folded_bias() -> None:
    """The GEMM forms by definition: pair-interleaved 4-byte blocks then alternating tail bytes, an odd last row
    plain; folded bias = bias + offset * row sum, wrapped to int32."""
    rng = np.random.default_rng(7)
    for out_c, k in ((1, 3), (2, 4), (3, 9), (4, 40), (5, 2)):
        w = rng.integers(-128, 128, size=(out_c, 1, 1, k), dtype=np.int8)
        rows = w.reshape(out_c, k)
        got = gemm_weight_layout(w)
        want: list[int] = []
        for c in range(0, out_c - 1, 2):
            for b in range(0, k - k % 4, 4):
                want += rows[c, b:b + 4].tolist() + rows[c + 1, b:b + 4].tolist()
            for j in range(k - k % 4, k):
                want += [int(rows[c, j]), int(rows[c + 1, j])]
        if out_c % 2:
            want += rows[-1].tolist()
        assert got.tolist() == want, (out_c, k)
    w = np.full((2, 1, 1, 4), 127, dtype=np.int8)
    bias = np.array([2**31 - 1, -5], dtype=np.int32)
    folded = fold_input_offset(bias, w, 128)
    assert folded.dtype == np.int32
    assert folded.tolist() == [int(np.int64(2**31 - 1 + 128 * 508 - 2**32)), -5 + 128 * 508]
    assert fold_input_offset(None, w, -3).tolist() == [-3 * 508, -3 * 508]


def test_gemm_rq_table() -> None:
    """The short-epilogue table by definition (bias' 2^lsh, 2^lsh, multiplier, 2^e + output_offset 2^(e+1), e + 1
    per channel), and None - the fallback to the generic GEMM kernels - as soon as one channel breaks the bound."""
    rng = np.random.default_rng(11)
    w = rng.integers(-128, 128, size=(3, 1, 2, 5), dtype=np.int8)
    folded = np.array([1000, -70000, 0], dtype=np.int32)
    table = gemm_rq_table(w, folded, [1 << 30, 3 << 29, (1 << 31) - 1], [-7, 0, 2], -5)
    assert table is not None and table.dtype == np.int32
    want = [[1000 * 2, 2, 1 << 30, (1 << 7) - 5 * (1 << 8), 8],
            [-70000 * 2, 2, 3 << 29, 1 - 5 * 2, 1],
            [0, 8, (1 << 31) - 1, 1 - 5 * 2, 1]]
    assert table.reshape(3, 5).tolist() == want
    per_tensor = gemm_rq_table(w, folded, [1 << 30], [-3], 7)
    assert per_tensor is not None and per_tensor.reshape(3, 5)[:, 4].tolist() == [4, 4, 4]
    # (|bias'| + 128 * sum|w|) * 2^lsh must stay below 2^30: a huge folded bias, a large left shift or a right
    # shift past 21 each break the proof.
    big = np.array([1000, 1 << 29, 0], dtype=np.int32)
    assert gemm_rq_table(w, big, [1 << 30], [0], 0) is None
    assert gemm_rq_table(w, folded, [1 << 30], [8], 0) is None
    assert gemm_rq_table(w, folded, [1 << 30], [-22], 0) is None
    assert gemm_rq_table(w, folded, [1 << 30], [-21], 0) is not None
    limit = (1 << 29) - 128 * int(np.abs(w.astype(np.int64)).reshape(3, -1).sum(axis=1).max())
    edge = np.array([limit - 1, 0, 0], dtype=np.int32)
    assert gemm_rq_table(w[[np.abs(w.astype(np.int64)).reshape(3, -1).sum(axis=1).argmax()] * 3], edge, [1 << 30],
                         [0], 0) is not None
    assert gemm_rq_table(w[[np.abs(w.astype(np.int64)).reshape(3, -1).sum(axis=1).argmax()] * 3], edge + 1,
                         [1 << 30], [0], 0) is None


def test_add_lut_table() -> None:
    """ADD's table by definition (the portable kernel's input requantizations for all 256 bytes, times 2^lsh, then
    the output requantization's constants), and None - the generic mk_add_s8_dsp - when the proof fails."""
    from mcukit.codegen.ops._fixedpoint import multiply_by_quantized_multiplier

    args = ((5, -3), 20, (1 << 30, 3 << 29), (-1, -2), 1 << 30, -18, 7)
    table = add_lut_table(*args)
    assert table is not None and table.dtype == np.int32 and table.size == 515
    for k, (off, m, sh) in enumerate(zip(args[0], args[2], args[3])):
        for x in (-128, -1, 0, 1, 127):
            want = int(multiply_by_quantized_multiplier((x + off) << 20, m, sh, False)) * 2
            assert int(table[256 * k + (x & 0xFF)]) == want, (k, x)
    assert table[512:].tolist() == [1 << 30, (1 << 18) + 7 * (1 << 19), 19]
    assert add_lut_table(args[0], 20, args[2], args[3], 1 << 30, -22, 7) is None  # e > 21
    assert add_lut_table(args[0], 20, args[2], (0, 0), 1 << 30, 5, 7) is None  # (|T1| + |T2|) 2^6 too large
