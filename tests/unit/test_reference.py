"""The oracles: input/output conventions, errors, stored goldens, and how each one rounds (docs/reference-rounding.md)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from mcukit import reference
from mcukit.codegen.quantmath import activation_range_s8, quantize_multiplier
from mcukit.errors import CalibrationError, McukitError, ModelError, UsageError
from mcukit.ir.graph import Graph
from mcukit.ir.reader import parse_tflite

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
needs_tflm = pytest.mark.skipif(not reference.tflm_available(), reason="tflite-micro is not installed")


def _random_inputs(graph: Graph, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for t in graph.input_tensors:
        if t.dtype == "int8":
            out.append(rng.integers(-128, 128, size=(n, *t.shape), dtype=np.int8))
        else:
            out.append(rng.normal(0.0, 1.0, size=(n, *t.shape)).astype(np.float32))
    return out


# ---- conventions and errors (no TensorFlow: the stored golden models) -------------------------------------------


@pytest.fixture(scope="module")
def conv_block() -> bytes:
    return (GOLDEN / "conv_block.tflite").read_bytes()


@pytest.mark.parametrize("oracle", ["litert", pytest.param("tflm", marks=needs_tflm)])
def test_output_shapes_follow_the_sample_axis_convention(conv_block: bytes, oracle: str) -> None:
    graph = parse_tflite(conv_block)
    x = _random_inputs(graph, 5, 0)
    (y,) = reference.run_reference(conv_block, x, oracle)
    assert y.shape == (5, *graph.output_tensors[0].shape)
    assert y.dtype == np.int8
    # Each sample is independent of the others (TFLM reuses its input buffer: inputs are set before every invoke).
    (y1,) = reference.run_reference(conv_block, [x[0][3:4]], oracle)
    np.testing.assert_array_equal(y1[0], y[3])


def test_unknown_oracle(conv_block: bytes) -> None:
    with pytest.raises(UsageError, match="unknown oracle"):
        reference.run_reference(conv_block, [], "xnnpack")


@pytest.mark.parametrize("oracle", ["litert", pytest.param("tflm", marks=needs_tflm)])
def test_bad_inputs_are_calibration_errors(conv_block: bytes, oracle: str) -> None:
    shape = parse_tflite(conv_block).input_tensors[0].shape
    with pytest.raises(CalibrationError, match="shape"):
        reference.run_reference(conv_block, [np.zeros(shape, np.int8)], oracle)  # no sample axis
    with pytest.raises(CalibrationError, match="input"):
        reference.run_reference(conv_block, [np.zeros((1, *shape), np.int8)] * 2, oracle)
    with pytest.raises(CalibrationError, match="dtype"):
        reference.run_reference(conv_block, [np.zeros((1, *shape), np.float32)], oracle)
    with pytest.raises(CalibrationError, match="dtype"):
        reference.run_reference(conv_block, [np.full((1, *shape), 300, np.int32)], oracle)
    # in-range integers of another dtype are accepted
    (y,) = reference.run_reference(conv_block, [np.zeros((2, *shape), np.int32)], oracle)
    assert y.shape[0] == 2


@pytest.mark.parametrize("oracle", ["litert", pytest.param("tflm", marks=needs_tflm)])
def test_corrupt_model_is_a_model_error(conv_block: bytes, oracle: str) -> None:
    with pytest.raises(ModelError):
        reference.run_reference(conv_block[: len(conv_block) // 2], [], oracle)
    with pytest.raises(ModelError):
        reference.run_reference(b"", [], oracle)


def _with_opcode(model: bytes, builtin: int) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    for code in m.operatorCodes:
        code.builtinCode = builtin
        code.deprecatedBuiltinCode = min(builtin, 127)
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.mark.parametrize("oracle", ["litert", pytest.param("tflm", marks=needs_tflm)])
def test_unsupported_op_is_a_clear_oracle_error(oracle: str) -> None:
    from ai_edge_litert import schema_py_generated as schema

    model = _with_opcode((GOLDEN / "fc_stack.tflite").read_bytes(), schema.BuiltinOperator.RFFT2D)
    with pytest.raises(reference.OracleError, match="RFFT2D") as info:
        reference.run_reference(model, _random_inputs(parse_tflite(model), 1, 0), oracle)
    assert isinstance(info.value, McukitError) and info.value.hint


def test_versions_name_the_oracle_packages() -> None:
    v = reference.versions()
    assert set(v) == {"tflite-micro", "ai-edge-litert", "numpy", "mcukit"}
    assert v["numpy"] == np.__version__


def test_default_oracle_falls_back_to_litert(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    reference.default_oracle.cache_clear()
    try:
        monkeypatch.setattr(reference, "tflm_available", lambda: False)
        with caplog.at_level(logging.WARNING, logger="mcukit.reference"):
            assert reference.default_oracle() == "litert"
        assert "tflite-micro is not installed" in caplog.text
        reference.default_oracle.cache_clear()
        monkeypatch.setattr(reference, "tflm_available", lambda: True)
        assert reference.default_oracle() == "tflm"
    finally:
        reference.default_oracle.cache_clear()


@needs_tflm
def test_tflm_arena_bytes_is_the_smallest_working_arena() -> None:
    model = (GOLDEN / "fc_stack.tflite").read_bytes()
    need = reference.tflm_arena_bytes(model)
    graph = parse_tflite(model)
    assert need >= max(t.nbytes for t in graph.tensors if not t.is_constant)
    assert reference._probe(model, need, 30.0)
    assert not reference._probe(model, need - 1, 30.0)


# ---- stored goldens ----------------------------------------------------------------------------------------------


def _golden_stamp() -> dict:
    return json.loads((GOLDEN / "golden.json").read_text())


@needs_tflm
@pytest.mark.parametrize("name", sorted(_golden_stamp()["models"]))
def test_goldens_reproduce(name: str) -> None:
    stamp = _golden_stamp()
    now = reference.versions()
    for pkg in ("tflite-micro", "ai-edge-litert"):
        if stamp["versions"][pkg] != now[pkg]:
            pytest.skip(f"goldens were made with {pkg} {stamp['versions'][pkg]}, installed is {now[pkg]}: "
                        "regenerate with tests/data/golden/make_golden.py")
    model = (GOLDEN / f"{name}.tflite").read_bytes()
    stored = np.load(GOLDEN / f"{name}.npz")
    inputs = [stored[k] for k in sorted(k for k in stored.files if k.startswith("input_"))]
    g = reference.golden(model, inputs)
    assert g["model_sha256"] == stamp["models"][name]["sha256"]
    assert g["agree"] == stamp["models"][name]["agree"]
    for oracle in ("tflm", "litert"):
        for j, out in enumerate(g["outputs"][oracle]):
            np.testing.assert_array_equal(out, stored[f"{oracle}_{j}"], err_msg=f"{name} {oracle} output {j}")


# ---- how each oracle rounds: numpy re-computation (TensorFlow builds the models) --------------------------------


def _srdhm(a: np.ndarray, m: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul: round(a*m / 2^31), ties away from zero (no INT32_MIN*INT32_MIN
    here: m > 0)."""
    ab = a * m
    v = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    return np.where(v >= 0, v >> 31, -((-v) >> 31))


