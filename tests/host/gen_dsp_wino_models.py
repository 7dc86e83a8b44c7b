"""Stored models for the Winograd F(4, 3) conv kernel (mk_conv_wino_s8_dsp): 3-wide filters at stride 1 along the
width with input depths that are multiples of 4 - output widths that are not multiples of the 4-pixel tile (the
last tile's missing outputs dropped), widths 3 and 5 (short tiles, tile pairs across row ends), filter heights 1,
2, 3, 5, stride 2 and dilation 2 along the height, 'same' and 'valid' padding, batch 2, odd channel counts (the padding channel), every
activation, per-tensor and per-channel weights, and ResNet-like 16/32/64-channel layers. Run once; needs TensorFlow.

    .venv/bin/python tests/host/gen_dsp_wino_models.py

Writes tests/data/ops/dsp_wino/*.tflite and manifest.json (stamped with the TensorFlow/Keras versions), with the
model builder and converter of gen_conv_models.py. tests/host/test_ops_dsp_wino.py checks them on the host and
tests/target/dsp_sweep.py picks the directory up on the emulated boards.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_conv_models as gen  # a sibling script, not a package

SEED = 20261128
OUT = gen.DATA / "dsp_wino"

# (h, w, filter_h, stride_h, dilation_h, padding, channels, filters, batch, act, per_channel)
SHAPES: tuple[tuple[int, int, int, int, int, str, int, int, int, str, bool], ...] = (
    (8, 8, 3, 1, 1, "same", 4, 8, 1, "RELU", True),
    (7, 7, 3, 1, 1, "same", 8, 5, 1, "NONE", True),  # odd width, odd channel count
    (5, 9, 3, 1, 1, "valid", 12, 6, 1, "RELU6", True),  # valid: 7 outputs per row
    (6, 4, 1, 1, 1, "same", 16, 7, 2, "RELU", False),  # one filter row, batch 2, per-tensor
    (9, 6, 5, 2, 1, "same", 8, 4, 1, "NONE", True),  # filter height 5, stride 2 along the height
    (8, 5, 3, 1, 2, "same", 4, 3, 1, "RELU", True),  # dilation 2 along the height
    (3, 3, 3, 1, 1, "same", 4, 2, 1, "RELU6", True),  # width 3: one short tile per row, pairs across rows
    (4, 5, 3, 1, 1, "same", 8, 9, 1, "RELU", True),  # width 5: a full tile and a 1-pixel one per row
    (3, 5, 3, 1, 1, "valid", 20, 4, 1, "NONE", True),  # a single output row of 3
    (16, 16, 3, 1, 1, "same", 16, 16, 1, "RELU", True),  # ResNet-8's first stack
    (8, 8, 3, 1, 1, "same", 32, 32, 1, "NONE", True),
    (6, 6, 3, 1, 1, "same", 64, 10, 1, "RELU", True),  # k = 192
    (5, 7, 2, 1, 1, "same", 4, 6, 2, "NONE", False),  # even filter height: asymmetric padding, batch 2
    (7, 10, 3, 2, 1, "valid", 8, 8, 1, "RELU6", True),
)


def case(i: int) -> dict[str, Any]:
    h, w, fh, sh, dh, padding, ch, filters, batch, act, per_channel = SHAPES[i]
    rng = np.random.default_rng([SEED, i])
    return {"h": h, "w": w, "kernel": [fh, 3], "strides": [sh, 1], "dilation": [dh, 1], "padding": padding,
            "channels": ch, "filters": filters, "groups": 1, "batch": batch, "bias": i % 5 != 2,
            "per_channel": per_channel, "act": act, "ranges": gen._ranges(rng, 1)}


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    gen.store_family(OUT, "conv", "CONV_2D", [case(i) for i in range(len(SHAPES))], SEED,
                     "tests/host/gen_dsp_wino_models.py")


if __name__ == "__main__":
    main()
