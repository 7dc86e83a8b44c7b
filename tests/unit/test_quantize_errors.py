"""`mcukit quantize` refuses bad input with one clear line and no traceback, mostly before importing TensorFlow.

These tests do not import TensorFlow (the TensorFlow-missing case blocks it in a child process); the ones that need
a real Keras model live in test_quantize.py.
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
from mcukit.quantize import calibration as cal

ROOT = Path(__file__).resolve().parents[2]
KWS = ROOT / "examples" / "kws.h5"

# Runs mcukit with `import tensorflow` failing as it does when TensorFlow is not installed.
BLOCK_TF = """
import sys
class _NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NoTensorFlow())
from mcukit.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MCUKIT_CACHE_DIR", str(tmp_path / "cache"))


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["quantize", *args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("error: "), err
    assert len(lines) <= 2, err  # the message, and at most one "fix:" line
    for needle in needles:
        assert needle.lower() in err.lower(), err


def test_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, str(tmp_path / "nope.h5"))
    assert_clean_error(code, err, "does not exist")


def test_empty_file(capsys, tmp_path):
    path = tmp_path / "empty.h5"
    path.write_bytes(b"")
    code, _, err = run(capsys, str(path))
    assert_clean_error(code, err, "empty")


def test_random_bytes_with_h5_suffix(capsys, tmp_path):
    path = tmp_path / "random.h5"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    code, _, err = run(capsys, str(path))
    assert_clean_error(code, err, "corrupt")


def test_truncated_h5(capsys, tmp_path):
    data = KWS.read_bytes()
    path = tmp_path / "truncated.h5"
    path.write_bytes(data[: len(data) // 2])
    code, _, err = run(capsys, str(path))
    assert_clean_error(code, err, "truncated")


def test_truncated_keras_archive(capsys, tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    code, _, err = run(capsys, str(path))
    assert_clean_error(code, err, "corrupt")


@pytest.mark.parametrize("name, content, needle", [
    ("notes.txt", b"just some text\n", "not a keras model"),
    ("model.tflite", b"\x1c\x00\x00\x00TFL3" + bytes(64), "mcukit inspect"),
    ("model.bin", b"\x1c\x00\x00\x00TFL3" + bytes(64), "already a tflite model"),
])
def test_wrong_type(capsys, tmp_path, name, content, needle):
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = run(capsys, str(path))
    assert_clean_error(code, err, needle)


def test_folder_that_is_not_a_savedmodel(capsys, tmp_path):
    code, _, err = run(capsys, str(tmp_path))
    assert_clean_error(code, err, "saved_model.pb")


def test_weights_only_h5(capsys, tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        f.create_dataset("dense/kernel", data=np.zeros((2, 2), np.float32))
    code, _, err = run(capsys, str(path))
    assert_clean_error(code, err, "no model architecture")


def _keras3_config_with_lambda() -> str:
    return json.dumps({"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [None, 4]}},
        {"module": "keras.layers", "class_name": "Lambda", "name": "scale_by_two",
         "config": {"name": "scale_by_two", "function": {"class_name": "__lambda__", "config": {"code": "..."}}}},
    ]}})


def test_lambda_layer_is_refused_before_loading(capsys, tmp_path):
    """A Lambda layer carries Python code: the architecture scan refuses it and names the layer."""
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "lambda.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "3.15.1"
        f.attrs["model_config"] = _keras3_config_with_lambda()
    code, _, err = run(capsys, str(path))
    assert_clean_error(code, err, "scale_by_two", "lambda")


@pytest.mark.parametrize("layer, needles", [
    ({"module": None, "class_name": "my>Twice", "registered_name": "my>Twice", "config": {"name": "twice"}},
     ("'twice'", "custom keras class", "my>Twice")),
    ({"class_name": "LSTM", "config": {"name": "lstm_1", "units": 4}}, ("'lstm_1'", "recurrent")),
])
def test_custom_and_recurrent_layers_are_refused(capsys, tmp_path, layer, needles):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "model.h5"
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"name": "x", "batch_shape": [None, 4, 3]}}, layer]}}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "3.15.1"
        f.attrs["model_config"] = json.dumps(config)
    code, _, err = run(capsys, str(path))
    assert_clean_error(code, err, *needles)


