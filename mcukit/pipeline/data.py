"""Inputs for a board run: test data files (.npz/.npy), float -> int8 quantization, seeded random inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcukit.errors import CalibrationError
from mcukit.ir.graph import NUMPY_DTYPES, Graph, Tensor


@dataclass(frozen=True)
class Samples:
    """Model inputs ready for the board: one array per model input, each (N, *tensor_shape) in the tensor's dtype."""

    inputs: tuple[np.ndarray, ...]
    labels: np.ndarray | None = None
    source: str = "random"

    @property
    def count(self) -> int:
        return int(self.inputs[0].shape[0]) if self.inputs else 0

    def sample(self, i: int) -> list[np.ndarray]:
        return [x[i] for x in self.inputs]


def load_array_file(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(x, labels or None) from .npy, or .npz with `x` (else the first array) and optional `y`/`labels`."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"data file {path} does not exist", "check the path")
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises several types for bad files; all mean "not a numpy file"
        raise CalibrationError(f"{path.name} is not a readable .npy/.npz file ({exc})",
                               "save the data with numpy.save / numpy.savez") from exc
    if isinstance(loaded, np.ndarray):
        return loaded, None
    with loaded:
        keys = list(loaded.keys())
        if not keys:
            raise CalibrationError(f"{path.name} holds no arrays", "save the inputs under the key `x`")
        x = loaded["x"] if "x" in keys else loaded[keys[0]]
        labels = next((loaded[k] for k in ("y", "labels") if k in keys), None)
    return x, labels


def to_model_inputs(graph: Graph, arrays: list[np.ndarray], labels: np.ndarray | None = None,
                    source: str = "file") -> Samples:
    """Shape-check and convert user arrays: int8 (or the model's dtype) are taken as they are, float arrays are
    quantized with the input tensor's scale and zero point."""
    tensors = graph.input_tensors
    if len(arrays) != len(tensors):
        raise CalibrationError(f"the model has {len(tensors)} inputs but {len(arrays)} arrays were given",
                               "pass one --input per model input, in order")
    out = tuple(_convert(t, np.asarray(a), k) for k, (t, a) in enumerate(zip(tensors, arrays)))
    counts = {x.shape[0] for x in out}
    if len(counts) != 1:
        raise CalibrationError("the input arrays hold different numbers of samples", "give every input N samples")
    if labels is not None and len(labels) != out[0].shape[0]:
        raise CalibrationError(f"{len(labels)} labels for {out[0].shape[0]} samples", "check the data file")
    return Samples(inputs=out, labels=labels, source=source)


def _convert(t: Tensor, a: np.ndarray, k: int) -> np.ndarray:
    shape = t.shape
    if a.shape[1:] == shape:
        rows = a
    elif shape and shape[0] == 1 and a.shape[1:] == shape[1:]:
        rows = a.reshape((a.shape[0], *shape))
    elif a.shape == shape or (shape and shape[0] == 1 and a.shape == shape[1:]):
        rows = a.reshape((1, *shape))
    else:
        raise CalibrationError(
            f"input {k} ({t.name}) expects samples of shape {shape[1:] if shape and shape[0] == 1 else shape}, "
            f"got an array of shape {a.shape}",
            "give an array of shape (N, *input_shape)",
        )
    dtype = np.dtype(NUMPY_DTYPES[t.dtype])
    if rows.dtype == dtype:
        return np.ascontiguousarray(rows)
    if np.issubdtype(rows.dtype, np.floating) and t.quant is not None and np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        scale, zp = t.quant.scale[0], t.quant.zero_point[0]
        q = np.round(rows.astype(np.float64) / scale) + zp
        return np.clip(q, info.min, info.max).astype(dtype)
    if np.issubdtype(rows.dtype, np.integer) and np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if rows.min(initial=0) < info.min or rows.max(initial=0) > info.max:
            raise CalibrationError(f"input {k} has values outside {dtype} range", f"pass {dtype} or float data")
        return rows.astype(dtype)
    if np.issubdtype(dtype, np.floating):
        return rows.astype(dtype)
    raise CalibrationError(f"input {k}: cannot use {rows.dtype} data for a {dtype} input", f"pass {dtype} or float")


def random_samples(graph: Graph, count: int, seed: int = 0) -> Samples:
    """Seeded random inputs covering the whole int8 range (or N(0,1) for float inputs)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for t in graph.input_tensors:
        dtype = np.dtype(NUMPY_DTYPES[t.dtype])
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            arrays.append(rng.integers(info.min, info.max + 1, size=(count, *t.shape), dtype=dtype))
        else:
            arrays.append(rng.standard_normal((count, *t.shape)).astype(dtype))
    return Samples(inputs=tuple(arrays), labels=None, source=f"random (seed {seed})")


def load_samples(graph: Graph, paths: list[str | Path], limit: int | None = None) -> Samples:
    arrays, labels = [], None
    for p in paths:
        x, y = load_array_file(p)
        arrays.append(x)
        labels = y if labels is None else labels
    samples = to_model_inputs(graph, arrays, labels, source=", ".join(str(p) for p in paths))
    if limit is not None and limit < samples.count:
        lab = samples.labels[:limit] if samples.labels is not None else None
        samples = Samples(tuple(x[:limit] for x in samples.inputs), lab, samples.source)
    return samples
