"""`mcukit inspect`, MAC/parameter counts (mcukit.ir.counts) and support checks (mcukit.ir.validate)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from mcukit.__main__ import main
from mcukit.errors import UnsupportedModelError
from mcukit.ir.counts import model_stats
from mcukit.ir.graph import Graph, Op, Tensor
from mcukit.ir.reader import read_tflite
from mcukit.ir.validate import ENGINE_KINDS, check_supported, find_problems

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden"
EXAMPLES = ROOT / "examples"


def inspect_json(path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(["inspect", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def macs_by_weight_use(report: dict) -> int:
    """Independent count: every weight element is used once per output position (conv/depthwise) or row (FC)."""
    total = 0
    for op in report["ops"]:
        if op["kind"] not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        weights, out = op["inputs"][1], op["outputs"][0]
        uses = math.prod(out["shape"]) // out["shape"][-1]  # output positions (conv) or rows (FC)
        total += math.prod(weights["shape"]) * uses
    return total


# ---- stored models (no TensorFlow) ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["conv_block", "fc_stack", "float_edges"])
def test_json_report_is_consistent(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = GOLDEN / f"{name}.tflite"
    report = inspect_json(path, capsys)
    graph = read_tflite(path)
    assert report["schema"] == "mcukit.inspect/1"
    assert report["model"]["sha256"] == graph.sha256
    assert [op["kind"] for op in report["ops"]] == [op.kind for op in graph.ops]
    totals = report["totals"]
    assert totals["macs"] == sum(op["macs"] for op in report["ops"]) == macs_by_weight_use(report) > 0
    # params: every element of the constant weights and biases of the MAC ops (these models have no other params)
    weighted = [op for op in report["ops"] if op["kind"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    assert totals["params"] == sum(math.prod(t["shape"]) for op in weighted for t in op["inputs"][1:] if t)
    assert totals["weight_bytes"] == sum(
        math.prod(t["shape"]) * {"int8": 1, "int32": 4}[t["dtype"]] for op in weighted for t in op["inputs"][1:] if t)
    naive = sum(t.nbytes for t in graph.tensors if not t.is_constant)
    assert totals["activation_bytes_naive"] == naive
    for op in report["ops"]:
        for t in op["inputs"][1:2]:
            if t and t["constant"] and op["kind"] in ("CONV_2D", "FULLY_CONNECTED"):
                assert t["quant"]["channels"] == t["shape"][0]  # per-channel weights summarised


def test_conv_block_counts_by_hand() -> None:
    stats = model_stats(read_tflite(GOLDEN / "conv_block.tflite"))  # see tests/data/golden/make_golden.py
    by_kind = {layer.kind: layer for layer in stats.layers}
    assert by_kind["CONV_2D"].macs == 8 * 8 * 6 * (3 * 3 * 3)
    assert by_kind["CONV_2D"].params == 6 * 3 * 3 * 3 + 6
    assert by_kind["DEPTHWISE_CONV_2D"].macs == 8 * 8 * 6 * (3 * 3)
    assert by_kind["FULLY_CONNECTED"].macs == 24 * 5
    assert by_kind["ADD"].macs == 0 and by_kind["ADD"].ops == 8 * 8 * 6
    assert by_kind["AVERAGE_POOL_2D"].ops == 4 * 4 * 6 * 4
    assert by_kind["RESHAPE"].params == 0  # its int32 shape operand is not a parameter


def test_human_output_lists_ops_and_totals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(GOLDEN / "conv_block.tflite")]) == 0
    out = capsys.readouterr().out
    for word in ("CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX", "MACs", "params", "naive"):
        assert word in out
    assert f"{model_stats(read_tflite(GOLDEN / 'conv_block.tflite')).macs:,}" in out


def _with_opcode(model: bytes, builtin: int) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    m.operatorCodes[0].builtinCode = builtin
    m.operatorCodes[0].deprecatedBuiltinCode = min(builtin, 127)
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_unsupported_op_is_listed_and_exit_code_is_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ai_edge_litert import schema_py_generated as schema

    path = tmp_path / "odd.tflite"
    path.write_bytes(_with_opcode((GOLDEN / "fc_stack.tflite").read_bytes(), schema.BuiltinOperator.RFFT2D))
    report = inspect_json(path, capsys)
    assert report["runnable"] is False
    assert any("RFFT2D" in p["message"] and p["op_index"] == 0 for p in report["problems"])
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "cannot run this model" in out and "RFFT2D" in out and "Traceback" not in out


# ---- validation on edited graphs --------------------------------------------------------------------------------


def _graph(name: str = "conv_block") -> Graph:
    return read_tflite(GOLDEN / f"{name}.tflite")


def _replace_op(graph: Graph, index: int, **changes) -> Graph:
    ops = list(graph.ops)
    ops[index] = dataclasses.replace(ops[index], **changes)
    return dataclasses.replace(graph, ops=tuple(ops))


def _replace_tensor(graph: Graph, index: int, **changes) -> Graph:
    tensors = list(graph.tensors)
    tensors[index] = dataclasses.replace(tensors[index], **changes)
    return dataclasses.replace(graph, tensors=tuple(tensors))


def test_supported_int8_models_have_no_problems() -> None:
    for name in ("conv_block", "fc_stack", "float_edges"):
        assert find_problems(_graph(name), ENGINE_KINDS) == []
        check_supported(_graph(name), ENGINE_KINDS)


def test_unknown_op_names_kind_index_and_points_to_inspect() -> None:
    graph = _replace_op(_graph(), 3, kind="SQRT")
    with pytest.raises(UnsupportedModelError) as info:
        check_supported(graph, ENGINE_KINDS)
    assert "op 3 (SQRT)" in info.value.message
    assert "mcukit inspect" in (info.value.hint or "")


def test_custom_op_is_named() -> None:
    problems = find_problems(_replace_op(_graph(), 0, kind="CUSTOM:MyOp"), ENGINE_KINDS)
    assert problems[0].op_index == 0 and "custom op" in problems[0].message


def test_float_op_hints_at_quantize() -> None:
    graph = _graph()
    op = graph.ops[2]  # ADD
    for t in op.inputs + op.outputs:
        graph = _replace_tensor(graph, t, dtype="float32", quant=None)
    problems = find_problems(graph, ENGINE_KINDS)
    assert {p.op_index for p in problems} == {0, 1, 2, 3}  # ADD and its producers and consumer
    (problem,) = [p for p in problems if p.op_index == 2]
    assert "float32" in problem.message
    assert "mcukit quantize" in problem.hint
    unsupported = find_problems(_replace_op(graph, 2, kind="SQUARED_DIFFERENCE"), ENGINE_KINDS)
    (problem,) = [p for p in unsupported if p.op_index == 2]
    assert "float32" in problem.message and "not supported" in problem.message and "mcukit quantize" in problem.hint


def test_int16_activations_are_refused() -> None:
    graph = _graph()
    out = graph.ops[4].outputs[0]  # MAX_POOL_2D output
    problems = find_problems(_replace_tensor(graph, out, dtype="int16"), ENGINE_KINDS)
    assert problems and all("int16" in p.message for p in problems)
    assert "int8" in problems[0].hint


def test_float_weights_and_quantize_inside_the_model_are_refused() -> None:
    graph = _graph()
    w = graph.ops[0].inputs[1]
    t = graph.tensor(w)
    as_float = np.zeros(t.shape, np.float32).tobytes()
    problems = find_problems(_replace_tensor(graph, w, dtype="float32", data=as_float, quant=None), ENGINE_KINDS)
    assert any("float32 weights" in p.message for p in problems)

    edges = _graph("float_edges")
    q = edges.ops[0]
    assert q.kind == "QUANTIZE"
    inner = dataclasses.replace(edges, inputs=(q.outputs[0],))  # QUANTIZE no longer reads a model input
    assert any("inside the model" in p.message for p in find_problems(inner, ENGINE_KINDS))


def test_engine_kinds_default_to_the_issue_list() -> None:
    assert {"CONV_2D", "SOFTMAX", "QUANTIZE", "DEQUANTIZE", "LEAKY_RELU"} <= ENGINE_KINDS
    assert len(ENGINE_KINDS) == 20


def test_counts_survive_unknown_dtypes() -> None:
    graph = _graph()
    t = graph.tensors[graph.ops[4].outputs[0]]
    odd = _replace_tensor(graph, t.index, dtype="complex64")
    assert model_stats(odd).activation_bytes_naive == model_stats(graph).activation_bytes_naive
    assert isinstance(odd.tensors[t.index], Tensor) and isinstance(odd.ops[0], Op)


# ---- models built with TensorFlow, and the example models --------------------------------------------------------


def keras_macs(model) -> int:
    """MACs from Keras layer shapes alone (no TFLite involved)."""
    import keras

    total = 0
    for layer in model.layers:
        out = tuple(int(d) for d in layer.output.shape[1:])
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            total += math.prod(out) * math.prod(layer.kernel_size)
        elif isinstance(layer, keras.layers.Conv2D):
            in_c = int(layer.input.shape[-1]) // layer.groups
            total += math.prod(out) * math.prod(layer.kernel_size) * in_c
        elif isinstance(layer, keras.layers.Dense):
            total += math.prod(out) * int(layer.input.shape[-1])
    return total


@pytest.fixture(scope="session")
def small_keras_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[object, Path]]:
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    layers = keras.layers
    keras.utils.set_random_seed(5)
    out_dir = tmp_path_factory.mktemp("inspect_models")

    def strided():
        i = keras.Input((15, 13, 3), batch_size=1)
        x = layers.Conv2D(6, (3, 5), strides=2, padding="same", activation="relu")(i)
        x = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="valid")(x)
        x = layers.Conv2D(4, 1)(x)
        x = layers.GlobalAveragePooling2D()(x)
        return keras.Model(i, layers.Dense(7, bias_initializer="random_normal")(x))

    def rows():
        i = keras.Input((5, 16), batch_size=1)
        return keras.Model(i, layers.Dense(9, bias_initializer="random_normal")(i))

    result = {}
    for name, build in (("strided", strided), ("rows", rows)):
        model = build()
        shape = tuple(int(d) for d in model.inputs[0].shape)
        rng = np.random.default_rng(0)

        def representative(shape=shape, rng=rng):
            for _ in range(16):
                yield [rng.normal(size=shape).astype(np.float32)]

        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
        path = out_dir / f"{name}.tflite"
        path.write_bytes(conv.convert())
        result[name] = (model, path)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("name", ["strided", "rows"])
def test_macs_and_params_match_keras(name: str, small_keras_models, capsys: pytest.CaptureFixture[str]) -> None:
    model, path = small_keras_models[name]
    report = inspect_json(path, capsys)
    assert report["totals"]["macs"] == keras_macs(model) == macs_by_weight_use(report)
    assert report["totals"]["params"] == model.count_params()  # no BatchNorm: nothing is folded away


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kws", "resnet", "autoencoder"])
def test_example_models_macs_match_keras(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES / f"{name}.h5"
    if not path.exists():
        pytest.skip(f"{path} is absent (examples/make_examples.py makes it)")
    keras = pytest.importorskip("keras")
    model = keras.models.load_model(path, compile=False)
    report = inspect_json(path, capsys)  # Keras file: quantized first, through mcukit.quantize
    assert report["model"]["source"] == "keras"
    assert report["totals"]["macs"] == keras_macs(model) == macs_by_weight_use(report) > 0
