"""Generate the single-op int8 models that tests/host/test_ops_*.py check bit for bit (run once; needs TensorFlow).

    .venv/bin/python tests/host/gen_conv_models.py [--only fully_connected,conv,...] [--seed N]

Writes tests/data/ops/<op>/<case>.tflite and tests/data/ops/<op>/manifest.json (case parameters, sha256, and the
tensorflow/keras versions that made them). Every case draws its shapes, strides, paddings, dilations, depth
multipliers, activations and input ranges (hence scales and zero points) from a seeded generator, builds a
one-layer Keras model, gives it random weights and non-zero biases, and converts it to full int8 with a
representative dataset. A case whose conversion does not give exactly one op of the expected kind is an error.

A few properties TFLite's converter never emits are patched into the flatbuffer afterwards, because the
references accept them and real models can carry them: fused activations on pooling ops, and MEAN with equal
input/output quantization (TFLite Micro takes a different code path then).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "ops"
DEFAULT_SEED = 20240611
ACTS = ("NONE", "RELU", "RELU6")

Case = dict[str, Any]


def _act_layer(keras: Any, act: str) -> Any:
    return {"NONE": None, "RELU": "relu", "RELU6": "relu6"}[act]


def _ranges(rng: np.random.Generator, n: int) -> list[list[float]]:
    """Input value ranges: symmetric, positive-only, negative-heavy, tiny and wide, so scales and zps vary."""
    out = []
    for _ in range(n):
        kind = rng.integers(0, 4)
        span = float(rng.choice([0.05, 0.5, 1.0, 3.0, 10.0, 40.0])) * float(rng.uniform(0.5, 1.5))
        if kind == 0:
            lo, hi = -span, span
        elif kind == 1:
            lo, hi = 0.0, span
        elif kind == 2:
            lo, hi = -span, span * float(rng.uniform(0.05, 0.5))
        else:
            lo, hi = -span * float(rng.uniform(0.05, 0.5)), span
        out.append([round(lo, 4), round(hi, 4)])
    return out


# ---- per-op case drawing ---------------------------------------------------------------------------------------


def _conv_geometry(rng: np.random.Generator, depthwise: bool) -> Case:
    while True:
        h, w = int(rng.integers(3, 11)), int(rng.integers(3, 11))
        kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        if rng.random() < 0.3:
            kw = kh
        dil = rng.random() < 0.3
        sh, sw = (1, 1) if dil else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dh, dw = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) if dil else (1, 1)
        padding = "same" if rng.random() < 0.5 else "valid"
        if padding == "valid" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
            continue
        return {"h": h, "w": w, "kernel": [kh, kw], "strides": [sh, sw], "dilation": [dh, dw], "padding": padding}


def draw_fully_connected(rng: np.random.Generator, i: int) -> Case:
    layout = ["vector", "rows3d", "batch2d"][i % 3]
    c: Case = {
        "in_features": int(rng.integers(1, 48)),
        "units": int(rng.integers(1, 24)),
        "rows": 1 if layout == "vector" else int(rng.integers(2, 5)),
        "layout": layout,
        "bias": bool(rng.random() < 0.75),
        "per_channel": bool(i % 2 == 0),
        "act": ACTS[i % 3 if i < 9 else int(rng.integers(0, 3))],
    }
    c["ranges"] = _ranges(rng, 1)
    return c


def draw_conv(rng: np.random.Generator, i: int) -> Case:
    c = _conv_geometry(rng, depthwise=False)
    c["channels"] = int(rng.integers(1, 7))
    c["filters"] = int(rng.integers(1, 11))
    c["groups"] = 1
    if i % 10 == 7:  # grouped convolution: CONV_2D with a filter shallower than the input
        g = int(rng.choice([2, 3]))
        c["channels"] = g * int(rng.integers(1, 3))
        c["filters"] = g * int(rng.integers(1, 4))
        c["groups"] = g
        c["strides"], c["dilation"] = [1, 1], [1, 1]
    c["batch"] = 2 if i % 12 == 5 else 1
    c["bias"] = bool(rng.random() < 0.8)
    c["per_channel"] = bool(i % 8 != 3)
    c["act"] = ACTS[i % 3] if i < 12 else ACTS[int(rng.integers(0, 3))]
    c["ranges"] = _ranges(rng, 1)
    return c


def draw_depthwise(rng: np.random.Generator, i: int) -> Case:
    c = _conv_geometry(rng, depthwise=True)
    c["channels"] = int(rng.integers(1, 7))
    c["depth_multiplier"] = int(rng.choice([1, 1, 2, 3]))
    c["batch"] = 2 if i % 12 == 5 else 1
    c["bias"] = bool(rng.random() < 0.8)
    c["per_channel"] = bool(i % 8 != 3)
    c["act"] = ACTS[i % 3] if i < 12 else ACTS[int(rng.integers(0, 3))]
    c["ranges"] = _ranges(rng, 1)
    return c


def draw_pool(rng: np.random.Generator, i: int) -> Case:
    while True:
        h, w = int(rng.integers(2, 11)), int(rng.integers(2, 11))
        ph, pw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        padding = "same" if rng.random() < 0.5 else "valid"
        if padding == "valid" and (ph > h or pw > w):
            continue
        break
    return {
        "kind": "avg" if i % 2 == 0 else "max",
        "h": h, "w": w, "channels": int(rng.integers(1, 9)), "pool": [ph, pw], "strides": [sh, sw],
        "padding": padding, "batch": 2 if i % 9 == 4 else 1,
        "act": ACTS[(i // 2) % 3], "ranges": _ranges(rng, 1),
    }


def draw_mean(rng: np.random.Generator, i: int) -> Case:
    return {
        "h": int(rng.integers(1, 9)), "w": int(rng.integers(1, 9)), "channels": int(rng.integers(1, 17)),
        "keepdims": bool(i % 2 == 0), "equal_quant": bool(i % 4 >= 2), "batch": 2 if i % 5 == 3 else 1,
        "ranges": _ranges(rng, 1),
    }


def draw_pad(rng: np.random.Generator, i: int) -> Case:
    return {
        "h": int(rng.integers(1, 8)), "w": int(rng.integers(1, 8)), "channels": int(rng.integers(1, 6)),
        "pads": [[int(rng.integers(0, 3)), int(rng.integers(0, 3))] for _ in range(2)],
        "channel_pads": [int(rng.integers(0, 3)), int(rng.integers(0, 3))] if i % 3 == 2 else [0, 0],
        "ranges": _ranges(rng, 1),
    }


def draw_concatenation(rng: np.random.Generator, i: int) -> Case:
    rank = 4 if i % 3 != 2 else 2
    n_in = int(rng.integers(2, 4))
    base = [1] + [int(rng.integers(1, 6)) for _ in range(rank - 1)]
    axis = int(rng.integers(1, rank)) if i % 4 != 1 else -1
    shapes = []
    for _ in range(n_in):
        s = list(base)
        s[axis] = int(rng.integers(1, 5))
        shapes.append(s)
    return {"shapes": shapes, "axis": axis, "ranges": _ranges(rng, n_in), "same_range": bool(i % 2 == 0)}


def draw_reshape(rng: np.random.Generator, i: int) -> Case:
    kind = ["reshape", "flatten", "squeeze", "expand_dims", "reshape"][i % 5]
    return {"kind": kind, "h": int(rng.integers(1, 5)), "w": int(rng.integers(1, 5)),
            "channels": int(rng.integers(1, 6)), "ranges": _ranges(rng, 1)}


# ---- Keras models ----------------------------------------------------------------------------------------------


def _randomize_weights(model: Any, rng: np.random.Generator) -> None:
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        new = []
        for k, wt in enumerate(ws):
            if k == 0:
                fan_in = max(1, int(np.prod(wt.shape[:-1])))
                new.append((rng.normal(0, 1.0 / np.sqrt(fan_in), wt.shape) * rng.uniform(0.5, 2.0)).astype(np.float32))
            else:
                new.append(rng.uniform(-0.5, 0.5, wt.shape).astype(np.float32))
        layer.set_weights(new)


def build_model(op: str, c: Case) -> tuple[Any, list[tuple[int, ...]]]:
    import keras

    L = keras.layers
    if op == "fully_connected":
        shape = {"vector": (c["in_features"],), "rows3d": (c["rows"], c["in_features"]),
                 "batch2d": (c["in_features"],)}[c["layout"]]
        batch = c["rows"] if c["layout"] == "batch2d" else 1
        x = keras.Input(shape=shape, batch_size=batch)
        y = L.Dense(c["units"], activation=_act_layer(keras, c["act"]), use_bias=c["bias"])(x)
        return keras.Model(x, y), [(batch, *shape)]
    if op in ("conv", "depthwise"):
        shape = (c["h"], c["w"], c["channels"])
        x = keras.Input(shape=shape, batch_size=c["batch"])
        common = {"kernel_size": tuple(c["kernel"]), "strides": tuple(c["strides"]), "padding": c["padding"],
                  "dilation_rate": tuple(c["dilation"]), "use_bias": c["bias"],
                  "activation": _act_layer(keras, c["act"])}
        if op == "conv":
            y = L.Conv2D(c["filters"], groups=c["groups"], **common)(x)
        else:
            y = L.DepthwiseConv2D(depth_multiplier=c["depth_multiplier"], **common)(x)
        return keras.Model(x, y), [(c["batch"], *shape)]
    if op == "pool":
        shape = (c["h"], c["w"], c["channels"])
        x = keras.Input(shape=shape, batch_size=c["batch"])
        layer = L.AveragePooling2D if c["kind"] == "avg" else L.MaxPooling2D
        y = layer(pool_size=tuple(c["pool"]), strides=tuple(c["strides"]), padding=c["padding"])(x)
        return keras.Model(x, y), [(c["batch"], *shape)]
    if op == "mean":
        shape = (c["h"], c["w"], c["channels"])
        x = keras.Input(shape=shape, batch_size=c["batch"])
        y = L.GlobalAveragePooling2D(keepdims=c["keepdims"])(x)
        return keras.Model(x, y), [(c["batch"], *shape)]
    if op == "pad":
        shape = (c["h"], c["w"], c["channels"])
        x = keras.Input(shape=shape, batch_size=1)
        pads = [[0, 0], *c["pads"], c["channel_pads"]]
        y = keras.ops.pad(x, pads) if any(c["channel_pads"]) else L.ZeroPadding2D(tuple(map(tuple, c["pads"])))(x)
        return keras.Model(x, y), [(1, *shape)]
    if op == "concatenation":
        xs = [keras.Input(shape=tuple(s[1:]), batch_size=1) for s in c["shapes"]]
        y = L.Concatenate(axis=c["axis"])(xs)
        return keras.Model(xs, y), [tuple(s) for s in c["shapes"]]
    if op == "reshape":
        shape = (c["h"], c["w"], c["channels"])
        if c["kind"] == "squeeze":
            shape = (c["h"], 1, c["channels"])
        x = keras.Input(shape=shape, batch_size=1)
        if c["kind"] == "reshape":
            y = L.Reshape((c["w"], c["h"] * c["channels"]))(x)
        elif c["kind"] == "flatten":
            y = L.Flatten()(x)
        elif c["kind"] == "squeeze":
            y = keras.ops.squeeze(x, axis=2)
        else:
            y = keras.ops.expand_dims(x, axis=2)
        return keras.Model(x, y), [(1, *shape)]
    raise ValueError(op)


def convert(model: Any, in_shapes: list[tuple[int, ...]], c: Case, rng: np.random.Generator) -> bytes:
    import tensorflow as tf

    ranges = c["ranges"]
    if c.get("same_range"):
        ranges = [ranges[0]] * len(ranges)
    samples = [[rng.uniform(lo, hi, s).astype(np.float32) for s, (lo, hi) in zip(in_shapes, ranges)]
               for _ in range(24)]
    for sample in samples:  # make sure the calibrated range reaches both ends
        for arr, (lo, hi) in zip(sample, ranges):
            arr.flat[0], arr.flat[-1] = lo, hi

    def rep():
        yield from samples

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    if c.get("per_channel") is False:
        conv._experimental_disable_per_channel = True
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    return conv.convert()


# ---- flatbuffer patches ----------------------------------------------------------------------------------------


def patch(buf: bytes, fn: Callable[[Any, Any], None]) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT.InitFromObj(s.Model.GetRootAsModel(buf, 0))
    fn(model, s)
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def set_pool_activation(act: str) -> Callable[[Any, Any], None]:
    def fn(model: Any, s: Any) -> None:
        code = {"NONE": s.ActivationFunctionType.NONE, "RELU": s.ActivationFunctionType.RELU,
                "RELU6": s.ActivationFunctionType.RELU6}[act]
        model.subgraphs[0].operators[0].builtinOptions.fusedActivationFunction = code

    return fn


def copy_input_quant_to_output(model: Any, s: Any) -> None:
    sg = model.subgraphs[0]
    op = sg.operators[0]
    qi = sg.tensors[op.inputs[0]].quantization
    qo = sg.tensors[op.outputs[0]].quantization
    qo.scale = list(qi.scale)
    qo.zeroPoint = list(qi.zeroPoint)


# ---- main ------------------------------------------------------------------------------------------------------

PLAN: dict[str, tuple[int, str, Callable[[np.random.Generator, int], Case]]] = {
    "fully_connected": (30, "FULLY_CONNECTED", draw_fully_connected),
    "conv": (50, "CONV_2D", draw_conv),
    "depthwise": (40, "DEPTHWISE_CONV_2D", draw_depthwise),
    "pool": (26, "", draw_pool),
    "mean": (12, "MEAN", draw_mean),
    "pad": (10, "PAD", draw_pad),
    "concatenation": (10, "CONCATENATION", draw_concatenation),
    "reshape": (6, "", draw_reshape),
}


def op_kinds(buf: bytes) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from mcukit.ir.reader import parse_tflite

    return [op.kind for op in parse_tflite(buf).ops]


def fresh_dir(out_dir: Path) -> None:
    """Create `out_dir` and delete the models a previous run left there (the manifest is rewritten after)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.tflite"):
        old.unlink()


