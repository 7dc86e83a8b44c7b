import math

import pytest

from mcukit.codegen.quantmath import activation_range_s8, quantize_multiplier


@pytest.mark.parametrize("real", [1e-6, 0.0007, 0.25, 0.5, 0.999, 1.0, 1.5, 3.3, 1000.0])
def test_multiplier_represents_real(real):
    m, s = quantize_multiplier(real)
    assert (1 << 30) <= m < (1 << 31)
    assert math.isclose(m * 2.0 ** (s - 31), real, rel_tol=2**-30)


def test_mantissa_rounding_up_to_one_renormalises():
    # Just below a power of two the Q31 mantissa rounds to 2^31, which does not fit: TFLite halves it, bumps shift.
    real = 1.0 - 2.0**-33
    m, s = quantize_multiplier(real)
    assert m == 1 << 30 and s == 1


def test_zero_and_tiny():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0**-40) == (0, 0)


def test_activation_ranges():
    assert activation_range_s8("NONE", 0.1, 3) == (-128, 127)
    assert activation_range_s8("RELU", 0.1, -5) == (-5, 127)
    assert activation_range_s8("RELU6", 0.1, -128) == (-128, -68)
    with pytest.raises(ValueError):
        activation_range_s8("TANH", 0.1, 0)
