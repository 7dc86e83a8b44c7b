"""Stored models for the edge cases of the 3x3 depthwise kernels on compile-time forms (stride_w 1:
mk_depthwise_conv_3x3_pairs_s8_dsp / _pairs_relu_s8_dsp, stride_w 2: mk_depthwise_conv_3x3_folded_s8_dsp): channel
counts below 4 and not a multiple of 4 (the C tail group), widths and heights 1-3 (every pixel a border pixel),
stride 2 with even sizes (asymmetric 'same' padding: nothing before, one column/row after), 'valid' padding,
batch 2 (the row ring restarts per image), all three activations (the packed clamp), per-tensor and per-channel
weights, and the DS-CNN shape (64 channels, 25x5). Run once; needs TensorFlow.

    .venv/bin/python tests/host/gen_dsp_dw3x3_models.py

Writes tests/data/ops/dsp_dw3x3/*.tflite and manifest.json (stamped with the TensorFlow/Keras versions), with the
model builder and converter of gen_conv_models.py. tests/host/test_ops_dsp_dw3x3.py checks them on the host and
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
OUT = gen.DATA / "dsp_dw3x3"

# (h, w, channels, stride, padding, batch, act, per_channel)
SHAPES: tuple[tuple[int, int, int, int, str, int, str, bool], ...] = (
    (5, 5, 1, 1, "same", 1, "NONE", True),  # one channel: no full group at all
    (4, 2, 3, 1, "same", 1, "RELU", True),  # 3 channels, width 2
    (4, 1, 5, 1, "same", 1, "RELU6", True),  # one full group + 1, width 1
    (3, 3, 6, 2, "same", 1, "NONE", True),  # stride 2, odd size: padding 1 / 1
    (6, 6, 7, 2, "same", 1, "RELU", True),  # stride 2, even size: padding 0 / 1
    (4, 5, 12, 1, "same", 2, "RELU6", True),  # batch 2
    (7, 8, 13, 2, "valid", 1, "NONE", True),  # valid, stride 2, 3 full groups + 1
    (25, 5, 64, 1, "same", 1, "RELU", True),  # the DS-CNN layer
    (8, 8, 8, 2, "same", 2, "RELU6", False),  # per-tensor, stride 2 even, batch 2
    (3, 3, 9, 1, "valid", 1, "RELU", True),  # a 1x1 output
    (1, 7, 2, 1, "same", 1, "RELU6", True),  # height 1
    (2, 3, 20, 2, "same", 1, "NONE", False),  # 2 rows, stride 2
    (5, 4, 16, 1, "valid", 1, "RELU6", True),
    (6, 3, 4, 1, "same", 2, "NONE", True),  # exactly one group, batch 2
)


def case(i: int) -> dict[str, Any]:
    h, w, ch, stride, padding, batch, act, per_channel = SHAPES[i]
    rng = np.random.default_rng([SEED, i])
    return {"h": h, "w": w, "kernel": [3, 3], "strides": [stride, stride], "dilation": [1, 1], "padding": padding,
            "channels": ch, "depth_multiplier": 1, "batch": batch, "bias": i % 5 != 2, "per_channel": per_channel,
            "act": act, "ranges": gen._ranges(rng, 1)}


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    gen.store_family(OUT, "depthwise", "DEPTHWISE_CONV_2D", [case(i) for i in range(len(SHAPES))], SEED,
                     "tests/host/gen_dsp_dw3x3_models.py")


if __name__ == "__main__":
    main()
