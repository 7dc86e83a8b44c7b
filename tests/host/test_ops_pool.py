"""Bit-exact sweep of AVERAGE_POOL_2D, MAX_POOL_2D (fused activations patched in) and MEAN (including equal
input/output quantization) against both references; see test_ops_conv.py for how the models were made."""

from __future__ import annotations

from typing import Any

import pytest
from test_ops_conv import check_case, op_cases, params_of


@pytest.mark.parametrize(("family", "case", "rounding"), op_cases("pool", "mean"))
def test_pool_family_bit_exact(family: str, case: dict[str, Any], rounding: str) -> None:
    check_case(family, case, rounding)


def test_sweep_covers_the_variants() -> None:
    pool = params_of("pool")
    assert {c["kind"] for c in pool} == {"avg", "max"}
    assert {(c["kind"], c["act"]) for c in pool} >= {(k, a) for k in ("avg", "max") for a in ("NONE", "RELU", "RELU6")}
    assert {c["padding"] for c in pool} == {"same", "valid"}
    assert any(c["pool"][0] % 2 == 0 for c in pool) and any(max(c["strides"]) > 1 for c in pool)
    mean = params_of("mean")
    assert {c["keepdims"] for c in mean} == {True, False}
    assert {c["equal_quant"] for c in mean} == {True, False}
