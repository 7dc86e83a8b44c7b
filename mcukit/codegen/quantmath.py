"""Fixed-point "prepare" maths shared by every lowering.

A real multiplier M (e.g. input_scale * weight_scale / output_scale) becomes an int32 `multiplier` in [2^30, 2^31)
and a power-of-two `shift` with M ~= multiplier * 2^(shift - 31), exactly as TFLite's QuantizeMultiplier does:
frexp, round the Q31 mantissa half away from zero, and renormalise when rounding reaches 2^31.
"""

from __future__ import annotations

import math


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(multiplier, shift) with real ~= multiplier * 2**(shift - 31). shift > 0 means a left shift."""
    if real == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real)
    q = _round_half_away(mantissa * (1 << 31))
    if q == 1 << 31:  # the mantissa rounded up to 1.0
        q //= 2
        shift += 1
    if shift < -31:  # too small to represent: flush to zero as TFLite does
        return 0, 0
    if shift > 30:
        raise ValueError(f"multiplier {real} is too large for a Q31 representation")
    return int(q), int(shift)


def quantize_multiplier_smaller_than_one(real: float) -> tuple[int, int]:
    if not 0.0 <= real < 1.0:
        raise ValueError(f"expected a multiplier in [0, 1), got {real}")
    return quantize_multiplier(real)


def _round_half_away(x: float) -> int:
    # std::round semantics (C's round), which TFLite uses; Python's round() is banker's rounding.
    return math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)


def activation_range_s8(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """Clamp bounds for a fused activation on an int8 output, as TFLite's CalculateActivationRangeQuantized."""
    qmin, qmax = -128, 127

    def q(x: float) -> int:
        return zero_point + _round_half_away(x / scale)

    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, q(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(f"unsupported fused activation {activation}")
