"""Stored residual-block models for the CONV_2D + ADD fusion (mcukit/codegen/fusion.py). Run once; needs TensorFlow.

    .venv/bin/python tests/host/gen_fusion_models.py

Writes tests/data/ops/fusion/*.tflite and manifest.json (stamped with the TensorFlow/Keras versions), with the model
builder helpers and converter of gen_conv_models.py. Each case is a small residual structure whose ADD reads a
conv output: 3x3 SAME blocks (pad-mode tiles, window clipping at every border), odd widths (a short last tile),
input depths that are and are not multiples of 4 (the wide GEMM's direct and im2col paths), stride 2 with a 1x1
projection shortcut (ptr-mode tiles), a 5x5 VALID conv added to two 3x3 VALID ones, a grouped conv, a block whose skip
is the conv's own input (fused, but the output cannot go in place), and a conv whose output is also a model output
(must not be fused), and conv -> conv -> ADD chains streamed row by row (a 5x5 first conv that rules out writing over
the skip, 1x1 convs on both ends, a stride-2 first conv with a 5x5 second one, a stride-2 VALID second conv; the
converter turns dilated convs into SPACE_TO_BATCH_ND, so dilated rows are covered by the unit tests only).
tests/host/test_fusion.py checks them on the host; tests/unit/test_fusion_rules.py reads them.
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
OUT = gen.DATA / "fusion"

# name -> (input shape, expected number of fused pairs); the builders are in build()
CASES: dict[str, tuple[tuple[int, int, int], int]] = {
    "block3x3_c8": ((8, 9, 5), 1),
    "block3x3_c6_odd": ((7, 11, 3), 1),
    "proj_s2": ((9, 10, 8), 1),
    "proj_1x1_s1": ((6, 7, 16), 1),
    "valid5x5": ((12, 10, 4), 1),
    "grouped": ((6, 8, 8), 1),
    "self_skip": ((7, 6, 4), 1),
    "conv_is_output": ((6, 6, 4), 0),
    "stride2_per_tensor": ((9, 13, 6), 1),
    # conv -> conv -> ADD chains streamed row by row (ConvAdd.pre)
    "chain5x5_self": ((8, 7, 3), 1),
    "chain_1x1": ((6, 9, 5), 1),
    "chain_s2_5x5": ((11, 10, 8), 1),
    "chain_valid_s2": ((9, 10, 8), 1),
}


def build(name: str, shape: tuple[int, int, int]) -> Any:
    import keras
    from keras import layers as L

    x = keras.Input(shape)

    def conv(t: Any, filters: int, k: int, *, strides: int = 1, padding: str = "same", act: str | None = None,
             dilation: int = 1, groups: int = 1) -> Any:
        return L.Conv2D(filters, k, strides=strides, padding=padding, activation=act, dilation_rate=dilation,
                        groups=groups)(t)

    outputs: Any
    if name == "block3x3_c8":
        s = conv(x, 8, 3, act="relu")
        y = conv(conv(s, 8, 3, act="relu"), 8, 3)
        outputs = L.ReLU()(L.Add()([s, y]))
    elif name == "block3x3_c6_odd":
        s = conv(x, 6, 3, act="relu")
        y = conv(conv(s, 6, 3, act="relu"), 6, 3)
        outputs = L.ReLU(max_value=6.0)(L.Add()([y, s]))
    elif name == "proj_s2":
        h = conv(x, 16, 3, strides=2, act="relu")
        y = conv(h, 16, 3)
        p = conv(x, 16, 1, strides=2)
        outputs = L.ReLU()(L.Add()([y, p]))
    elif name == "proj_1x1_s1":
        y = conv(x, 12, 3)
        p = conv(x, 12, 1)
        outputs = L.Add()([y, p])
    elif name == "valid5x5":
        a = conv(x, 8, 5, padding="valid")
        b = conv(conv(x, 6, 3, padding="valid", act="relu"), 8, 3, padding="valid")
        outputs = L.Add()([a, b])
    elif name == "grouped":
        s = conv(x, 8, 1, act="relu")
        y = conv(s, 8, 3, groups=2)
        outputs = L.Add()([s, y])
    elif name == "self_skip":
        outputs = L.Add()([conv(x, 4, 3), x])
    elif name == "conv_is_output":
        s = conv(x, 4, 3, act="relu")
        y = conv(s, 4, 3)
        outputs = [L.Add()([s, y]), y]
    elif name == "stride2_per_tensor":
        s = conv(x, 8, 3, strides=2, act="relu")
        y = conv(s, 8, 3, padding="same")
        outputs = L.Add()([y, s])
    elif name == "chain5x5_self":  # the first conv reads 2 rows back: the output cannot go over the skip
        s = conv(x, 6, 3, act="relu")
        y = conv(conv(s, 6, 5, act="relu"), 6, 3)
        outputs = L.Add()([s, y])
    elif name == "chain_1x1":  # 1x1 convs on both ends (ptr-mode rows and tiles), written over the skip
        s = conv(x, 8, 3, act="relu")
        y = conv(conv(s, 12, 1, act="relu"), 8, 1)
        outputs = L.Add()([y, s])
    elif name == "chain_s2_5x5":  # a stride-2 first conv, a 5x5 second (5-row window), skip not a conv
        y = conv(conv(x, 8, 3, strides=2, act="relu"), 8, 5)
        outputs = L.Add()([y, L.AveragePooling2D(2, padding="same")(x)])
    elif name == "chain_valid_s2":  # a stride-2 VALID second conv: the window moves two rows, rows get dropped
        y = conv(conv(x, 8, 3, act="relu"), 8, 3, strides=2, padding="valid")
        outputs = L.Add()([L.MaxPooling2D(3, strides=2)(x), y])
    else:
        raise KeyError(name)
    return keras.Model(x, outputs)


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    gen.fresh_dir(OUT)
    cases = []
    for i, (name, (shape, fused)) in enumerate(CASES.items()):
        rng = np.random.default_rng([SEED, i])
        keras.utils.set_random_seed(int(rng.integers(0, 2**31 - 1)))
        model = build(name, shape)
        gen._randomize_weights(model, rng)
        c = {"ranges": gen._ranges(rng, 1), "per_channel": name != "stride2_per_tensor"}
        buf = gen.convert(model, [(1, *shape)], c, rng)
        kinds = gen.op_kinds(buf)
        if "ADD" not in kinds:
            raise SystemExit(f"{name}: converter produced {kinds}, no ADD")
        file = f"{name}.tflite"
        (OUT / file).write_bytes(buf)
        cases.append({"file": file, "name": name, "input_shape": list(shape), "fused": fused, "ops": kinds,
                      "per_channel": c["per_channel"], "sha256": hashlib.sha256(buf).hexdigest()})
    gen.write_manifest(OUT, "tests/host/gen_fusion_models.py", SEED, cases, "fusion")


if __name__ == "__main__":
    main()
