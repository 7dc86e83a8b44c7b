"""Generate the single-op int8 models for the elementwise/activation kernel tests (run once; needs TensorFlow).

    .venv/bin/python tests/host/gen_elementwise_models.py

Writes tests/data/ops/<op>/<case>.tflite and tests/data/ops/<op>/manifest.json (stamped with the TensorFlow and
Keras versions and the seed), so the tests themselves never import TensorFlow. Everything is seeded: re-running
with the same versions reproduces the same files.

Quantization parameters are varied through the representative data set: each input gets its own random range
(sometimes asymmetric, sometimes not containing zero), so scales and zero points differ from case to case.
SOFTMAX beta is varied by editing the converted flatbuffer (the converter always writes beta=1). TensorFlow never
emits a lone int8->int8 QUANTIZE, so those cases are made by retyping the input of a float-input model's QUANTIZE.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "data" / "ops"
SEED = 20240611


def _rng_range(rng: np.random.Generator) -> tuple[float, float]:
    """A random float range for one tensor: magnitude 0.05..40, sometimes one-sided."""
    mag = float(np.exp(rng.uniform(np.log(0.05), np.log(40.0))))
    kind = rng.integers(0, 4)
    if kind == 0:  # symmetric-ish
        return -mag * float(rng.uniform(0.7, 1.3)), mag
    if kind == 1:  # mostly positive
        return -mag * float(rng.uniform(0.0, 0.3)), mag
    if kind == 2:  # mostly negative
        return -mag, mag * float(rng.uniform(0.0, 0.3))
    return float(rng.uniform(-mag, 0)), float(rng.uniform(0, mag)) + 1e-3


def _convert(fn, shapes: list[tuple[int, ...]], ranges: list[tuple[float, float]], rng: np.random.Generator,
             float_io: bool = False) -> bytes:
    import tensorflow as tf

    sig = [tf.TensorSpec(s, tf.float32) for s in shapes]
    concrete = tf.function(fn, input_signature=sig).get_concrete_function()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    samples = [
        [rng.uniform(lo, hi, size=s).astype(np.float32) for s, (lo, hi) in zip(shapes, ranges)] for _ in range(48)
    ]
    # Make sure the extremes are seen so the range is what we asked for.
    samples.append([np.full(s, lo, np.float32) for s, (lo, hi) in zip(shapes, ranges)])
    samples.append([np.full(s, hi, np.float32) for s, (lo, hi) in zip(shapes, ranges)])

    def rep():
        yield from samples

    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def _ops_of(buf: bytes) -> list[str]:
    from mcukit.ir.reader import parse_tflite

    return [op.kind for op in parse_tflite(buf).ops]


def _patch(buf: bytes, edit: Callable) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(buf), 0)
    edit(model, schema)
    builder = flatbuffers.Builder(len(buf) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _set_beta(beta: float) -> Callable:
    def edit(model, schema) -> None:
        for op in model.subgraphs[0].operators:
            if isinstance(op.builtinOptions, schema.SoftmaxOptionsT):
                op.builtinOptions.beta = beta
    return edit


def _retype_input_int8(scale: float, zero_point: int) -> Callable:
    """Float-input model `QUANTIZE(float->int8) -> ...`: make the QUANTIZE's input an int8 tensor."""

    def edit(model, schema) -> None:
        sub = model.subgraphs[0]
        t = sub.tensors[sub.inputs[0]]
        t.type = schema.TensorType.INT8
        q = schema.QuantizationParametersT()
        q.scale = [scale]
        q.zeroPoint = [zero_point]
        t.quantization = q
    return edit


def _binary(act: Callable, is_add: bool) -> Callable:
    import tensorflow as tf

    return lambda x, y: act(tf.add(x, y) if is_add else tf.multiply(x, y))


def _binary_const(act: Callable, is_add: bool, c) -> Callable:
    import tensorflow as tf

    return lambda x: act(tf.add(x, c) if is_add else tf.multiply(x, c))


