"""`mcukit quantize` end to end with TensorFlow: the example models, legacy Keras 2 files, SavedModels, the cache.

Every conversion is done once per session (fixtures) and shared; the whole file takes well under two minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mcukit.__main__ import main
from mcukit.ir.reader import parse_tflite, read_tflite
from mcukit.reference import run_reference

# Keras' own saving code trips a numpy 2 DeprecationWarning (np.array on a tensor); it is not ours to fix.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DYNAMIC_SHAPE_OPS = {"SHAPE", "STRIDED_SLICE", "PACK"}


@pytest.fixture(scope="session")
def qdir(tmp_path_factory):
    """A private cache and output folder for this file's conversions."""
    root = tmp_path_factory.mktemp("quantize")
    old = os.environ.get("MCUKIT_CACHE_DIR")
    os.environ["MCUKIT_CACHE_DIR"] = str(root / "cache")
    yield root
    if old is None:
        os.environ.pop("MCUKIT_CACHE_DIR", None)
    else:
        os.environ["MCUKIT_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from mcukit.quantize._tf import import_tf

    import_tf()
    import keras

    return keras


def cli(capfd, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capfd.readouterr()
    return code, out, err


@pytest.fixture(scope="session")
def kws_cli(qdir, keras):
    """`mcukit quantize examples/kws.h5` as a user would first run it: no calibration data."""
    out = qdir / "kws.tflite"
    code = main(["quantize", str(EXAMPLES / "kws.h5"), "-o", str(out)])
    assert code == 0
    return out


def int8_predict(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """Dequantized outputs of the int8 model on float inputs, computed here from the file's own parameters."""
    graph = parse_tflite(tflite)
    (inp,), (outp,) = graph.input_tensors, graph.output_tensors
    q = np.clip(np.round(x / inp.quant.scale[0]) + inp.quant.zero_point[0], -128, 127).astype(np.int8)
    (res,) = run_reference(tflite, [q.reshape((len(x), *inp.shape))], oracle="litert")
    return (res.reshape(len(x), -1).astype(np.float64) - outp.quant.zero_point[0]) * outp.quant.scale[0]


def float_predict(keras, path: Path, x: np.ndarray) -> np.ndarray:
    model = keras.models.load_model(path, compile=False)
    return model(x, training=False).numpy().reshape(len(x), -1)


def test_kws_int8_agrees_with_float_top1(kws_cli, keras):
    test = np.load(EXAMPLES / "kws_test.npz")
    x = test["x"]
    f = float_predict(keras, EXAMPLES / "kws.h5", x)
    q = int8_predict(kws_cli.read_bytes(), x)
    agreement = float(np.mean(np.argmax(f, 1) == np.argmax(q, 1)))
    assert len(x) >= 100
    assert agreement >= 0.95, f"int8 agrees with float on {agreement:.1%} of {len(x)} samples"


def check_deployable(path: Path) -> None:
    graph = read_tflite(path)
    assert not DYNAMIC_SHAPE_OPS & {op.kind for op in graph.ops}
    for t in graph.input_tensors + graph.output_tensors:
        assert t.dtype == "int8", t
        assert t.shape[0] == 1, t
        assert t.quant is not None and len(t.quant.scale) == 1


def test_kws_is_int8_batch1_without_shape_ops(kws_cli):
    check_deployable(kws_cli)
    kinds = {op.kind for op in read_tflite(kws_cli).ops}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D"} <= kinds


@pytest.mark.parametrize("name", ["resnet", "autoencoder"])
def test_other_examples_convert_with_calibration(qdir, keras, capfd, name):
    out = qdir / f"{name}.tflite"
    code, stdout, err = cli(capfd, "quantize", str(EXAMPLES / f"{name}.h5"), "--calibration",
                            str(EXAMPLES / f"{name}_test.npz"), "-o", str(out), "--json")
    assert code == 0, err
    check_deployable(out)  # resnet has a Flatten: with a dynamic batch it would become SHAPE/STRIDED_SLICE/PACK
    summary = json.loads(stdout)
    fid = summary["fidelity"]
    assert summary["warnings"] == [] and fid["source"] == "held-out calibration data"
    test = np.load(EXAMPLES / f"{name}_test.npz")
    f = float_predict(keras, EXAMPLES / f"{name}.h5", test["x"])
    q = int8_predict(out.read_bytes(), test["x"])
    if name == "resnet":
        assert np.mean(np.argmax(f, 1) == np.argmax(q, 1)) >= 0.95
        assert fid["top1_agreement"] is not None
        assert "ADD" in {op.kind for op in read_tflite(out).ops}
    else:
        assert fid["top1_agreement"] is None  # an autoencoder is not a classifier
        assert np.max(np.abs(f - q)) < 0.1 * (f.max() - f.min())


def test_cli_warns_without_calibration_and_reports(qdir, kws_cli, capfd):
    """The second run is served from the cache, and still shows the synthetic-data warning and the table."""
    code, out, err = cli(capfd, "quantize", str(EXAMPLES / "kws.h5"), "-o", str(qdir / "again.tflite"))
    assert code == 0
    assert "NO CALIBRATION DATA" in err and "--calibration" in err
    assert "top-1" in out and "(cached)" in out
    assert (qdir / "again.tflite").read_bytes() == kws_cli.read_bytes()


def test_cache_hit_does_not_import_tensorflow(qdir, kws_cli):
    code = (
        "import sys\n"
        "from mcukit.quantize import quantize_file\n"
        f"r = quantize_file({str(EXAMPLES / 'kws.h5')!r})\n"
        "assert r.cached, 'not served from the cache'\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'\n"
        "sys.stdout.buffer.write(r.tflite)\n"
    )
    env = {**os.environ, "MCUKIT_CACHE_DIR": str(qdir / "cache")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == kws_cli.read_bytes()


def test_calibration_shape_mismatch(qdir, kws_cli, capfd):
    code, _, err = cli(capfd, "quantize", str(EXAMPLES / "kws.h5"), "--calibration",
                       str(EXAMPLES / "resnet_test.npz"), "-o", str(qdir / "bad.tflite"))
    assert code != 0 and "Traceback" not in err
    assert err.startswith("error: calibration data") and "expected (N, 49, 10, 1)" in err
    assert not (qdir / "bad.tflite").exists()


# ---- other model files ------------------------------------------------------------------------------------------


def _to_keras2(node):
    """Rewrite a Keras 3 h5 model_config into what Keras 2 wrote: plain dtypes, old initializer and input forms."""
    if isinstance(node, list):
        return [_to_keras2(v) for v in node]
    if not isinstance(node, dict):
        return node
    if node.get("class_name") == "DTypePolicy":
        return node["config"]["name"]
    out = {k: _to_keras2(v) for k, v in node.items() if k not in ("module", "registered_name", "build_config",
                                                                  "quantization_config", "input_axes",
                                                                  "output_axes", "optional")}
    cfg = out.get("config")
    if isinstance(cfg, dict):
        if out.get("class_name") == "InputLayer" and "batch_shape" in cfg:
            cfg["batch_input_shape"] = cfg.pop("batch_shape")
        if out.get("class_name") == "DepthwiseConv2D":
            cfg["groups"] = 1  # what Keras 2 wrote, and what Keras 3 rejects
    return out


@pytest.fixture(scope="session")
def legacy_h5(qdir, keras):
    import h5py

    layers = keras.layers
    keras.utils.set_random_seed(7)
    model = keras.Sequential([
        keras.Input((12, 8, 3)),
        layers.Conv2D(8, 3, padding="same"),
        layers.DepthwiseConv2D(3, padding="same"),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Flatten(),
        layers.Dense(5, activation="softmax"),
    ])
    path = qdir / "legacy_keras2.h5"
    model.save(path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        f.attrs["model_config"] = json.dumps(_to_keras2(config))
        f.attrs["keras_version"] = "2.15.0"
    x = np.random.default_rng(0).normal(size=(64, 12, 8, 3)).astype(np.float32)
    return path, model(x, training=False).numpy(), x


def test_legacy_keras2_h5_is_really_legacy(legacy_h5, keras):
    """Guard for the next test: plain Keras 3 refuses this file the way it refuses real Keras 2 files."""
    path, _, _ = legacy_h5
    with pytest.raises(Exception, match="groups"):
        keras.models.load_model(path, compile=False)


def test_legacy_keras2_h5_with_depthwise_converts(legacy_h5, qdir):
    from mcukit.quantize import quantize_file

    path, expected, x = legacy_h5
    calib = qdir / "legacy_calib.npy"
    np.save(calib, x)
    result = quantize_file(path, calibration=calib)
    out = qdir / "legacy.tflite"
    out.write_bytes(result.tflite)
    check_deployable(out)
    assert "DEPTHWISE_CONV_2D" in {op.kind for op in read_tflite(out).ops}
    q = int8_predict(result.tflite, x)
    assert np.max(np.abs(q - expected.reshape(len(x), -1))) < 0.05  # the weights were loaded, not re-initialized


def test_savedmodel_folder_converts(qdir, keras, capfd):
    model = keras.models.load_model(EXAMPLES / "kws.h5", compile=False)
    folder = qdir / "kws_savedmodel"
    from mcukit.quantize._tf import muffled

    with muffled():
        model.export(str(folder), format="tf_saved_model")
    out = qdir / "kws_sm.tflite"
    code, _, err = cli(capfd, "quantize", str(folder), "--calibration", str(EXAMPLES / "kws_test.npz"),
                            "-o", str(out), "--json")
    assert code == 0, err
    check_deployable(out)
    x = np.load(EXAMPLES / "kws_test.npz")["x"]
    f = model(x, training=False).numpy()
    q = int8_predict(out.read_bytes(), x)
    assert np.mean(np.argmax(f, 1) == np.argmax(q, 1)) >= 0.95


def test_keras_archive_converts(qdir, keras):
    from mcukit.quantize import quantize_file

    model = keras.models.load_model(EXAMPLES / "autoencoder.h5", compile=False)
    path = qdir / "autoencoder.keras"
    model.save(path)
    result = quantize_file(path, calibration=EXAMPLES / "autoencoder_test.npz", samples=100)
    out = qdir / "autoencoder_keras.tflite"
    out.write_bytes(result.tflite)
    check_deployable(out)
    assert result.fidelity.samples == 100 and result.fidelity.top1_agreement is None
    x = np.load(EXAMPLES / "autoencoder_test.npz")["x"]
    f = model(x, training=False).numpy()
    q = int8_predict(result.tflite, x)
    assert np.max(np.abs(f - q)) < 0.1 * (f.max() - f.min())
    assert result.fidelity.max_abs_error <= np.max(np.abs(f - q)) + 1e-6  # its held-out samples are a subset


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_real_lambda_layer_is_refused(qdir, keras, capfd, suffix):
    inp = keras.Input((4,))
    out = keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t * 2.0, name="times_two")(inp))
    path = qdir / f"lambda{suffix}"
    keras.Model(inp, out).save(path)
    code, _, err = cli(capfd, "quantize", str(path), "-o", str(qdir / "lambda.tflite"))
    assert code != 0 and "Traceback" not in err
    assert err.startswith("error: layer 'times_two'") and "Lambda" in err