def test_missing_calibration_file(capsys, tmp_path):
    code, _, err = run(capsys, str(KWS), "--calibration", str(tmp_path / "nope.npy"))
    assert_clean_error(code, err, "does not exist")


def test_calibration_of_unknown_type(capsys, tmp_path):
    path = tmp_path / "calib.csv"
    path.write_text("1,2,3\n")
    code, _, err = run(capsys, str(KWS), "--calibration", str(path))
    assert_clean_error(code, err, ".npy")


def test_tensorflow_missing(tmp_path):
    env = {**os.environ, "MCUKIT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", BLOCK_TF, "quantize", str(KWS), "-o", str(tmp_path / "k.tflite")],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: TensorFlow"), proc.stderr
    assert "pip install 'mcukit[tf]'" in proc.stderr
    assert not (tmp_path / "k.tflite").exists()


# ---- calibration data, without a model -------------------------------------------------------------------------


def test_calibration_formats(tmp_path):
    x = np.random.default_rng(0).normal(size=(5, 3, 2)).astype(np.float32)
    np.save(tmp_path / "a.npy", x)
    np.savez(tmp_path / "first.npz", other=x * 2, more=x)
    np.savez(tmp_path / "named.npz", other=x * 2, x=x)
    folder = tmp_path / "folder"
    folder.mkdir()
    for i in range(5):
        np.save(folder / f"{i:02d}.npy", x[i])
    for src, want in (("a.npy", x), ("first.npz", x * 2), ("named.npz", x), ("folder", x)):
        got = cal.check(cal.read(tmp_path / src), (3, 2), src)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.float32


def test_calibration_accepts_one_sample_and_kept_batch_axis():
    x = np.arange(6, dtype=np.float64).reshape(3, 2)
    assert cal.check([x], (3, 2), "s").shape == (1, 3, 2)
    assert cal.check([x[None, None]], (3, 2), "s").shape == (1, 3, 2)


@pytest.mark.parametrize("arr, needle", [
    (np.zeros((4, 3, 3), np.float32), "expected (N, 3, 2)"),
    (np.zeros((4, 6), np.float32), "expected (N, 3, 2)"),
    (np.zeros((0, 3, 2), np.float32), "no samples"),
    (np.full((2, 3, 2), np.nan, np.float32), "nan"),
    (np.array([["a", "b"]] * 3), "not numbers"),
])
def test_calibration_rejects(arr, needle):
    from mcukit.errors import CalibrationError

    with pytest.raises(CalibrationError) as info:
        cal.check([arr], (3, 2), "data.npy")
    assert needle.lower() in str(info.value).lower()


def test_split_is_disjoint_and_seeded():
    x = np.arange(50, dtype=np.float32).reshape(50, 1)
    s = cal.split(x, (1,), samples=30, seed=3)
    assert s.calibration.shape == (30, 1) and s.held_out.shape == (20, 1)
    assert not set(s.calibration.ravel()) & set(s.held_out.ravel())
    assert s.warnings == ()
    again = cal.split(x, (1,), samples=30, seed=3)
    np.testing.assert_array_equal(s.calibration, again.calibration)
    few = cal.split(x[:10], (1,), samples=200, seed=0)
    assert few.calibration.shape[0] == 8 and few.held_out.shape[0] == 2


def test_split_without_data_warns_loudly():
    s = cal.split(None, (49, 10, 1), samples=16, seed=0)
    assert s.held_out_source == "synthetic"
    assert s.calibration.shape == (16, 49, 10, 1)
    assert len(s.warnings) == 1 and "NO CALIBRATION DATA" in s.warnings[0] and "--calibration" in s.warnings[0]
    assert not np.array_equal(s.calibration[: len(s.held_out)], s.held_out)
