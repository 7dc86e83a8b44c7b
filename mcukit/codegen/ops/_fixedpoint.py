"""gemmlowp/TFLite fixed-point primitives on numpy arrays, for computing lookup tables at compile time.

The same integer steps as mk_requant.h, vectorised over all 256 possible int8 inputs, so a unary op's table
holds exactly what the reference kernel would compute. Values are int32 held in int64 arrays; `wrap32`
reproduces two's-complement wrap-around where the C++ code adds or shifts raw int32 values.

Every function works element-wise on arrays (or scalars) and returns int64 arrays of int32 values.
"""

from __future__ import annotations

import numpy as np

I32_MIN = -(1 << 31)
I32_MAX = (1 << 31) - 1


def _a(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def wrap32(x) -> np.ndarray:
    x = _a(x)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _div_pow2_trunc(x: np.ndarray, e: int) -> np.ndarray:
    """x / 2^e truncated toward zero (C integer division)."""
    return np.where(x >= 0, x >> e, -((-x) >> e))


def srdhm(a, b) -> np.ndarray:
    """SaturatingRoundingDoublingHighMul for int32: round(a * b / 2^31), ties away from zero."""
    a, b = _a(a), _a(b)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    r = _div_pow2_trunc(ab + nudge, 31)
    return np.where((a == b) & (a == I32_MIN), I32_MAX, r)


def rdbpot(x, exponent: int) -> np.ndarray:
    """RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero."""
    x = _a(x)
    if exponent == 0:
        return x
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def srmbypot(x, exponent: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT<exponent> for int32."""
    x = _a(x)
    if exponent == 0:
        return x
    if exponent < 0:
        return rdbpot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, I32_MAX, np.where(x < -threshold, I32_MIN, x << exponent))


def multiply_by_quantized_multiplier(x, multiplier: int, shift: int, single_rounding: bool) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier (also ...GreaterThanOne / ...SmallerThanOneExp), either build."""
    x = _a(x)
    if single_rounding:
        total = 31 - shift
        return (x * multiplier + (1 << (total - 1))) >> total
    left = max(shift, 0)
    right = max(-shift, 0)
    return rdbpot(srdhm(wrap32(x << left), multiplier), right)