def _rdbp(x: np.ndarray, e: int) -> np.ndarray:
    mask = (1 << e) - 1
    return (x >> e) + ((x & mask) > ((mask >> 1) + (x < 0)))


def requant_double(acc: np.ndarray, m: int, s: int) -> np.ndarray:
    return _rdbp(_srdhm(acc * (1 << max(s, 0)), m), max(-s, 0))


def requant_single(acc: np.ndarray, m: int, s: int) -> np.ndarray:
    total = 31 - s
    return (acc * m + (1 << (total - 1))) >> total


def _requant_channels(acc, graph: Graph, op, rounding) -> np.ndarray:
    x, w = graph.op_inputs(op)[:2]
    y = graph.op_outputs(op)[0]
    out = np.empty_like(acc)
    for c in range(acc.shape[-1]):
        ws = w.quant.scale[c] if w.quant.per_channel else w.quant.scale[0]
        m, s = quantize_multiplier(x.quant.scale[0] * ws / y.quant.scale[0])
        out[..., c] = rounding(acc[..., c], m, s)
    lo, hi = activation_range_s8(op.options.activation, y.quant.scale[0], y.quant.zero_point[0])
    return np.clip(out + y.quant.zero_point[0], lo, hi)


def numpy_fully_connected(graph: Graph, x: np.ndarray, rounding) -> np.ndarray:
    (op,) = graph.ops
    ins = graph.op_inputs(op)
    t_in, t_w = ins[0], ins[1]
    bias = ins[2].array().astype(np.int64) if len(ins) > 2 and ins[2] is not None else 0
    w = t_w.array().astype(np.int64)
    acc = (x.reshape(x.shape[0], -1, w.shape[1]).astype(np.int64) - t_in.quant.zero_point[0]) @ w.T + bias
    return _requant_channels(acc, graph, op, rounding).reshape(x.shape[0], *graph.op_outputs(op)[0].shape)


