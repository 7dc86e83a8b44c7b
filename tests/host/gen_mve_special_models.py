"""Stored models for the Helium kernels' special cases (firmware/src/kernels/mve/): the branches of the GEMM conv
kernels (1x1 with pixel rows read in place, contiguous or strided; im2col rows padded to 16 bytes; channel groups
of 4 with a partial last group; an odd pixel count; batch 2; window rows clipped by padding; dilation) and of the 3x3
depthwise kernel (whole groups of 8 channels and a partial one, borders, strides 1/2/3 - pixel pairs and single
pixels -, odd widths, batch 2, the all-negative-shift and the general epilogue).
Each case is listed explicitly with the branch it is there for. Run once; needs TensorFlow.

    .venv/bin/python tests/host/gen_mve_special_models.py

Writes tests/data/ops/mve_special/*.tflite and manifest.json (stamped with the TensorFlow/Keras versions), with the
same model builder and converter as gen_conv_models.py. tests/target/dsp_sweep.py picks the family up on every
emulated board (qemu-m55: the Helium kernels; qemu-m4/m7: the DSP ones), in both rounding modes.
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

SEED = 20261129
OUT = gen.DATA / "mve_special"


def _conv(why: str, h: int, w: int, k: int | tuple[int, int], cin: int, cout: int, stride: int = 1, padding: str = "same",
          dilation: int = 1, batch: int = 1, **override: Any) -> tuple[str, str, dict[str, Any]]:
    kernel = [k, k] if isinstance(k, int) else list(k)
    return why, "conv", {"h": h, "w": w, "kernel": kernel, "strides": [stride, stride], "dilation": [dilation] * 2,
                         "padding": padding, "channels": cin, "filters": cout, "groups": 1, "batch": batch,
                         **override}


def _dw(why: str, h: int, w: int, c: int, stride: int = 1, padding: str = "same",
        batch: int = 1, **override: Any) -> tuple[str, str, dict[str, Any]]:
    return why, "depthwise", {"h": h, "w": w, "kernel": [3, 3], "strides": [stride, stride], "dilation": [1, 1],
                              "padding": padding, "channels": c, "depth_multiplier": 1, "batch": batch, **override}


# Large weights, a narrow activation and a wide input: real multipliers >= 0.5 on some channels, so shifts >= 0 and
# the 3x3 depthwise kernel and the GEMM group loop run their general epilogue (VSHL and the emask AND) instead of
# the all-negative one.
_BIG_M = {"wscale": 150.0, "act": "RELU6", "ranges": [[-10.0, 10.0]]}


CASES = [
    _conv("1x1 in place, contiguous rows, partial last channel group, odd pixel count", 5, 5, 1, 32, 10),
    _conv("1x1 in place, strided pixel rows (stride 2), K = 3 chunks", 7, 6, 1, 48, 12, stride=2),
    _conv("1x1 in place, batch 2, pixel pairs across the batch boundary", 3, 3, 1, 16, 8, batch=2),
    _conv("1x1 with in_c % 16 != 0: im2col rows padded (K 24 -> 32)", 4, 5, 1, 24, 16),
    _conv("1x1, in_c 8 (MobileNet's first pointwise): one padded chunk", 6, 6, 1, 8, 16),
    _conv("3x3 im2col, in_c 1 (K 9 -> 16), SAME borders", 9, 7, 3, 1, 8),
    _conv("3x3 im2col, in_c 3 stride 2 (MobileNet's first conv), odd out_c", 11, 10, 3, 3, 7, stride=2),
    _conv("5x5 im2col, window rows clipped on both sides (w < filter)", 6, 4, 5, 4, 12),
    _conv("3x3 im2col, dilation 2 (the per-tap fill)", 9, 9, 3, 6, 8, dilation=2),
    _conv("3x3 im2col, batch 2, VALID", 6, 7, 3, 16, 16, padding="valid", batch=2),
    _conv("10x4 im2col, in_c 1, stride 2 (DS-CNN's first conv)", 15, 10, (10, 4), 1, 12, stride=2),
    _dw("3x3 depthwise, whole groups only (16 channels), interior and border windows", 8, 9, 16),
    _dw("3x3 depthwise, 24 channels = 3 groups, stride 2", 9, 8, 24, stride=2),
    _dw("3x3 depthwise, 21 channels: partial last group on interior windows", 6, 6, 21),
    _dw("3x3 depthwise, batch 2, VALID (interior windows only)", 5, 6, 8, padding="valid", batch=2),
    _dw("3x3 depthwise, 1x1 map: every tap but the centre is padding", 1, 1, 12),
    _dw("3x3 depthwise, odd width (pixel pairs + the single-pixel loop), shifts >= 0: general epilogue", 6, 7, 32,
        **_BIG_M),
    _dw("3x3 depthwise, stride 2 pairs, odd output width, 16 channels", 7, 9, 16, stride=2),
    _dw("3x3 depthwise, stride 3: single pixels only", 8, 10, 16, stride=3),
    _dw("3x3 depthwise, stride 2, partial last group (21 channels), batch 2, general epilogue", 6, 8, 21, stride=2,
        batch=2, **_BIG_M),
    _dw("3x3 depthwise, one pixel pair per row, padding on both sides", 3, 2, 8),
    _dw("3x3 depthwise, stride 2 VALID, even output width, 40 channels", 7, 9, 40, stride=2, padding="valid"),
    _conv("1x1 in place, shifts >= 0: the GEMM group loop's general epilogue, odd pixel count", 3, 5, 1, 32, 12,
          **_BIG_M),
    _conv("5x5 im2col, in_c 2: 10-byte window rows clipped on both sides (short-row copy), shifts >= 0", 5, 3, 5, 2,
          8, **_BIG_M),
]


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    gen.fresh_dir(OUT)
    cases = []
    for i, (why, family, base) in enumerate(CASES):
        rng = np.random.default_rng([SEED, i])
        override = {k: base.pop(k) for k in ("wscale", "act", "ranges") if k in base}
        c = dict(base, bias=bool(i % 5 != 2), per_channel=bool(i % 7 != 3), act=gen.ACTS[i % 3],
                 ranges=gen._ranges(rng, 1))
        c.update({k: v for k, v in override.items() if k != "wscale"})
        if "wscale" in override:
            c["wscale"] = override["wscale"]
        buf, kinds = gen.single_op_model(family, c, rng, scale_filters=override.get("wscale"))
        expected = "DEPTHWISE_CONV_2D" if family == "depthwise" else "CONV_2D"
        if kinds != [expected]:
            raise SystemExit(f"case {i}: converter produced {kinds}, expected [{expected}] ({c})")
        name = f"mve_special_{i:03d}.tflite"
        (OUT / name).write_bytes(buf)
        cases.append({"file": name, "op": expected, "why": why, "params": {**c, "family": family},
                      "sha256": hashlib.sha256(buf).hexdigest()})
    gen.write_manifest(OUT, "tests/host/gen_mve_special_models.py", SEED, cases, "mve_special")


if __name__ == "__main__":
    main()
