"""Loading the stored single-op models of tests/data/ops/<op>/ (made by gen_elementwise_models.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data" / "ops"


def cases(op: str) -> list[tuple[str, str]]:
    """(op, file) pairs listed in the op's manifest."""
    manifest = json.loads((DATA / op / "manifest.json").read_text())
    return [(op, c["file"]) for c in manifest["cases"]]


def case_info(op: str, name: str) -> dict:
    manifest = json.loads((DATA / op / "manifest.json").read_text())
    return next(c for c in manifest["cases"] if c["file"] == name)


def model(op: str, name: str) -> bytes:
    return (DATA / op / name).read_bytes()


def all_int8_values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """One sample per row holding all 256 int8 values (in a seeded random order), shape (samples, *shape)."""
    size = int(np.prod(shape))
    assert size % 256 == 0, "unary test models hold a multiple of 256 elements"
    rng = np.random.default_rng(seed)
    flat = np.concatenate([rng.permutation(np.arange(-128, 128)) for _ in range(size // 256)])
    return flat.astype(np.int8).reshape((1, *shape))