def _leaky(alpha: float) -> Callable:
    import tensorflow as tf

    return lambda x: tf.nn.leaky_relu(x, alpha=alpha)


def build_cases(rng: np.random.Generator) -> dict[str, list[dict]]:
    import tensorflow as tf

    cases: dict[str, list[dict]] = {}

    def add_case(op: str, name: str, buf: bytes, expect: str, **info) -> None:
        kinds = _ops_of(buf)
        if expect not in kinds:
            raise SystemExit(f"{op}/{name}: expected a {expect} op, the converter produced {kinds}")
        d = OUT / op
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{name}.tflite").write_bytes(buf)
        cases.setdefault(op, []).append({"file": f"{name}.tflite", "ops": kinds, **info})

    acts = {
        "NONE": lambda y: y,
        "RELU": tf.nn.relu,
        "RELU6": tf.nn.relu6,
        "RELU_N1_TO_1": lambda y: tf.clip_by_value(y, -1.0, 1.0),
    }
    # (shape a, shape b): same shape, channel, scalar, row/column and two-sided broadcasting.
    binary_shapes = [
        ((1, 8, 8, 4), (1, 8, 8, 4)),
        ((1, 37), (1, 37)),
        ((1, 4, 4, 8), (1, 1, 1, 8)),
        ((1, 4, 4, 8), (8,)),
        ((1, 5, 5, 3), (1,)),
        ((1, 5, 5, 3), ()),
        ((1, 4, 6, 3), (1, 4, 1, 3)),
        ((1, 1, 6, 3), (1, 4, 1, 3)),
        ((2, 3, 4), (3, 1)),
        ((1, 3, 1, 5), (1, 1, 4, 1)),
        ((1,), (1, 6, 6, 2)),
        ((1, 2, 3, 4, 5), (1, 2, 1, 4, 1)),
    ]
    for op, fn_name, n in (("add", "ADD", 30), ("mul", "MUL", 26)):
        for i in range(n):
            sa, sb = binary_shapes[i % len(binary_shapes)]
            act = list(acts)[int(rng.integers(0, 4))] if i >= 3 else "NONE"
            const_b = i % 5 == 4  # the second operand is a constant tensor (weights in flash)
            ra, rb = _rng_range(rng), _rng_range(rng)
            fact, is_add = acts[act], fn_name == "ADD"
            if const_b:
                cval = tf.constant(rng.uniform(rb[0], rb[1], size=sb).astype(np.float32))
                buf = _convert(_binary_const(fact, is_add, cval), [sa], [ra], rng)
            else:
                buf = _convert(_binary(fact, is_add), [sa, sb], [ra, rb], rng)
            add_case(op, f"{op}_{i:02d}", buf, fn_name, shapes=[list(sa), list(sb)], activation=act,
                     const_b=const_b, ranges=[ra, rb])

    softmax_shapes = [(1, 10), (1, 4, 4, 8), (2, 33), (1, 3, 100), (1, 1), (1, 256)]
    betas = [1.0, 1.0, 0.5, 2.0, 0.1, 4.0, 1.7, 0.25]
    for i in range(16):
        shape = softmax_shapes[i % len(softmax_shapes)]
        r = _rng_range(rng)
        beta = betas[i % len(betas)]
        buf = _convert(lambda x: tf.nn.softmax(x), [shape], [r], rng)
        if beta != 1.0:
            buf = _patch(buf, _set_beta(beta))
        add_case("softmax", f"softmax_{i:02d}", buf, "SOFTMAX", shapes=[list(shape)], beta=beta, ranges=[r])

    unary: dict[str, tuple[str, Callable]] = {
        "logistic": ("LOGISTIC", tf.sigmoid),
        "tanh": ("TANH", tf.tanh),
        "hard_swish": ("HARD_SWISH", lambda x: x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)),
        "relu": ("RELU", tf.nn.relu),
        "relu6": ("RELU6", tf.nn.relu6),
        "relu_n1_to_1": ("RELU_N1_TO_1", lambda x: tf.clip_by_value(x, -1.0, 1.0)),
    }
    unary_shapes = [(1, 256), (1, 4, 8, 8), (2, 128), (256,)]
    counts = {"logistic": 10, "tanh": 10, "hard_swish": 10, "relu": 6, "relu6": 8, "relu_n1_to_1": 4}
    for op, (kind, fn) in unary.items():
        for i in range(counts[op]):
            shape = unary_shapes[i % len(unary_shapes)]
            r = _rng_range(rng)
            if op == "hard_swish" and i % 3 == 0:  # make sure the [-3, 3] knees are inside the range
                r = (-float(rng.uniform(3.5, 8)), float(rng.uniform(3.5, 8)))
            if op in ("relu6", "relu_n1_to_1") and i % 2 == 0:  # make sure the upper clamp is inside the range
                r = (-float(rng.uniform(0.5, 10)), float(rng.uniform(6.5, 30)))
            buf = _convert(fn, [shape], [r], rng)
            add_case(op, f"{op}_{i:02d}", buf, kind, shapes=[list(shape)], ranges=[r])

    for i in range(10):
        shape = unary_shapes[i % len(unary_shapes)]
        r = _rng_range(rng)
        alpha = float(rng.choice([0.01, 0.1, 0.2, 0.3, 0.5, 0.9, 1.5, 0.0625]))
        buf = _convert(_leaky(alpha), [shape], [r], rng)
        add_case("leaky_relu", f"leaky_relu_{i:02d}", buf, "LEAKY_RELU", shapes=[list(shape)], alpha=alpha,
                 ranges=[r])

    # Float-IO models: QUANTIZE(float->int8) at the input and DEQUANTIZE(int8->float) at the output.
    float_io_fns: list[tuple[str, Callable]] = [
        ("relu", tf.nn.relu),
        ("tanh", tf.tanh),
        ("add_self", lambda x: x + x),
        ("logistic", tf.sigmoid),
        ("leaky", lambda x: tf.nn.leaky_relu(x, alpha=0.2)),
        ("relu6", tf.nn.relu6),
    ]
    for i, (what, fn) in enumerate(float_io_fns):
        shape = unary_shapes[i % len(unary_shapes)]
        r = _rng_range(rng)
        buf = _convert(fn, [shape], [r], rng, float_io=True)
        add_case("quantize", f"float_io_{what}_{i:02d}", buf, "QUANTIZE", shapes=[list(shape)], ranges=[r],
                 float_io=True)
    # int8 -> int8 QUANTIZE (requantization): retype the float input of a float-IO identity-like model.
    for i in range(6):
        shape = unary_shapes[i % len(unary_shapes)]
        r = _rng_range(rng)
        buf = _convert(lambda x: tf.nn.relu(x), [shape], [r], rng, float_io=True)
        in_scale = float(np.float32(np.exp(rng.uniform(np.log(0.005), np.log(0.5)))))
        in_zp = int(rng.integers(-128, 128))
        buf = _patch(buf, _retype_input_int8(in_scale, in_zp))
        add_case("quantize", f"requantize_{i:02d}", buf, "QUANTIZE", shapes=[list(shape)], ranges=[r],
                 float_io=True, int8_input=[in_scale, in_zp])
    return cases


def main() -> int:
    import keras
    import tensorflow as tf

    tf.random.set_seed(SEED)
    rng = np.random.default_rng(SEED)
    cases = build_cases(rng)
    total = 0
    for op, items in cases.items():
        manifest = {
            "generator": "tests/host/gen_elementwise_models.py",
            "seed": SEED,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "cases": items,
        }
        (OUT / op / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        total += len(items)
    size = sum(p.stat().st_size for op in cases for p in (OUT / op).iterdir())
    sys.stdout.write(f"{total} models, {size} bytes under {OUT}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
