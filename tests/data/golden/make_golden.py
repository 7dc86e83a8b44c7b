"""Regenerate the golden vectors in this folder: tiny int8 models, random inputs, both oracles' outputs.

    .venv/bin/python tests/data/golden/make_golden.py

Writes <name>.tflite, <name>.npz (arrays `input_<k>`, `tflm_<j>`, `litert_<j>`) and golden.json (versions that
made them, model hashes, whether the oracles agreed). tests/unit/test_reference.py re-runs both oracles and
compares bit for bit when the installed versions equal the stamped ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SAMPLES = 16


def _models():
    import keras

    layers = keras.layers

    def conv_block():
        i = keras.Input((8, 8, 3), batch_size=1)
        x = layers.Conv2D(6, 3, padding="same", activation="relu")(i)
        y = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
        x = layers.Add()([x, y])
        x = layers.AveragePooling2D(2)(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Flatten()(x)
        x = layers.Dense(5)(x)
        return keras.Model(i, layers.Softmax()(x)), False

    def fc_stack():  # FULLY_CONNECTED rounds differently in the two oracles: the goldens keep both
        i = keras.Input((20,), batch_size=1)
        x = layers.Dense(16, activation="relu", bias_initializer="random_normal")(i)
        x = layers.Dense(12, activation="relu", bias_initializer="random_normal")(x)
        return keras.Model(i, layers.Dense(20, bias_initializer="random_normal")(x)), False

    def float_edges():  # float input/output: QUANTIZE and DEQUANTIZE at the model's edges
        i = keras.Input((6, 6, 2), batch_size=1)
        x = layers.Conv2D(4, 3, padding="valid")(i)
        x = layers.GlobalAveragePooling2D()(x)
        return keras.Model(i, layers.Activation("sigmoid")(x)), True

    return {"conv_block": conv_block, "fc_stack": fc_stack, "float_edges": float_edges}


def _convert(model, float_io: bool, seed: int) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    shapes = [tuple(int(d) for d in t.shape) for t in model.inputs]

    def representative():
        for _ in range(32):
            yield [rng.normal(0.0, 1.0, size=s).astype(np.float32) for s in shapes]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return conv.convert()


def _inputs(model_bytes: bytes, seed: int) -> list[np.ndarray]:
    from mcukit.ir.reader import parse_tflite

    rng = np.random.default_rng(seed)
    out = []
    for t in parse_tflite(model_bytes).input_tensors:
        if t.dtype == "int8":
            out.append(rng.integers(-128, 128, size=(SAMPLES, *t.shape), dtype=np.int8))
        else:
            out.append(rng.normal(0.0, 1.0, size=(SAMPLES, *t.shape)).astype(np.float32))
    return out


def main() -> int:
    import keras
    import tensorflow as tf

    from mcukit.reference import golden

    stamp: dict = {"schema": "mcukit.golden-set/1", "samples": SAMPLES, "models": {}, "converter": tf.__version__}
    for seed, (name, build) in enumerate(_models().items()):
        keras.utils.set_random_seed(seed)
        model, float_io = build()
        tflite = _convert(model, float_io, seed)
        g = golden(tflite, _inputs(tflite, 100 + seed))
        if g["outputs"]["tflm"] is None:
            print("tflite-micro is not installed: cannot make goldens", file=sys.stderr)
            return 1
        (HERE / f"{name}.tflite").write_bytes(tflite)
        arrays = {f"input_{k}": a for k, a in enumerate(g["inputs"])}
        for oracle in ("tflm", "litert"):
            arrays.update({f"{oracle}_{j}": a for j, a in enumerate(g["outputs"][oracle])})
        np.savez_compressed(HERE / f"{name}.npz", **arrays)
        stamp["versions"] = g["versions"]
        stamp["models"][name] = {"sha256": g["model_sha256"], "agree": g["agree"]}
        print(f"{name}: {len(tflite)} bytes, oracles agree: {g['agree']}")
    (HERE / "golden.json").write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
