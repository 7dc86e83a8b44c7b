"""int8 -> int8 unary activations -> one 256-entry lookup table each, evaluated by mk_lut_s8.

Each table re-implements, in numpy, the arithmetic of the reference kernel for all 256 inputs (it never calls
the reference interpreter). What the references do, measured against both (tests/host/test_ops_activation.py,
docs/kernels-elementwise.md):

- LOGISTIC, TANH: both TFLite Micro and ai-edge-litert BUILTIN_REF fill a float32 table (dequantize, expf /
  tanhf, multiply by 1/output_scale, round half away, add zero point, clamp) - not gemmlowp fixed point. The
  table is the whole op, so mcukit's kernel stays integer-only.
- HARD_SWISH: TFLite's int16 fixed-point algorithm (both references).
- LEAKY_RELU: two multipliers (identity, alpha) computed from float32 scale arithmetic, double rounding (both).
- RELU, RELU_N1_TO_1: requantize input -> output scale (double rounding), clamp to the activation's range.
- RELU6: the references DIFFER. LiteRT requantizes like RELU and clamps to [0, 6]. TFLite Micro ignores the
  output quantization: it clamps the raw input to [z_in, z_in + round(6 / s_in)] and copies it. `options.rounding`
  ("tflm" | "litert") picks the oracle to match.
- int8 -> int8 QUANTIZE (quantize.py): requantize with double rounding (both).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mcukit.codegen.kernel_call import CArray, KernelCall, LowerOptions, array, tensor
from mcukit.codegen.ops import _fixedpoint as fp
from mcukit.codegen.ops._libm import expf, tanhf
from mcukit.codegen.ops.conv import fields, require_int8, scale_zp, unsupported
from mcukit.codegen.quantmath import quantize_multiplier
from mcukit.ir.graph import Graph, LeakyReluOptions, Op

KINDS = ("LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "RELU", "RELU6", "RELU_N1_TO_1")

INPUTS = np.arange(-128, 128, dtype=np.int64)  # every int8 value, in order
F32 = np.float32


def to_table(outputs: np.ndarray) -> np.ndarray:
    """Outputs for INPUTS (in order -128..127) -> the table indexed by the input's bit pattern (uint8)."""
    table = np.empty(256, dtype=np.int8)
    table[INPUTS & 0xFF] = np.clip(outputs, -128, 127).astype(np.int8)
    return table


def round_half_away_f32(x: np.ndarray) -> np.ndarray:
    """C's roundf on float32 values, exactly (no float64 detour that could move a tie)."""
    x = np.asarray(x, dtype=F32)
    a = np.abs(x)
    r = np.floor(a)
    r = r + (a - r >= F32(0.5)).astype(F32)
    return np.copysign(r, x)


def float_table(fn: Callable[[np.ndarray], np.ndarray], s_in: float, z_in: int, s_out: float, z_out: int
                ) -> np.ndarray:
    """TFLite's LUTPopulate<int8_t>: float32 dequantize -> fn -> requantize, for all 256 inputs."""
    inverse_scale = F32(1.0) / F32(s_out)
    dequantized = F32(s_in) * (INPUTS - z_in).astype(F32)
    transformed = np.asarray(fn(dequantized), dtype=F32)
    rescaled = round_half_away_f32(transformed * inverse_scale)
    return np.clip(rescaled.astype(np.int64) + z_out, -128, 127)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return F32(1.0) / (F32(1.0) + expf(-x))


def requantize_outputs(s_in: float, z_in: int, s_out: float, z_out: int) -> np.ndarray:
    """out = z_out + MultiplyByQuantizedMultiplier(x - z_in, s_in / s_out), double rounding (unclamped)."""
    m, s = quantize_multiplier(float(s_in) / float(s_out))
    return fp.multiply_by_quantized_multiplier(INPUTS - z_in, m, s, single_rounding=False) + z_out


def relu_x_outputs(s_in: float, z_in: int, s_out: float, z_out: int, lo: float, hi: float | None) -> np.ndarray:
    """TFLite's ReluX on int8: requantize, then clamp to the activation range quantized with roundf."""
    qmin = max(-128, z_out + int(round_half_away_f32(F32(lo) / F32(s_out))))
    qmax = 127 if hi is None else min(127, z_out + int(round_half_away_f32(F32(hi) / F32(s_out))))
    return np.clip(requantize_outputs(s_in, z_in, s_out, z_out), qmin, qmax)


def relu6_tflm_outputs(s_in: float, z_in: int) -> np.ndarray:
    """TFLite Micro's RELU6: clamp the raw input to [z_in, quantized 6.0 on the input's scale]."""
    six = z_in + int(round_half_away_f32(F32(6.0) / F32(s_in)))
    return np.clip(INPUTS, z_in, min(six, 127))


def leaky_relu_outputs(s_in: float, z_in: int, s_out: float, z_out: int, alpha: float) -> np.ndarray:
    # The references compute both real multipliers in float32 (scale * alpha / scale), then widen to double.
    m_alpha, s_alpha = quantize_multiplier(float(F32(F32(s_in) * F32(alpha)) / F32(s_out)))
    m_id, s_id = quantize_multiplier(float(F32(s_in) / F32(s_out)))
    x = INPUTS - z_in
    pos = fp.multiply_by_quantized_multiplier(x, m_id, s_id, single_rounding=False)
    neg = fp.multiply_by_quantized_multiplier(x, m_alpha, s_alpha, single_rounding=False)
    return np.where(x >= 0, pos, neg) + z_out


