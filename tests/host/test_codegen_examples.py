"""The example models end to end on the host: generated C == reference interpreter, bit for bit, both roundings.

On a mismatch the message names the first layer whose output differs (from a per-layer comparison).
"""

from __future__ import annotations

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("rounding", ["tflm", "litert"])
@pytest.mark.parametrize("name", ["kws", "resnet", "autoencoder"])
def test_example_bit_exact(name, rounding):
    from harness import check_bit_exact, example_tflite, layer_diffs, supported_or_skip

    model = example_tflite(name)
    supported_or_skip(model)
    report = check_bit_exact(model, rounding=rounding, samples=8, seed=0, check=False)
    if not report.ok:
        first = next((d for d in layer_diffs(model, rounding, inputs=report.inputs) if d.mismatches), None)
        where = (f"; first differing layer: op {first.op} {first.kind} ({first.mismatches}/{first.total}, "
                 f"max |diff| {first.max_abs_diff} vs LiteRT's intermediates)" if first else "")
        pytest.fail(report.describe() + where)