def numpy_conv(graph: Graph, x: np.ndarray, rounding) -> np.ndarray:
    (op,) = graph.ops
    o = op.options
    t_in, t_w, t_b = graph.op_inputs(op)
    t_out = graph.op_outputs(op)[0]
    w = t_w.array().astype(np.int64)
    n, (_, h, wd, c), (_, oh, ow, oc), (kh, kw) = x.shape[0], t_in.shape, t_out.shape, w.shape[1:3]
    ph = max((oh - 1) * o.stride_h + kh - h, 0) // 2 if o.padding == "SAME" else 0
    pw = max((ow - 1) * o.stride_w + kw - wd, 0) // 2 if o.padding == "SAME" else 0
    xp = np.zeros((n, h + kh + oh * o.stride_h, wd + kw + ow * o.stride_w, c), np.int64)
    xp[:, ph : ph + h, pw : pw + wd] = x.reshape(n, h, wd, c).astype(np.int64) - t_in.quant.zero_point[0]
    acc = np.zeros((n, oh, ow, oc), np.int64) + t_b.array().astype(np.int64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i : i + oh * o.stride_h : o.stride_h, j : j + ow * o.stride_w : o.stride_w, :]
            acc += np.einsum("nhwc,oc->nhwo", patch, w[:, i, j, :])
    return _requant_channels(acc, graph, op, rounding).reshape(n, *t_out.shape)


def _convert(model, seed: int = 0) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in model.inputs[0].shape)

    def representative():
        for _ in range(32):
            yield [rng.normal(0.0, 1.5, size=shape).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


@pytest.fixture(scope="session")
def tf_models() -> dict[str, bytes]:
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    L = keras.layers
    keras.utils.set_random_seed(11)

    def build(shape, layer_fn):
        i = keras.Input(shape, batch_size=1)
        return keras.Model(i, layer_fn(i))

    def block(i):
        x = L.Conv2D(8, 3, padding="same", activation="relu")(i)
        y = L.DepthwiseConv2D(3, padding="same")(x)
        x = L.Add()([x, y])
        x = L.AveragePooling2D(2)(x)
        return L.MaxPooling2D(2, padding="same")(x)

    return {
        "block": _convert(build((12, 12, 4), block)),
        "fc": _convert(build((32,), L.Dense(24, bias_initializer="random_normal"))),
        "conv": _convert(build((9, 9, 5), L.Conv2D(7, 3, strides=2, padding="same", activation="relu"))),
    }


@pytest.mark.slow
@needs_tflm
def test_oracles_agree_on_conv_depthwise_pool_add(tf_models: dict[str, bytes]) -> None:
    model = tf_models["block"]
    kinds = {op.kind for op in parse_tflite(model).ops}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D", "MAX_POOL_2D"} <= kinds
    x = _random_inputs(parse_tflite(model), 64, 1)
    g = reference.golden(model, x)
    assert g["agree"] is True


@pytest.mark.slow
@needs_tflm
def test_fully_connected_tflm_rounds_twice_litert_once(tf_models: dict[str, bytes]) -> None:
    model = tf_models["fc"]
    graph = parse_tflite(model)
    assert [op.kind for op in graph.ops] == ["FULLY_CONNECTED"]
    (x,) = _random_inputs(graph, 1000, 2)
    (tflm,) = reference.run_reference(model, [x], "tflm")
    (litert,) = reference.run_reference(model, [x], "litert")
    double = numpy_fully_connected(graph, x, requant_double)
    single = numpy_fully_connected(graph, x, requant_single)
    assert (double != single).any(), "the sample does not separate the two roundings"
    np.testing.assert_array_equal(tflm, double)
    np.testing.assert_array_equal(litert, single)


@pytest.mark.slow
@needs_tflm
def test_conv_both_oracles_round_twice(tf_models: dict[str, bytes]) -> None:
    model = tf_models["conv"]
    graph = parse_tflite(model)
    (x,) = _random_inputs(graph, 300, 3)
    double = numpy_conv(graph, x, requant_double)
    assert (double != numpy_conv(graph, x, requant_single)).any(), "the sample does not separate the roundings"
    for oracle in reference.ORACLES:
        np.testing.assert_array_equal(reference.run_reference(model, [x], oracle)[0], double, err_msg=oracle)