def _downscale_to_int16(m: int) -> int:
    """TFLite's DownScaleInt32ToInt16Multiplier."""
    if m >= (1 << 31) - 1 - (1 << 15):
        return (1 << 15) - 1
    return (m + (1 << 15)) >> 16


def _srdhm16(a: np.ndarray, b) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    ab = a * int(b)
    nudge = np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    t = ab + nudge
    r = np.where(t >= 0, t >> 15, -((-t) >> 15))
    return np.where((a == b) & (a == -(1 << 15)), (1 << 15) - 1, r)


def _sdhm16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SaturatingDoublingHighMul for int16 (truncating: TFLite uses it to cancel the rounding bias)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    r = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == b) & (a == -(1 << 15)), (1 << 15) - 1, r)


def _sat_left_shift16(v: np.ndarray, amount: int) -> np.ndarray:
    return np.clip(np.asarray(v, dtype=np.int64) * (1 << amount), -(1 << 15), (1 << 15) - 1)


def hard_swish_outputs(s_in: float, z_in: int, s_out: float, z_out: int) -> np.ndarray:
    """TFLite's int8 HARD_SWISH: x * relu6(x + 3) / 6 in int16 fixed point."""
    hires_input_scale = F32(1.0 / 128.0) * F32(s_in)
    reluish_scale = F32(3.0) / F32(32768.0)
    out_m, out_e = quantize_multiplier(float(F32(hires_input_scale / F32(s_out))))
    if out_e > 0:
        raise ValueError("HARD_SWISH output multiplier above 1 (TFLite refuses it too)")
    out_m16 = _downscale_to_int16(out_m)
    rel_m, rel_e = quantize_multiplier(float(F32(hires_input_scale / reluish_scale)))
    rel_m16 = _downscale_to_int16(rel_m)
    hires = (INPUTS - z_in) * 128
    preshift_output = _srdhm16(hires, out_m16)
    reluish = hires
    if rel_e > 0:
        reluish = _sat_left_shift16(reluish, rel_e - 1)
    reluish = _srdhm16(reluish, rel_m16)
    if rel_e > 0:
        reluish = _sat_left_shift16(reluish, 1)
    if rel_e < 0:
        reluish = fp.rdbpot(reluish, -rel_e)
    reluish = (reluish + (1 << 15)) >> 1
    preshift = _sdhm16(reluish, preshift_output)
    return fp.rdbpot(preshift, -out_e) + z_out


def activation_table(op: Op, s_in: float, z_in: int, s_out: float, z_out: int, rounding: str) -> np.ndarray:
    """The int8 table (indexed by uint8 bit pattern) for a unary activation op."""
    kind = op.kind
    if kind == "LOGISTIC":
        return to_table(float_table(_sigmoid, s_in, z_in, s_out, z_out))
    if kind == "TANH":
        return to_table(float_table(tanhf, s_in, z_in, s_out, z_out))
    if kind == "HARD_SWISH":
        try:
            return to_table(hard_swish_outputs(s_in, z_in, s_out, z_out))
        except ValueError as e:
            raise unsupported(op, str(e)) from e
    if kind == "LEAKY_RELU":
        opts = op.options
        alpha = opts.alpha if isinstance(opts, LeakyReluOptions) else 0.2
        return to_table(leaky_relu_outputs(s_in, z_in, s_out, z_out, alpha))
    if kind == "RELU":
        return to_table(relu_x_outputs(s_in, z_in, s_out, z_out, 0.0, None))
    if kind == "RELU_N1_TO_1":
        return to_table(relu_x_outputs(s_in, z_in, s_out, z_out, -1.0, 1.0))
    if kind == "RELU6":
        if rounding == "tflm":
            return to_table(relu6_tflm_outputs(s_in, z_in))
        return to_table(relu_x_outputs(s_in, z_in, s_out, z_out, 0.0, 6.0))
    raise unsupported(op, "not a unary activation")


def lut_call(op: Op, table: np.ndarray, size: int) -> KernelCall:
    return KernelCall(
        kernel="mk_lut_s8",
        params_type="mk_lut_params",
        params=fields(size=size, table=array("lut")),
        args=(tensor(op.inputs[0]), tensor(op.outputs[0])),
        arrays=(CArray("lut", "int8_t", table),),
        inplace_inputs=(0,),
        macs=0,
    )


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    x = require_int8(op, graph.op_inputs(op)[0], "input")
    y = require_int8(op, graph.op_outputs(op)[0], "output")
    if x.size != y.size:
        raise unsupported(op, "input and output sizes differ")
    for t in (x, y):
        if t.quant is not None and t.quant.per_channel:
            raise unsupported(op, f"per-channel quantization of {t.name!r}")
    s_in, z_in = scale_zp(x)
    s_out, z_out = scale_zp(y)
    return lut_call(op, activation_table(op, s_in, z_in, s_out, z_out, options.rounding), x.size)
