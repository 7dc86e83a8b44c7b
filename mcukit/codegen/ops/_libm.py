"""float32 expf/tanhf as the reference interpreters get them, for compile-time tables.

The reference kernels call C's single-precision expf/tanhf. numpy's float32 exp/tanh are different
implementations that disagree with the C library in the last bit for a large share of arguments, which can move
a value across a rounding boundary. So the C library's own functions are used when it can be loaded (it is the
one the references call on the same machine); otherwise float64 results rounded to float32 (correctly rounded,
which agrees with glibc's expf in all but ~0.1 % of arguments, by one ulp).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

import numpy as np


@cache
def _libm() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("m")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if lib is None:
        return None
    for fn in ("expf", "tanhf"):
        f = getattr(lib, fn, None)
        if f is None:
            return None
        f.restype = ctypes.c_float
        f.argtypes = [ctypes.c_float]
    return lib


def _apply(name: str, fallback, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    lib = _libm()
    if lib is None:
        return fallback(x.astype(np.float64)).astype(np.float32)
    f = getattr(lib, name)
    flat = [f(float(v)) for v in x.reshape(-1).tolist()]
    return np.asarray(flat, dtype=np.float32).reshape(x.shape)


def expf(x: np.ndarray) -> np.ndarray:
    return _apply("expf", np.exp, x)


def tanhf(x: np.ndarray) -> np.ndarray:
    return _apply("tanhf", np.tanh, x)
