"""Calibration data: read it, check it against the model input, and split off held-out samples.

Accepted: a `.npy` file, a `.npz` file (the array named `x`, else the first array), or a folder of `.npy` files
(each one sample or a stack of samples). Samples are stacked on a first axis: (N, *input_shape) where input_shape
excludes the batch dimension; a single sample of exactly input_shape is also accepted.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcukit.errors import CalibrationError

SYNTHETIC_WARNING = (
    "NO CALIBRATION DATA: quantized with {n} random standard-normal inputs. Activation ranges are guessed, so int8 "
    "accuracy may be poor and the fidelity figures below are measured on random inputs too. "
    "Pass real inputs with --calibration DATA.npy (shape (N, {shape}))."
)
HELD_OUT_WARNING = (
    "only {n} calibration sample(s): all were used for calibration, so fidelity was measured on random "
    "standard-normal inputs instead of held-out real ones; pass more samples for a meaningful report"
)
MAX_HELD_OUT = 200


@dataclass(frozen=True)
class Split:
    calibration: np.ndarray  # (N, *input_shape) float32
    held_out: np.ndarray  # (M, *input_shape) float32, disjoint from calibration
    held_out_source: str  # "held-out calibration data" | "synthetic"
    warnings: tuple[str, ...]


def fingerprint(path: str | Path | None) -> bytes:
    """Bytes that identify the calibration data for the cache key (contents of the file or of every .npy)."""
    if path is None:
        return b"synthetic"
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for f in sorted(path.glob("*.npy")):
            digest.update(f.name.encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
    elif path.is_file():
        digest.update(path.read_bytes())
    else:
        _missing(path)
    return digest.digest()


def _missing(path: Path) -> None:
    raise CalibrationError(f"calibration data {path} does not exist", "check the path given to --calibration")


def read(path: str | Path) -> list[np.ndarray]:
    """Read calibration data as stored (no shape check yet): one array per file."""
    path = Path(path)
    if not path.exists():
        _missing(path)
    if path.is_dir():
        files = sorted(path.glob("*.npy"))
        if not files:
            raise CalibrationError(f"the folder {path} holds no .npy files", "put one .npy file per sample in it")
        return [_load_npy(f) for f in files]
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return [_load_npy(path)]
    if suffix == ".npz":
        return [_load_npz(path)]
    raise CalibrationError(f"calibration data {path} is not .npy, .npz or a folder of .npy files",
                           "save your inputs with numpy.save('calib.npy', x) where x has shape (N, *input_shape)")


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CalibrationError(f"cannot read {path} as a numpy array ({_first_line(exc)})",
                               "save plain numeric arrays with numpy.save (no pickled objects)") from exc


def _load_npz(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not npz.files:
                raise CalibrationError(f"{path} holds no arrays", "save the inputs with numpy.savez(path, x=x)")
            key = "x" if "x" in npz.files else npz.files[0]
            return npz[key]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CalibrationError(f"cannot read {path} as a numpy .npz file ({_first_line(exc)})",
                               "save plain numeric arrays with numpy.savez (no pickled objects)") from exc


def check(arrays: list[np.ndarray], input_shape: tuple[int, ...], source: str | Path) -> np.ndarray:
    """Return the data as one float32 (N, *input_shape) array or raise CalibrationError naming the expected shape."""
    return np.concatenate([_check_one(a, input_shape, source) for a in arrays])


def _check_one(data: np.ndarray, input_shape: tuple[int, ...], source: str | Path) -> np.ndarray:
    expected = "(N, " + ", ".join(str(d) for d in input_shape) + ")"
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise CalibrationError(f"calibration data {source} has dtype {arr.dtype}, not numbers",
                               "save float inputs, as the float model receives them")
    if arr.shape == input_shape:
        arr = arr[None]
    elif arr.ndim == len(input_shape) + 2 and arr.shape[1] == 1 and arr.shape[2:] == input_shape:
        arr = arr[:, 0]  # (N, 1, *shape): samples that kept their batch dimension
    if arr.ndim != len(input_shape) + 1 or arr.shape[1:] != input_shape:
        raise CalibrationError(
            f"calibration data {source} has shape {tuple(arr.shape)} but the model input is "
            f"{tuple(input_shape)}: expected {expected}",
            "stack samples on a first axis; each sample must have the model input's shape",
        )
    if arr.shape[0] == 0:
        raise CalibrationError(f"calibration data {source} holds no samples", f"pass an array of shape {expected}")
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise CalibrationError(f"calibration data {source} contains NaN or infinite values",
                               "clean the data; calibration ranges come from these values")
    return arr


def synthetic(input_shape: tuple[int, ...], n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *input_shape)).astype(np.float32)


def split(data: np.ndarray | None, input_shape: tuple[int, ...], samples: int, seed: int) -> Split:
    """Choose calibration samples and disjoint held-out samples for the fidelity check.

    With more than `samples` items, `samples` calibrate and the rest (up to MAX_HELD_OUT) are held out. With fewer,
    a fifth is held out. Without data both sets are synthetic (different draws) and a loud warning says so.
    """
    shape_text = ", ".join(str(d) for d in input_shape)
    if data is None:
        calib = synthetic(input_shape, samples, seed)
        held = synthetic(input_shape, min(samples, 100), seed + 1)
        return Split(calib, held, "synthetic", (SYNTHETIC_WARNING.format(n=samples, shape=shape_text),))
    n = data.shape[0]
    order = np.random.default_rng(seed).permutation(n)
    if n > samples:
        n_cal = samples
    else:
        n_cal = n - n // 5
    calib = data[order[:n_cal]]
    held = data[order[n_cal : n_cal + MAX_HELD_OUT]]
    if held.shape[0] == 0:
        held = synthetic(input_shape, 20, seed + 1)
        return Split(calib, held, "synthetic", (HELD_OUT_WARNING.format(n=n),))
    return Split(calib, held, "held-out calibration data", ())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
