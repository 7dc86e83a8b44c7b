"""Fixtures for host tests (generated C built with the host gcc and compared with the reference interpreters).

Helpers live in tests/host/harness.py; this folder is put on sys.path so tests can `from harness import ...`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import harness

DATA = HERE.parent / "data"


@pytest.fixture(scope="session")
def bit_exact() -> Callable[..., harness.Mismatch]:
    """`bit_exact(model_bytes, rounding="tflm", samples=8, seed=0, inputs=None)`; asserts with a diff."""
    return harness.check_bit_exact


@pytest.fixture(scope="session")
def int8_model() -> Callable[..., bytes]:
    """`int8_model(build_fn, input_shapes, seed=0)` -> full-int8 .tflite bytes (cached on disk). Mark tests slow."""
    return harness.int8_model


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def kws_tflite() -> bytes:
    """The KWS example quantized to int8 (skips when the example or the quantizer is missing)."""
    return harness.example_tflite("kws")


