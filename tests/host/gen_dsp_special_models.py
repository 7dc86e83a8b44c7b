"""Stored models for the optimized kernels' special cases, which the random sweep of gen_conv_models.py rarely draws:
3x3 depthwise with multiplier 1 (the DSP 3x3 and packed 3x3 kernels), 1x1 convolutions with many channels (the GEMM
kernels) and larger im2col convolutions. Run once; needs TensorFlow.

    .venv/bin/python tests/host/gen_dsp_special_models.py

Writes tests/data/ops/dsp_special/*.tflite and manifest.json (stamped with the TensorFlow/Keras versions), using the
same model builder and converter as gen_conv_models.py. tests/host/test_ops_dsp_special.py checks them on the host
(portable and DSP kernels, both references) and tests/target/dsp_sweep.py picks them up on the emulated boards.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_conv_models as gen  # a sibling script, not a package

SEED = 20261128
OUT = gen.DATA / "dsp_special"


def draw(rng: np.random.Generator, i: int) -> tuple[str, dict[str, Any]]:
    """(builder family, case) for case i: a third each of 3x3 depthwise, 1x1 conv and 3x3/5x5 conv."""
    act = gen.ACTS[i % 3]
    if i % 3 == 0:
        c = {"h": int(rng.integers(3, 10)), "w": int(rng.integers(3, 10)), "kernel": [3, 3],
             "strides": [int(rng.choice([1, 2]))] * 2, "dilation": [1, 1],
             "padding": "same" if i % 2 == 0 else "valid",
             "channels": int(rng.choice([1, 3, 4, 8, 16, 48, 67])), "depth_multiplier": 1}
        family = "depthwise"
    elif i % 3 == 1:
        c = {"h": int(rng.integers(2, 8)), "w": int(rng.integers(2, 8)), "kernel": [1, 1], "strides": [1, 1],
             "dilation": [1, 1], "padding": "same", "channels": int(rng.choice([8, 16, 17, 48, 64])),
             "filters": int(rng.choice([4, 8, 13, 48])), "groups": 1}
        family = "conv"
    else:
        k = int(rng.choice([3, 5]))
        c = {"h": int(rng.integers(k, 12)), "w": int(rng.integers(k, 12)), "kernel": [k, k],
             "strides": [int(rng.choice([1, 2]))] * 2, "dilation": [1, 1],
             "padding": "same" if i % 2 == 0 else "valid", "channels": int(rng.choice([1, 3, 8, 16])),
             "filters": int(rng.choice([4, 8, 16])), "groups": 1}
        family = "conv"
    c.update(batch=1, bias=bool(rng.random() < 0.85), per_channel=bool(i % 7 != 3), act=act,
             ranges=gen._ranges(rng, 1))
    return family, c


def main(count: int = 24) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    gen.fresh_dir(OUT)
    cases = []
    for i in range(count):
        rng = np.random.default_rng([SEED, i])
        family, c = draw(rng, i)
        buf, kinds = gen.single_op_model(family, c, rng)
        expected = "DEPTHWISE_CONV_2D" if family == "depthwise" else "CONV_2D"
        if kinds != [expected]:
            raise SystemExit(f"case {i}: converter produced {kinds}, expected [{expected}] ({c})")
        name = f"dsp_special_{i:03d}.tflite"
        (OUT / name).write_bytes(buf)
        cases.append({"file": name, "op": expected, "params": {**c, "family": family},
                      "sha256": hashlib.sha256(buf).hexdigest()})
    gen.write_manifest(OUT, "tests/host/gen_dsp_special_models.py", SEED, cases, "dsp_special")


if __name__ == "__main__":
    main()