def single_op_model(family: str, c: Case, rng: np.random.Generator, scale_filters: float | None = None
                    ) -> tuple[bytes, list[str]]:
    """Keras seed drawn from rng, model built, weights randomized (the filters then multiplied by scale_filters,
    if given), converted: the .tflite bytes and its op kinds. The order of draws from rng is part of the stored
    models' identity: keep it."""
    import keras

    keras.utils.set_random_seed(int(rng.integers(0, 2**31 - 1)))
    model, in_shapes = build_model(family, c)
    _randomize_weights(model, rng)
    if scale_filters is not None:  # the filter only (weight index 0), as _randomize_weights drew it
        for layer in model.layers:
            if layer.get_weights():
                layer.set_weights([wt * scale_filters if k == 0 else wt for k, wt in enumerate(layer.get_weights())])
    buf = convert(model, in_shapes, c, rng)
    return buf, op_kinds(buf)


def write_manifest(out_dir: Path, generator: str, seed: int, cases: list[dict[str, Any]], label: str) -> None:
    """manifest.json (stamped with the TensorFlow and Keras versions that made the models) and a one-line summary."""
    import keras
    import tensorflow as tf

    manifest = {"generator": generator, "seed": seed, "tensorflow": tf.__version__, "keras": keras.__version__,
                "cases": cases}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum((out_dir / cc["file"]).stat().st_size for cc in cases)
    sys.stderr.write(f"{label}: {len(cases)} models, {total} bytes\n")


