"""Code generator: determinism, errors at compile time, identifiers, placeholders, host build and run.

Graphs are built from IR dataclasses (no TensorFlow) and lowered with the real FULLY_CONNECTED lowering plus
throwaway lowerings defined here; the TF-based end-to-end check is marked slow.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from mcukit.codegen.generate import generate
from mcukit.codegen.kernel_call import SCRATCH, CArray, KernelCall, LowerOptions, array, tensor
from mcukit.errors import CompileError, UnsupportedModelError
from mcukit.hostbuild import build_library, load
from mcukit.ir.graph import FullyConnectedOptions, Graph, Op, Quant, ReshapeOptions, Tensor


def _fc_lower():
    try:
        return importlib.import_module("mcukit.codegen.ops.fully_connected").lower
    except ImportError:
        pytest.skip("the FULLY_CONNECTED lowering (mcukit/codegen/ops/fully_connected.py) is missing")


def _alias_lower(op, graph, options):
    return KernelCall("", "", (), (), alias=True)


@pytest.fixture
def ops_table(monkeypatch):
    """Registry with FULLY_CONNECTED (real) and RESHAPE (throwaway alias), whatever is registered globally."""
    from mcukit.codegen import ops

    table = dict(ops.registry())
    table.setdefault("FULLY_CONNECTED", _fc_lower())
    table.setdefault("RESHAPE", _alias_lower)
    monkeypatch.setattr(ops, "registry", lambda: table)
    return table


def _act(i: int, shape, name: str, scale=0.05, zp=3) -> Tensor:
    return Tensor(i, name, tuple(shape), "int8", Quant((scale,), (zp,)))


def fc_graph(names=("in", "fc1/out", "fc1/out", "reshape/out"), seed: int = 0) -> Graph:
    """in[1,24] -FC-> [1,16] -FC-> [1,8] -RESHAPE-> [1,2,4]; weights per-channel, biases int32."""
    rng = np.random.default_rng(seed)
    w1 = rng.integers(-127, 128, size=(16, 24), dtype=np.int8)
    w2 = rng.integers(-127, 128, size=(8, 16), dtype=np.int8)
    b1 = rng.integers(-500, 500, size=16, dtype=np.int32)
    tensors = (
        _act(0, (1, 24), names[0], 0.02, -1),
        Tensor(1, "w1", (16, 24), "int8", Quant(tuple(rng.uniform(0.001, 0.01, 16)), (0,) * 16), w1.tobytes()),
        Tensor(2, "b1", (16,), "int32", Quant((1e-4,), (0,)), b1.tobytes()),
        _act(3, (1, 16), names[1], 0.1, 5),
        Tensor(4, "w2", (8, 16), "int8", Quant((0.004,), (0,)), w2.tobytes()),
        _act(5, (1, 8), names[2], 0.2, -7),
        _act(6, (1, 2, 4), names[3], 0.2, -7),
        Tensor(7, "shape", (3,), "int32", None, np.array([1, 2, 4], dtype=np.int32).tobytes()),
    )
    ops = (
        Op(0, "FULLY_CONNECTED", (0, 1, 2), (3,), FullyConnectedOptions("RELU", False)),
        Op(1, "FULLY_CONNECTED", (3, 4, -1), (5,), FullyConnectedOptions("NONE", False)),
        Op(2, "RESHAPE", (5, 7), (6,), ReshapeOptions((1, 2, 4))),
    )
    return Graph("fc test", tensors, ops, (0,), (6,), "ab" * 32)


def test_generation_is_deterministic(ops_table):
    a = generate(fc_graph(), emit_flatbuffer=b"TFL3fake")
    b = generate(fc_graph(), emit_flatbuffer=b"TFL3fake")
    assert a.files == b.files
    assert sorted(a.files) == ["model.c", "model.h", "model_tflite.c", "model_tflite.h", "model_weights.c"]
    # ... and a different rounding changes the rounding guard, nothing is shared by accident.
    c = generate(fc_graph(), LowerOptions(rounding="litert"))
    assert "#if MK_SINGLE_ROUNDING != 1" in c.files["model.c"]
    assert "#if MK_SINGLE_ROUNDING != 0" in a.files["model.c"]


def test_generated_model_builds_and_runs_on_host(ops_table):
    gen = generate(fc_graph())
    assert gen.arena_bytes == gen.plan.arena_bytes <= gen.plan.naive_bytes
    assert len(gen.layer_names) == 3 and gen.layer_names[0].startswith("FULLY_CONNECTED")
    host = load(gen)
    x = np.random.default_rng(1).integers(-128, 128, size=(5, 1, 24), dtype=np.int8)
    (y,) = host.run([x])
    assert y.shape == (5, 1, 2, 4) and y.dtype == np.int8
    # Each sample is independent of the previous invoke (the arena is rewritten, not accumulated).
    (y0,) = host.invoke([x[0]])
    np.testing.assert_array_equal(y0, y[0])
    assert len(np.unique(y)) > 1


def test_unused_constants_are_not_emitted(ops_table):
    gen = generate(fc_graph())
    weights = gen.files["model_weights.c"]
    assert "mk_w1_w1" in weights and "mk_w4_w2" in weights
    assert "mk_w7_" not in weights  # the RESHAPE shape tensor is referenced by no call
    # weights, bias, per-channel mult/shift of layer 0, per-tensor mult/shift of layer 1
    expected = 16 * 24 + 16 * 4 + 8 * 16 + (16 + 16) * 4 + (1 + 1) * 4
    assert gen.weights_bytes == expected


def test_identifiers_are_sanitized_and_unique(ops_table):
    names = ("1 in-put/ü", "a/b:0", "a_b;0", "*/ evil \"name\" \\")
    g = fc_graph(names=names)
    weird = Tensor(1, "a/b:0", g.tensors[1].shape, "int8", g.tensors[1].quant, g.tensors[1].data)
    weird2 = Tensor(4, "a_b:0", g.tensors[4].shape, "int8", g.tensors[4].quant, g.tensors[4].data)
    tensors = list(g.tensors)
    tensors[1], tensors[4] = weird, weird2
    g = Graph('mod"el*/\n', tuple(tensors), g.ops, g.inputs, g.outputs, g.sha256)
    gen = generate(g)
    build_library(gen.files, "tflm")  # -Wall -Wextra -Werror: any bad identifier or string would fail here
    assert "mk_w1_b_0" in gen.files["model_weights.c"] and "mk_w4_a_b_0" in gen.files["model_weights.c"]


def test_unsupported_op_is_reported_at_compile_time(ops_table):
    g = fc_graph()
    ops = list(g.ops)
    ops[1] = Op(1, "SQUARED_DIFFERENCE", (3, 3), (5,))
    bad = Graph(g.name, g.tensors, tuple(ops), g.inputs, g.outputs, g.sha256)
    with pytest.raises(UnsupportedModelError) as info:
        generate(bad)
    err = info.value
    assert "SQUARED_DIFFERENCE" in err.message and "op 1" in err.message
    assert err.hint


def test_placeholders_scratch_and_arrays(ops_table, monkeypatch):
    """A throwaway lowering using SCRATCH, an array in params and args, and an in-place output."""

    def lower(op, graph, options):
        return KernelCall(
            kernel="mk_fully_connected_s8",
            params_type="mk_fully_connected_params",
            params=(("batches", "1"), ("in_features", "16"), ("out_features", "8"), ("input_offset", "0"),
                    ("output_offset", "0"), ("act_min", "-128"), ("act_max", "127"), ("per_channel", "0"),
                    ("multipliers", array("m")), ("shifts", array("s"))),
            args=(tensor(op.inputs[0]), SCRATCH, array("b"), tensor(op.outputs[0])),
            arrays=(CArray("m", "int32_t", np.array([1 << 30], np.int32)),
                    CArray("s", "int32_t", np.array([-1], np.int32)),
                    CArray("b", "int32_t", np.arange(8, dtype=np.int32))),
            scratch_bytes=128,
        )

    ops_table["FULLY_CONNECTED"] = lower
    gen = generate(fc_graph())
    off, size = gen.plan.scratch[1]
    assert size == 128
    assert f"((int8_t *)(mk_arena + {off}))" in gen.files["model.c"]
    assert "@" not in gen.files["model.c"]
    assert ".multipliers = mk_l1_m" in gen.files["model.c"]
    build_library(gen.files, "tflm")


def test_wrong_rounding_refuses_to_build(ops_table):
    gen = generate(fc_graph(), LowerOptions(rounding="tflm"))
    with pytest.raises(CompileError, match="rounding"):
        build_library(gen.files, "litert")


def test_profile_hooks_are_called_in_layer_order(ops_table):
    import ctypes

    gen = generate(fc_graph())
    files = dict(gen.files)
    files["model.c"] = "#define MK_PROFILE 1\n" + files["model.c"]
    files["profile.c"] = (
        "int mk_test_events[64];\nint mk_test_count;\n"
        "void mk_profile_layer_begin(int layer);\nvoid mk_profile_layer_end(int layer);\n"
        "void mk_profile_layer_begin(int layer) { mk_test_events[mk_test_count++] = layer; }\n"
        "void mk_profile_layer_end(int layer) { mk_test_events[mk_test_count++] = -1 - layer; }\n"
    )
    lib = ctypes.CDLL(str(build_library(files, "tflm")))
    assert lib.mk_model_invoke() == 0
    count = ctypes.c_int.in_dll(lib, "mk_test_count").value
    events = (ctypes.c_int * 64).in_dll(lib, "mk_test_events")[:count]
    assert events == [0, -1, 1, -2, 2, -3]


@pytest.mark.slow
@pytest.mark.parametrize("rounding", ["tflm", "litert"])
def test_dense_model_bit_exact(ops_table, int8_model, bit_exact, rounding):
    import keras

    model = int8_model(
        lambda x: keras.layers.Dense(7, activation="relu6")(keras.layers.Dense(16, activation="relu")(x)),
        [(20,)],
        seed=3,
    )
    report = bit_exact(model, rounding=rounding, samples=16, seed=1)
    assert report.ok and report.samples == 16
