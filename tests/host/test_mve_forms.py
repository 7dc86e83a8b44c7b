"""The compile-time forms of the Helium kernels (mcukit/codegen/ops/_isa.py) and the arithmetic of their vector
epilogue, checked in numpy (the kernels themselves only run on qemu-m55: tests/target/test_dsp_qemu.py).

- mve_gemm_weight_layout: read back the way mk_mve_block_4x2 reads it (4-channel groups, 16-byte chunks), the dot
  products with random rows equal the plain OHWI ones; the padding is zero.
- mve_gemm_rq_table / mve_dw3x3_forms: the epilogue of mk_mve_gemm.h modelled instruction by instruction (VSHL
  wrapping, VQRDMULH, the negative-tie fix, VRSHL) on the table's lanes equals TFLite's double-rounding
  MultiplyByQuantizedMultiplier for random and edge accumulators, shifts and multipliers; the depthwise forms put
  each channel's weights, folded bias and constants where the kernel reads them.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcukit.codegen.ops._fixedpoint import multiply_by_quantized_multiplier
from mcukit.codegen.ops._isa import (
    fold_input_offset,
    mve_dw3x3_forms,
    mve_dw3x3_scratch_bytes,
    mve_gemm_rq_table,
    mve_gemm_weight_layout,
    mve_im2col_scratch_bytes,
)

I32 = np.int64


def _wrap(x: np.ndarray) -> np.ndarray:
    return ((np.asarray(x, I32) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _epilogue(acc: np.ndarray, bias: np.ndarray, left: np.ndarray, mult: np.ndarray, emask: np.ndarray,
              rneg: np.ndarray) -> np.ndarray:
    """mk_mve_rq_pair lane by lane, without the output offset and clamp."""
    x = _wrap(_wrap(acc + bias) << left)  # VADD, VSHL by a non-negative lane: wraps
    x = (2 * x * mult + (1 << 31)) >> 32  # VQRDMULH (no saturation: mult >= 0)
    x = np.minimum(x, (1 << 31) - 1)
    x = x + ((x >> 31) & emask)  # -1 for a negative x where e > 0
    e = -rneg
    return np.where(e > 0, (x + np.left_shift(1, np.maximum(e - 1, 0))) >> e, x)  # VRSHL by -e, exact


@pytest.mark.parametrize("seed", range(6))
def test_gemm_layout_reads_back(seed: int) -> None:
    rng = np.random.default_rng(seed)
    oc, kh, kw, ic = int(rng.integers(1, 11)), int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 40))
    w = rng.integers(-127, 128, size=(oc, kh, kw, ic)).astype(np.int8)
    k = kh * kw * ic
    kp, ocp = (k + 15) // 16 * 16, (oc + 3) // 4 * 4
    flat = mve_gemm_weight_layout(w)
    assert flat.size == kp * ocp and mve_im2col_scratch_bytes(kh, kw, ic) == 2 * max(1, min(8, 256 // kp)) * kp
    x = rng.integers(-128, 128, size=kp).astype(np.int64)
    got = np.zeros(ocp, np.int64)
    for g in range(ocp // 4):
        for chunk in range(kp // 16):
            for j in range(4):
                base = (g * (kp // 16) + chunk) * 64 + 16 * j
                got[4 * g + j] += flat[base:base + 16].astype(np.int64) @ x[16 * chunk:16 * chunk + 16]
    assert np.array_equal(got[:oc], w.reshape(oc, -1).astype(np.int64) @ x[:k])
    assert not got[oc:].any() and sorted(flat[flat != 0]) == sorted(w[w != 0])


def _cases(rng: np.random.Generator, c: int) -> tuple[list[int], list[int]]:
    shifts = [int(s) for s in rng.integers(-31, 8, size=c)]
    shifts[: min(c, 3)] = [0, -1, 7][: min(c, 3)]
    mults = [int(m) for m in rng.integers(1 << 30, (1 << 31) - 1, size=c)]
    mults[0] = (1 << 31) - 1
    return mults, shifts


def test_gemm_table_flags_all_negative_shifts() -> None:
    folded = np.arange(6, dtype=np.int64)
    assert mve_gemm_rq_table(folded, [1 << 30] * 6, [-1, -2, -3, -1, -5, -9])[-1] == 1
    assert mve_gemm_rq_table(folded, [1 << 30] * 6, [-1, -2, 0, -1, -5, -9])[-1] == 0
    assert mve_gemm_rq_table(folded, [1 << 30] * 6, [-1, -2, -1, -1, 3, -9])[-1] == 0


@pytest.mark.parametrize("seed", range(4))
def test_gemm_table_epilogue_equals_double_rounding(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    c = int(rng.integers(1, 13))
    w = rng.integers(-127, 128, size=(c, 1, 1, 8)).astype(np.int8)
    bias = rng.integers(-(1 << 20), 1 << 20, size=c)
    folded = fold_input_offset(bias, w, int(rng.integers(-127, 129)))
    mults, shifts = _cases(rng, c)
    table = mve_gemm_rq_table(folded, mults, shifts).astype(I32)
    assert table[-1] == (1 if all(s < 0 for s in shifts) else 0)  # flags: the epilogue without VSHL and AND
    t = table[:-1].reshape(-1, 5, 4)  # [group][param][lane]
    lanes = t.transpose(1, 0, 2).reshape(5, -1)[:, :c]  # [param][channel]
    assert np.array_equal(lanes[0], folded) and not t.transpose(1, 0, 2).reshape(5, -1)[:, c:].any()
    edges = np.array([0, 1, -1, (1 << 31) - 1, -(1 << 31), 1 << 20, -(1 << 20) - 1], I32)
    accs = np.concatenate([edges, rng.integers(-(1 << 31), 1 << 31, size=400)])
    for ch in range(c):
        got = _epilogue(accs, lanes[0, ch], lanes[1, ch], lanes[2, ch], lanes[3, ch], lanes[4, ch])
        want = multiply_by_quantized_multiplier(_wrap(accs + folded[ch]), mults[ch], shifts[ch], False)
        assert np.array_equal(got, want), (ch, shifts[ch])


def test_tie_fix_and_vrshl_equal_rounding_divide() -> None:
    """x + (x < 0 ? -1 : 0) then VRSHL by -e (round half up, exact) is RoundingDivideByPOT (ties away from zero)
    for every e in 1..31, ties of both signs and the int32 extremes the multiply can produce."""
    from mcukit.codegen.ops._fixedpoint import rdbpot

    rng = np.random.default_rng(3)
    for e in range(1, 32):
        ties = np.array([(2 * k + 1) << (e - 1) for k in range(-3, 3)], I32)
        x = _wrap(np.concatenate([ties, ties + 1, ties - 1, [-(1 << 31) + 1, (1 << 31) - 1, 0, -1, 1],
                                  rng.integers(-(1 << 31) + 1, 1 << 31, size=200)]))
        fixed = x + ((x >> 31) & -1)
        got = (fixed + (1 << (e - 1))) >> e
        assert np.array_equal(got, rdbpot(x, e)), e


@pytest.mark.parametrize("all_negative", [False, True])
def test_dw3x3_forms_place_channels(all_negative: bool) -> None:
    rng = np.random.default_rng(7)
    c = 21
    w = rng.integers(-127, 128, size=(1, 3, 3, c)).astype(np.int8)
    bias = rng.integers(-1000, 1000, size=c)
    mults, shifts = _cases(rng, c)
    if all_negative:
        shifts = [-1 - abs(s) for s in shifts]
    w16, table = mve_dw3x3_forms(w, bias, -5, mults, shifts, -7, -3, 99)
    groups = (c + 7) // 8
    assert w16.dtype == np.int16 and w16.size == groups * 72 and table.size == groups * 52 + 1
    assert table[-1] == (1 if all_negative else 0)  # the flags word: the epilogue without VSHL and AND
    wg = w16.reshape(groups, 9, 8)
    tw = table[:-1].reshape(groups, 52)
    tg = tw[:, :40].astype(I32).reshape(groups, 5, 2, 4)  # [group][param][even/odd][lane]
    consts = tw[:, 40:].copy().view(np.int16).reshape(groups, 3, 8)  # output offset, act_min, act_max
    assert (consts == np.array([-7, -3, 99], np.int16)[None, :, None]).all()
    folded = bias + -5 * w.reshape(9, c).astype(np.int64).sum(axis=0)
    for ch in range(groups * 8):
        g, j = divmod(ch, 8)
        params = tg[g, :, j % 2, j // 2]
        if ch >= c:
            assert not wg[g, :, j].any() and not params.any()
            continue
        assert np.array_equal(wg[g, :, j], w.reshape(9, c)[:, ch])
        assert list(params) == [folded[ch], max(shifts[ch], 0), mults[ch], -1 if shifts[ch] < 0 else 0,
                                min(shifts[ch], 0)]


def test_dw3x3_fast_epilogue_and_int16_clamp_equal_reference() -> None:
    """The depthwise kernel's cheaper epilogue (flags bit 0: every shift < 0, so no VSHL and no AND) and its output
    stage (VQMOVNB/VQMOVNT saturating to int16, VQADD.S16 of the offset, clamp in int16) equal the reference
    requantization, offset and clamp for random and extreme accumulators."""
    rng = np.random.default_rng(11)
    edges = np.array([0, 1, -1, (1 << 31) - 1, -(1 << 31), 1 << 20, -(1 << 20) - 1], I32)
    accs = np.concatenate([edges, rng.integers(-(1 << 31), 1 << 31, size=2000)])
    for _ in range(40):
        shift = int(rng.integers(-31, 0))
        mult = int(rng.integers(1 << 30, (1 << 31) - 1))
        oo = int(rng.integers(-128, 128))
        lo = int(rng.integers(-128, 0))
        hi = int(rng.integers(lo, 128))
        x = (2 * _wrap(accs) * mult + (1 << 31)) >> 32  # VQRDMULH
        x = x + (x >> 31)  # the tie fix without the AND: e > 0 in every lane
        e = -shift
        x = (x + (1 << (e - 1))) >> e  # VRSHL
        n = np.clip(x, -(1 << 15), (1 << 15) - 1)  # VQMOVNB/T.S32
        n = np.clip(n + oo, -(1 << 15), (1 << 15) - 1)  # VQADD.S16
        got = np.clip(n, lo, hi)
        want = np.clip(multiply_by_quantized_multiplier(_wrap(accs), mult, shift, False) + oo, lo, hi)
        assert np.array_equal(got, want), (shift, oo, lo, hi)


def test_dw3x3_scratch_bytes() -> None:
    # three ring rows of ceil(c / 8) groups x ((out_w - 1) stride + 3) columns x 8 bytes
    assert mve_dw3x3_scratch_bytes(64, 5, 1) == 3 * 8 * 7 * 8
    assert mve_dw3x3_scratch_bytes(21, 4, 2) == 3 * 3 * 9 * 8


def test_im2col_scratch_bytes() -> None:
    # rows of kp = k rounded up to 16 for max(1, min(8, 256 // kp)) pixel pairs: at most 512 bytes or one pair
    assert mve_im2col_scratch_bytes(3, 3, 3) == 2 * 8 * 32  # MobileNet's first layer: 8 pairs
    assert mve_im2col_scratch_bytes(10, 4, 1) == 2 * 5 * 48  # DS-CNN's first layer
    assert mve_im2col_scratch_bytes(3, 3, 16) == 2 * 1 * 144  # one pair, the two rows it always had
    assert mve_im2col_scratch_bytes(5, 5, 32) == 2 * 800
