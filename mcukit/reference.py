"""Host reference interpreters ("oracles") that every deployment is compared with, bit for bit.

Two oracles exist and they do NOT always agree (see docs/reference-rounding.md):

- ``"tflm"``: TFLite Micro's host interpreter (the ``tflite-micro`` package). Same kernels as the firmware world
  (double rounding in requantization). The default when it is installed.
- ``"litert"``: ai-edge-litert with ``OpResolverType.BUILTIN_REF`` (the reference kernels; never the default
  XNNPACK delegate, which is not bit-exact). Used when tflite-micro is not installed (it exists only for Linux
  x86_64).

Inputs follow one convention everywhere: ``inputs[k]`` has shape ``(N, *shape_of_model_input_k)`` - a sample
axis first, then the tensor's full shape including its batch dimension of 1. Outputs come back the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import metadata
from typing import Any

import numpy as np

from mcukit.errors import CalibrationError, DependencyError, McukitError, ModelError, UsageError

log = logging.getLogger(__name__)

ORACLES = ("tflm", "litert")
GOLDEN_SCHEMA = "mcukit.golden/1"

# TFLM's host interpreter can crash (not raise) when its arena is a little too small, so run_reference starts far
# above any plausible need and only grows; tflm_arena_bytes() probes small sizes in forked children instead.
_MIN_ARENA = 1 << 20
_MAX_ARENA = 1 << 30


class OracleError(McukitError):
    """A reference interpreter refused the model or failed while running it."""


# ---- availability ------------------------------------------------------------------------------------------------


@cache
def tflm_available() -> bool:
    try:
        from tflite_micro.python.tflite_micro import runtime  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure (missing wheel, ABI mismatch) means "not usable"
        return False
    return True


@cache
def default_oracle() -> str:
    """"tflm" when the TFLite Micro host interpreter is importable, else "litert" (logged once as a warning)."""
    if tflm_available():
        return "tflm"
    log.warning(
        "tflite-micro is not installed (it exists only for Linux x86_64): using ai-edge-litert's reference kernels "
        "as the oracle; they round FULLY_CONNECTED differently from TFLite Micro (docs/reference-rounding.md)"
    )
    return "litert"


def versions() -> dict[str, str | None]:
    """Package versions that determine the oracles' outputs (None when a package is not installed)."""
    out: dict[str, str | None] = {}
    for dist in ("tflite-micro", "ai-edge-litert", "numpy", "mcukit"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


# ---- running -----------------------------------------------------------------------------------------------------


def run_reference(model: bytes, inputs: Sequence[np.ndarray], oracle: str = "tflm") -> list[np.ndarray]:
    """Run `model` on N samples with one oracle. Returns one (N, *output_shape) array per model output."""
    if oracle not in ORACLES:
        raise UsageError(f"unknown oracle {oracle!r}", f"choose one of {', '.join(ORACLES)}")
    model = bytes(model)
    _check_model(model)
    if oracle == "tflm":
        return _TflmRunner(model).run(inputs)
    return _LitertRunner(model).run(inputs)


def golden(model: bytes, inputs: Sequence[np.ndarray]) -> dict[str, Any]:
    """Outputs of both oracles for the same inputs, stamped with the versions that made them.

    Returns {"schema", "model_sha256", "versions", "inputs", "outputs": {"tflm": [...] | None, "litert": [...]},
    "agree": bool | None}. "tflm" is None (and "agree" None) when tflite-micro is not installed.
    """
    model = bytes(model)
    arrays = [np.ascontiguousarray(a) for a in inputs]
    litert = run_reference(model, arrays, "litert")
    tflm = run_reference(model, arrays, "tflm") if tflm_available() else None
    agree = None if tflm is None else all(np.array_equal(a, b) for a, b in zip(tflm, litert))
    return {
        "schema": GOLDEN_SCHEMA,
        "model_sha256": hashlib.sha256(model).hexdigest(),
        "versions": versions(),
        "inputs": arrays,
        "outputs": {"tflm": tflm, "litert": litert},
        "agree": agree,
    }


def _check_model(model: bytes) -> None:
    # Both interpreters are C++ and trust the flatbuffer; our reader rejects malformed files with a clear error first.
    from mcukit.ir.reader import parse_tflite

    parse_tflite(model)


def _coerce(arr: np.ndarray, k: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    a = np.asarray(arr)
    if a.shape[1:] != shape or a.ndim != len(shape) + 1:
        raise CalibrationError(
            f"input {k} has shape {a.shape}, expected (N, {', '.join(map(str, shape))})",
            "stack samples on a new first axis; each sample keeps the model input's full shape (batch 1 included)",
        )
    if a.dtype == dtype:
        return np.ascontiguousarray(a)
    if np.issubdtype(dtype, np.integer) and np.issubdtype(a.dtype, np.integer):
        info = np.iinfo(dtype)
        if a.size == 0 or (a.min() >= info.min and a.max() <= info.max):
            return np.ascontiguousarray(a.astype(dtype))
    if np.issubdtype(dtype, np.floating) and np.issubdtype(a.dtype, np.floating):
        return np.ascontiguousarray(a.astype(dtype))
    raise CalibrationError(
        f"input {k} has dtype {a.dtype}, the model expects {np.dtype(dtype).name}",
        "quantize float data with the input's scale and zero point first" if np.issubdtype(dtype, np.integer)
        else f"pass {np.dtype(dtype).name} data",
    )


class _LitertRunner:
    def __init__(self, model: bytes) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError as exc:
            raise DependencyError("ai-edge-litert is not installed", "pip install ai-edge-litert") from exc
        try:
            self.interp = Interpreter(
                model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF
            )
            self.interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise OracleError(f"ai-edge-litert cannot load the model: {_first_lines(str(exc))}",
                              "check the ops with `mcukit inspect MODEL`") from exc
        self.ins = self.interp.get_input_details()
        self.outs = self.interp.get_output_details()

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        arrays = _prepare(inputs, [(tuple(int(x) for x in d["shape"]), np.dtype(d["dtype"])) for d in self.ins])
        n = arrays[0].shape[0] if arrays else 1
        results: list[list[np.ndarray]] = [[] for _ in self.outs]
        for s in range(n):
            try:
                for d, a in zip(self.ins, arrays):
                    self.interp.set_tensor(d["index"], a[s])
                self.interp.invoke()
            except (ValueError, RuntimeError) as exc:
                raise OracleError(f"ai-edge-litert failed on sample {s}: {_first_lines(str(exc))}") from exc
            for j, d in enumerate(self.outs):
                results[j].append(np.array(self.interp.get_tensor(d["index"]), copy=True))
        return [_stack(r, tuple(int(x) for x in d["shape"]), np.dtype(d["dtype"])) for r, d in zip(results, self.outs)]


class _TflmRunner:
    def __init__(self, model: bytes) -> None:
        if not tflm_available():
            raise DependencyError(
                "tflite-micro (TFLite Micro's host interpreter) is not installed",
                "pip install --pre tflite-micro (Linux x86_64 only), or use the 'litert' oracle",
            )
        from tflite_micro.python.tflite_micro import runtime

        from mcukit.ir.reader import parse_tflite

        graph = parse_tflite(model)
        naive = sum(t.nbytes for t in graph.tensors if not t.is_constant and t.dtype in _KNOWN)
        arena = max(_MIN_ARENA, 4 * naive + (256 << 10))
        while True:
            with _captured_stderr() as err:
                try:
                    self.interp = runtime.Interpreter.from_bytes(model, arena_size=arena)
                    break
                except (RuntimeError, ValueError) as exc:
                    error, text = exc, err.read()
            if "allocat" in str(error).lower() and "registration" not in text.lower() and arena < _MAX_ARENA:
                arena *= 4  # only an arena that is too small: grow (never shrink: small arenas can crash TFLM)
                continue
            raise OracleError(f"TFLite Micro cannot load the model: {_first_lines(text) or error}",
                              "check the ops with `mcukit inspect MODEL`") from error
        self.arena = arena
        self.ins = [graph.tensor(i) for i in graph.inputs]
        self.outs = [graph.tensor(i) for i in graph.outputs]

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        specs = [(t.shape, np.dtype(_KNOWN[t.dtype])) for t in self.ins]
        arrays = _prepare(inputs, specs)
        n = arrays[0].shape[0] if arrays else 1
        results: list[list[np.ndarray]] = [[] for _ in self.outs]
        for s in range(n):
            # TFLM's planner may place the input in memory that later ops overwrite: set every input every time.
            try:
                for k, a in enumerate(arrays):
                    self.interp.set_input(a[s], k)
                self.interp.invoke()
                for j in range(len(self.outs)):
                    results[j].append(np.array(self.interp.get_output(j), copy=True))
            except (RuntimeError, ValueError) as exc:
                raise OracleError(f"TFLite Micro failed on sample {s}: {_first_lines(str(exc))}") from exc
        return [_stack(r, t.shape, np.dtype(_KNOWN[t.dtype])) for r, t in zip(results, self.outs)]


_KNOWN = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32, "float32": np.float32,
          "int64": np.int64, "bool": np.bool_, "float16": np.float16}


def _prepare(inputs: Sequence[np.ndarray], specs: list[tuple[tuple[int, ...], np.dtype]]) -> list[np.ndarray]:
    if isinstance(inputs, np.ndarray):
        raise UsageError("inputs must be a list with one array per model input", "wrap a single array in a list")
    if len(inputs) != len(specs):
        raise CalibrationError(f"the model has {len(specs)} input(s), got {len(inputs)} array(s)",
                               "pass one (N, *input_shape) array per model input")
    arrays = [_coerce(a, k, shape, dtype) for k, (a, (shape, dtype)) in enumerate(zip(inputs, specs))]
    if len({a.shape[0] for a in arrays}) > 1:
        raise CalibrationError("the input arrays hold different numbers of samples",
                               "give every input the same first (sample) dimension")
    return arrays


def _stack(rows: list[np.ndarray], shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if not rows:
        return np.zeros((0, *shape), dtype=dtype)
    return np.stack([r.reshape(shape) for r in rows])


def _first_lines(text: str, n: int = 3) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return "; ".join(lines[:n])


@contextlib.contextmanager
def _captured_stderr() -> Iterator[Any]:
    """Redirect file descriptor 2 (C++ code writes there) into a temp file the caller can read."""
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        reader = _Reader(tmp)
        try:
            yield reader
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            reader.freeze()


class _Reader:
    def __init__(self, tmp: Any) -> None:
        self.tmp = tmp
        self.text: str | None = None

    def read(self) -> str:
        if self.text is not None:
            return self.text
        self.tmp.flush()
        self.tmp.seek(0)
        return self.tmp.read().decode(errors="replace")

    def freeze(self) -> None:
        self.text = self.read()


# ---- arena measurement ---------------------------------------------------------------------------------------------


def tflm_arena_bytes(model: bytes, *, timeout_s: float = 60.0) -> int:
    """The smallest arena in bytes with which TFLite Micro's host interpreter loads and runs `model`.

    The figure TFLM itself records (RecordingMicroAllocator's "Arena allocation total") can be lower than what
    allocation actually needs (e.g. 1,216 reported vs 1,480 needed for a one-layer FULLY_CONNECTED model), and an
    arena just below the need crashes the interpreter instead of raising. So this probes sizes by bisection, each
    in a forked child process, starting from the recorded figure. It counts TFLM's whole arena: activations plus
    its persistent bookkeeping (node structs, quantization data, kernel state) laid out for a 64-bit host, so it
    is an upper bound for the activation memory the same planner would need on a 32-bit MCU.
    """
    if not tflm_available():
        raise DependencyError("tflite-micro is not installed", "pip install --pre tflite-micro (Linux x86_64 only)")
    if not hasattr(os, "fork"):
        raise DependencyError("measuring the TFLM arena needs os.fork", "run on Linux")
    model = bytes(model)
    _check_model(model)
    runner = _TflmRunner(model)  # raises a clear error when the model cannot run at all
    recorded = _recorded_total(runner)
    lo = max(1, recorded) - 1  # assumed to fail: the recorded total is a lower bound
    step = 256
    hi = lo + step
    while not _probe(model, hi, timeout_s):
        lo, step = hi, step * 2
        hi = lo + step
        if hi > runner.arena:
            hi = runner.arena
            break
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _probe(model, mid, timeout_s):
            hi = mid
        else:
            lo = mid
    return hi


def _recorded_total(runner: _TflmRunner) -> int:
    with _captured_stderr() as err:
        runner.interp.print_allocations()
    for line in err.read().splitlines():
        if "Arena allocation total" in line:
            digits = [w for w in line.split() if w.isdigit()]
            if digits:
                return int(digits[-1])
    return 0


def _probe(model: bytes, arena: int, timeout_s: float) -> bool:
    """True when a child process can load and invoke the model in `arena` bytes (a crash counts as False)."""
    from tflite_micro.python.tflite_micro import runtime

    pid = os.fork()
    if pid == 0:  # child: never return into the caller's stack
        code = 1
        try:
            import faulthandler

            faulthandler.disable()  # an expected crash must not dump a Python traceback (pytest enables it)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            interp = runtime.Interpreter.from_bytes(model, arena_size=arena)
            interp.invoke()
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise OracleError(f"TFLite Micro did not finish within {timeout_s:.0f} s while measuring its arena")
        time.sleep(0.002)


__all__ = [
    "GOLDEN_SCHEMA",
    "ORACLES",
    "ModelError",
    "OracleError",
    "default_oracle",
    "golden",
    "run_reference",
    "tflm_arena_bytes",
    "tflm_available",
    "versions",
]
