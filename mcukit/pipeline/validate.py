"""Compare the board's outputs with the reference interpreter's: bit for bit, never with a tolerance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Validation:
    reference: str
    samples: int
    bit_exact: bool
    mismatches: int  # output elements that differ
    mismatched_samples: tuple[int, ...]
    max_abs_diff: int
    elements: int

    def as_json(self) -> dict:
        return {
            "reference": self.reference,
            "samples": self.samples,
            "bit_exact": self.bit_exact,
            "mismatches": self.mismatches,
            "mismatched_samples": list(self.mismatched_samples[:50]),
            "max_abs_diff": self.max_abs_diff,
            "elements": self.elements,
        }


def compare(board: list[np.ndarray], reference: list[np.ndarray], oracle: str) -> Validation:
    """board/reference: one array per model output, each (N, *shape)."""
    mismatches = 0
    elements = 0
    max_diff = 0
    bad: set[int] = set()
    n = int(board[0].shape[0]) if board else 0
    for got, want in zip(board, reference):
        want = want.reshape(got.shape)
        diff = got != want
        mismatches += int(diff.sum())
        elements += int(got.size)
        if diff.any():
            delta = np.abs(got.astype(np.int64) - want.astype(np.int64)) if got.dtype.kind in "iu" else np.abs(
                got.astype(np.float64) - want.astype(np.float64))
            max_diff = max(max_diff, int(np.ceil(delta.max())))
            bad.update(int(i) for i in np.nonzero(diff.reshape(n, -1).any(axis=1))[0])
    return Validation(oracle, n, mismatches == 0, mismatches, tuple(sorted(bad)), max_diff, elements)


def top1(outputs: np.ndarray) -> np.ndarray:
    return outputs.reshape(outputs.shape[0], -1).argmax(axis=1)
