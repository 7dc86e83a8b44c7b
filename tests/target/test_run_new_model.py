"""`mcukit run` on a model no test has seen: a small random Keras network made here (convolution, depthwise
convolution, residual ADD, concatenation, pooling, dense, softmax), converted to int8 by TensorFlow, built for the
board and run there. Its outputs must equal the reference interpreter's bit for bit, for int8 inputs given as they
are and for float32 inputs, which mcukit quantizes with the model's input scale and zero point (recomputed here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from deploy_helpers import (  # noqa: F401 - fixtures, used by name
    deploy_cache_fixture,
    deploy_env_fixture,
    harness,
    run_cli,
)

from mcukit.ir.reader import parse_tflite
from mcukit.reference import run_reference

pytestmark = pytest.mark.slow

SAMPLES = 10


def _network(x):
    import keras
    from keras import layers

    a = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    b = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=1)(a)
    b = layers.ReLU(6.0)(b)
    c = layers.Add()([a, b])
    d = layers.MaxPooling2D(2)(c)
    e = layers.Conv2D(12, 1, strides=1, activation="relu")(d)
    f = layers.Concatenate()([e, layers.AveragePooling2D(1)(d)])
    g = layers.DepthwiseConv2D(3, strides=2, padding="valid", depth_multiplier=2)(f)
    h = layers.GlobalAveragePooling2D()(g)
    i = layers.Dense(16, activation="relu")(h)
    j = layers.Dense(10)(keras.layers.Dropout(0.1)(i))
    return layers.Softmax()(j)


@pytest.fixture(scope="module")
def new_model(deploy_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MCUKIT_CACHE_DIR", str(deploy_cache))  # a fresh conversion every session
        data = harness().int8_model(_network, [(16, 16, 3)], seed=7, calibration=32)
    path = tmp_path_factory.mktemp("new-model") / "fresh.tflite"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("board", "dtype"), [("qemu-m4", "int8"), ("qemu-m4", "float32"), ("qemu-m55", "int8")])
def test_run_equals_reference(board: str, dtype: str, new_model: Path, deploy_env: Path, tmp_path: Path,
                              capsys) -> None:
    model = new_model.read_bytes()
    graph = parse_tflite(model)
    kinds = {op.kind for op in graph.ops}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "CONCATENATION", "MAX_POOL_2D", "FULLY_CONNECTED"} <= kinds, kinds
    t = graph.input_tensors[0]
    rng = np.random.default_rng(11)
    shape = (SAMPLES, *t.shape[1:])
    if dtype == "int8":
        x = rng.integers(-128, 128, size=shape, dtype=np.int8)
        x8 = x
    else:
        x = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
        scale, zp = float(t.quant.scale[0]), int(t.quant.zero_point[0])
        x8 = np.clip(np.round(x.astype(np.float64) / scale) + zp, -128, 127).astype(np.int8)
        assert len(np.unique(x8)) > 100  # the float inputs span the int8 range, not a corner of it
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y.npy"
    result = run_cli(["run", new_model, "--board", board, "-i", tmp_path / "x.npy", "-o", out, "--quiet"], capsys)
    assert result.code == 0, result.err
    assert f"{SAMPLES} samples" in result.out
    got = np.load(out)
    want = run_reference(model, [x8.reshape(SAMPLES, *t.shape)], oracle="tflm")[0]
    assert got.dtype == want.dtype and got.shape[0] == SAMPLES
    np.testing.assert_array_equal(got, want.reshape(got.shape))
    assert len({row.tobytes() for row in got}) > 1  # the outputs depend on the inputs
