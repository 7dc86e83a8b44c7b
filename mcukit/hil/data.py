"""Test data for `mcukit test`: .npz/.npy files as `deploy` reads them, or a folder of .npy files.

A folder holds one sample per file (any name ending in .npy, taken in name order) and optionally the labels in
`labels.npy` (or `y.npy`), one per sample. It is packed into one .npz (x, y) that `deploy` reads like any other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from mcukit.errors import CalibrationError

LABEL_FILES = ("labels.npy", "y.npy")


def has_labels(paths: tuple[Path, ...]) -> bool:
    """True if the test data carries labels (y/labels in a .npz, or labels.npy in a folder)."""
    for p in paths:
        if p.is_dir():
            if any((p / name).is_file() for name in LABEL_FILES):
                return True
        elif p.suffix == ".npz":
            try:
                with np.load(p, allow_pickle=False) as z:
                    if "y" in z.files or "labels" in z.files:
                        return True
            except Exception:  # noqa: BLE001 - unreadable: deploy reports it with a clear message
                return False
    return False


def pack_folder(folder: Path, out_dir: Path) -> Path:
    """Stack a folder's .npy samples (and labels) into one .npz under out_dir; returns its path."""
    files = sorted(p for p in folder.glob("*.npy") if p.name not in LABEL_FILES)
    if not files:
        raise CalibrationError(f"test data folder {folder} holds no .npy files",
                               "put one sample per .npy file in it (numpy.save)")
    arrays = [np.load(p, allow_pickle=False) for p in files]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise CalibrationError(f"the samples in {folder} have different shapes: {sorted(shapes)}",
                               "save every sample with the model's input shape")
    packed: dict[str, np.ndarray] = {"x": np.stack(arrays)}
    label_file = next((folder / n for n in LABEL_FILES if (folder / n).is_file()), None)
    if label_file is not None:
        labels = np.load(label_file, allow_pickle=False).reshape(-1)
        if labels.size != len(files):
            raise CalibrationError(f"{label_file} holds {labels.size} labels for {len(files)} samples in {folder}",
                                   "give one label per sample file")
        packed["y"] = labels
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{folder.name}-{digest}.npz"
    np.savez(target, **packed)
    return target