def store_family(out_dir: Path, family: str, kind: str, cases: list[Case], seed: int, generator: str) -> None:
    """One single-op model per case (drawn from the generator [seed, case index, 1]) written as
    <dir name>_NNN.tflite, checked to convert to exactly one `kind` op, and the manifest."""
    fresh_dir(out_dir)
    entries = []
    for i, c in enumerate(cases):
        buf, kinds = single_op_model(family, c, np.random.default_rng([seed, i, 1]))
        if kinds != [kind]:
            raise SystemExit(f"case {i}: converter produced {kinds} ({c})")
        name = f"{out_dir.name}_{i:03d}.tflite"
        (out_dir / name).write_bytes(buf)
        entries.append({"file": name, "op": kind, "params": c, "sha256": hashlib.sha256(buf).hexdigest()})
    write_manifest(out_dir, generator, seed, entries, out_dir.name)


def generate(op: str, seed: int) -> None:
    count, kind, draw = PLAN[op]
    out_dir = DATA / op
    fresh_dir(out_dir)
    cases = []
    op_seed = int.from_bytes(hashlib.sha256(op.encode()).digest()[:4], "little")
    for i in range(count):
        rng = np.random.default_rng([seed, op_seed, i])
        c = draw(rng, i)
        buf, kinds = single_op_model(op, c, rng)
        expected = kind or {"pool": "AVERAGE_POOL_2D" if c.get("kind") == "avg" else "MAX_POOL_2D"}.get(op, "")
        if op == "reshape":
            if len(kinds) != 1 or kinds[0] not in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
                raise SystemExit(f"{op} case {i}: converter produced {kinds}")
        elif kinds != [expected]:
            raise SystemExit(f"{op} case {i}: converter produced {kinds}, expected [{expected}] ({c})")
        if op == "pool" and c["act"] != "NONE":
            buf = patch(buf, set_pool_activation(c["act"]))
        if op == "mean" and c["equal_quant"]:
            buf = patch(buf, copy_input_quant_to_output)
        name = f"{op}_{i:03d}.tflite"
        (out_dir / name).write_bytes(buf)
        cases.append({"file": name, "op": kinds[0], "params": c, "sha256": hashlib.sha256(buf).hexdigest()})
    write_manifest(out_dir, "tests/host/gen_conv_models.py", seed, cases, op)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(PLAN), help="comma-separated op families")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for op in args.only.split(","):
        generate(op, args.seed)


if __name__ == "__main__":
    main()
