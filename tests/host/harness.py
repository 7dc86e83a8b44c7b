"""Shared helpers for host tests: build tiny int8 models with TensorFlow and check generated C bit for bit.

    from tests.host.harness import check_bit_exact, int8_model

    model = int8_model(lambda x: keras.layers.Dense(8)(keras.layers.Flatten()(x)), [(4, 4, 3)], seed=1)
    check_bit_exact(model)                      # raises AssertionError with a diff on any mismatch
    report = check_bit_exact(model, check=False)  # or inspect the Mismatch report yourself

`int8_model` caches converted models on disk (keyed by the build function's code, shapes, seed and the TF/Keras
versions) so warm runs never import TensorFlow; set MCUKIT_NO_MODEL_CACHE=1 to disable.
"""

from __future__ import annotations

import hashlib
import json
import os
import types
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcukit.codegen.kernel_call import LowerOptions

ORACLE_OF_ROUNDING = {"tflm": "tflm", "litert": "litert"}


# ---- comparing the host build with the reference ------------------------------------------------------------------


@dataclass(frozen=True)
class OutputDiff:
    index: int
    mismatches: int
    total: int
    max_abs_diff: int
    first: tuple[tuple[int, ...], ...]  # up to 5 indices (sample, *element) of mismatches
    expected_first: tuple[int, ...]
    got_first: tuple[int, ...]


@dataclass(frozen=True)
class Mismatch:
    """Result of check_bit_exact. `ok` is True when every output matched exactly."""

    rounding: str
    oracle: str
    samples: int
    diffs: tuple[OutputDiff, ...] = ()
    expected: list[np.ndarray] = field(default_factory=list, repr=False)
    got: list[np.ndarray] = field(default_factory=list, repr=False)
    inputs: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not any(d.mismatches for d in self.diffs)

    def __bool__(self) -> bool:  # truthy when there IS a mismatch, like a non-empty diff
        return not self.ok

    def describe(self) -> str:
        if self.ok:
            return f"bit-exact ({self.samples} samples, rounding={self.rounding}, oracle={self.oracle})"
        lines = [f"NOT bit-exact vs oracle {self.oracle} (rounding={self.rounding}, {self.samples} samples):"]
        for d in self.diffs:
            if not d.mismatches:
                continue
            lines.append(
                f"  output {d.index}: {d.mismatches}/{d.total} differ, max |diff| {d.max_abs_diff}; "
                f"first at {list(d.first)}: expected {list(d.expected_first)} got {list(d.got_first)}"
            )
        return "\n".join(lines)


def random_inputs(model: bytes, samples: int, seed: int) -> list[np.ndarray]:
    """Uniform random values over each input's full dtype range, shape (samples, *input_shape)."""
    from mcukit.ir.reader import parse_tflite

    graph = parse_tflite(model)
    rng = np.random.default_rng(seed)
    out = []
    for t in graph.input_tensors:
        dt = np.dtype(t.dtype)
        if dt.kind in "iu":
            info = np.iinfo(dt)
            out.append(rng.integers(info.min, int(info.max) + 1, size=(samples, *t.shape), dtype=dt))
        else:
            out.append(rng.standard_normal((samples, *t.shape)).astype(dt))
    return out


def reference(model: bytes, inputs: Sequence[np.ndarray], oracle: str) -> list[np.ndarray]:
    from mcukit.reference import run_reference

    return run_reference(model, inputs, oracle=oracle)


def compare(expected: Sequence[np.ndarray], got: Sequence[np.ndarray]) -> tuple[OutputDiff, ...]:
    diffs = []
    for k, (e, g) in enumerate(zip(expected, got)):
        e = np.asarray(e)
        g = np.asarray(g)
        if e.shape != g.shape:
            g = g.reshape(e.shape) if g.size == e.size else g
        if e.shape != g.shape:
            diffs.append(OutputDiff(k, e.size, e.size, -1, (), (), ()))
            continue
        bad = e != g
        n = int(bad.sum())
        if n == 0:
            diffs.append(OutputDiff(k, 0, e.size, 0, (), (), ()))
            continue
        idx = np.argwhere(bad)[:5]
        diffs.append(OutputDiff(
            index=k,
            mismatches=n,
            total=int(e.size),
            max_abs_diff=int(np.max(np.abs(e.astype(np.int64) - g.astype(np.int64)))),
            first=tuple(tuple(int(x) for x in i) for i in idx),
            expected_first=tuple(int(e[tuple(i)]) for i in idx),
            got_first=tuple(int(g[tuple(i)]) for i in idx),
        ))
    return tuple(diffs)


DATA_OPS = Path(__file__).resolve().parents[1] / "data" / "ops"


@dataclass(frozen=True)
class StoredFamily:
    """A directory of stored single-op models (tests/data/ops/<name>, made by a gen_*_models.py) and its manifest."""

    path: Path
    cases: tuple[dict, ...]

    def model(self, case: dict) -> bytes:
        data = (self.path / case["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == case["sha256"], "stored model does not match its manifest"
        return data

    def ids(self) -> list[str]:
        return [c["file"].removesuffix(".tflite") for c in self.cases]


def stored_family(name: str) -> StoredFamily:
    path = DATA_OPS / name
    return StoredFamily(path, tuple(json.loads((path / "manifest.json").read_text())["cases"]))


def assert_stored_bit_exact(family: StoredFamily, case: dict, rounding: str, isa: tuple[str, ...],
                            wide: bool = True, samples: int = 4) -> None:
    """The stored model of `case` built on the host with `isa`'s kernels equals the reference of `rounding`."""
    from mcukit.hostbuild import compile_model

    model = family.model(case)
    xs = random_inputs(model, samples, seed=zlib.crc32(case["file"].encode()))
    got = compile_model(model, rounding=rounding, isa=isa, wide_weights=wide).run(xs)
    bad = [d for d in compare(reference(model, xs, rounding), got) if d.mismatches]
    assert not bad, f"{case['file']} ({rounding}, {isa or 'portable'}): {bad}"


def check_bit_exact(
    model: bytes,
    rounding: str = "tflm",
    samples: int = 8,
    seed: int = 0,
    inputs: Sequence[np.ndarray] | None = None,
    *,
    check: bool = True,
) -> Mismatch:
    """Generate C for `model`, build it on the host, run it and the oracle on the same inputs, compare exactly.

    `inputs[k]` has shape (N, *input_k_shape); default: `samples` random draws from `seed`. Raises AssertionError
    with the diff when `check` is true and anything differs; always returns the Mismatch report.
    """
    from mcukit.hostbuild import compile_model

    oracle = ORACLE_OF_ROUNDING[rounding]
    xs = list(inputs) if inputs is not None else random_inputs(model, samples, seed)
    expected = reference(model, xs, oracle)
    host = compile_model(model, rounding=rounding)
    got = host.run(xs)
    report = Mismatch(
        rounding=rounding,
        oracle=oracle,
        samples=len(xs[0]) if xs else 0,
        diffs=compare(expected, got),
        expected=list(expected),
        got=list(got),
        inputs=xs,
    )
    if check and not report.ok:
        raise AssertionError(report.describe())
    return report


# ---- building single-op int8 models with TensorFlow ----------------------------------------------------------------


def _fingerprint(obj, depth: int = 0) -> bytes:
    """Stable bytes for a build function: its code (recursively), constants and closure values."""
    if depth > 6:
        return b"?"
    if isinstance(obj, types.FunctionType):
        parts = [_fingerprint(obj.__code__, depth + 1)]
        for cell in obj.__closure__ or ():
            try:
                parts.append(_fingerprint(cell.cell_contents, depth + 1))
            except ValueError:  # empty cell
                parts.append(b"<empty>")
        parts.append(_fingerprint(obj.__defaults__, depth + 1))
        return b"F(" + b",".join(parts) + b")"
    if isinstance(obj, types.CodeType):
        consts = b",".join(_fingerprint(c, depth + 1) for c in obj.co_consts)
        return b"C(" + obj.co_code + b"|" + repr(obj.co_names).encode() + b"|" + consts + b")"
    if isinstance(obj, (tuple, list)):
        return b"T(" + b",".join(_fingerprint(x, depth + 1) for x in obj) + b")"
    if isinstance(obj, dict):
        return b"D(" + b",".join(_fingerprint(k, depth + 1) + b":" + _fingerprint(v, depth + 1)
                                 for k, v in sorted(obj.items(), key=lambda kv: repr(kv[0]))) + b")"
    if isinstance(obj, np.ndarray):
        return b"A(" + str(obj.dtype).encode() + repr(obj.shape).encode() + obj.tobytes() + b")"
    if obj is None or isinstance(obj, (int, float, str, bytes, bool, complex)):
        return repr(obj).encode()
    if isinstance(obj, types.ModuleType):
        return b"M(" + obj.__name__.encode() + b")"
    if isinstance(obj, type):
        return b"K(" + f"{obj.__module__}.{obj.__qualname__}".encode() + b")"
    # Anything else (layer objects, partials): repr may contain an address, which only costs a cache miss.
    return b"R(" + repr(obj).encode() + b")"


def _tf_versions() -> str:
    from importlib import metadata

    out = []
    for dist in ("tensorflow-cpu", "tensorflow", "keras"):
        try:
            out.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    return ";".join(out)


def _model_cache_dir() -> Path | None:
    if os.environ.get("MCUKIT_NO_MODEL_CACHE"):
        return None
    from mcukit.paths import cache_dir

    d = cache_dir() / "test-models"
    d.mkdir(parents=True, exist_ok=True)
    return d


def int8_model(
    build_fn: Callable,
    input_shapes: Sequence[Sequence[int]],
    seed: int = 0,
    *,
    calibration: int = 32,
    input_range: tuple[float, float] = (-1.0, 1.0),
) -> bytes:
    """A full-int8 .tflite (int8 inputs and outputs) of `build_fn(*keras_inputs) -> output(s)`.

    Inputs are `keras.Input(shape, batch_size=1)`; weights are initialised from `seed`; calibration uses
    `calibration` uniform samples in `input_range`. Converted models are cached on disk (see module doc).
    """
    shapes = [tuple(int(d) for d in s) for s in input_shapes]
    key_src = b"|".join([
        _fingerprint(build_fn),
        repr((shapes, seed, calibration, input_range)).encode(),
        _tf_versions().encode(),
    ])
    key = hashlib.sha256(key_src).hexdigest()[:24]
    cache = _model_cache_dir()
    path = cache / f"{key}.tflite" if cache is not None else None
    if path is not None and path.exists():
        return path.read_bytes()
    data = _convert(build_fn, shapes, seed, calibration, input_range)
    if path is not None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return data


def _convert(build_fn, shapes, seed, calibration, input_range) -> bytes:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    inputs = [keras.Input(shape=s, batch_size=1) for s in shapes]
    outputs = build_fn(*inputs)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(seed + 1)
    lo, hi = input_range
    calib = [[rng.uniform(lo, hi, size=(1, *s)).astype(np.float32) for s in shapes] for _ in range(calibration)]

    def representative():
        yield from calib

    # keras.Input(batch_size=1) fixes the batch, which avoids dynamic-shape ops (SHAPE/STRIDED_SLICE/PACK).
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return bytes(converter.convert())


# ---- example models and support checks ---------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example_tflite(name: str) -> bytes:
    """examples/<name>.h5 quantized to int8 with mcukit.quantize (cached by it). Skips when unavailable."""
    import pytest

    h5 = EXAMPLES / f"{name}.h5"
    if not h5.exists():
        pytest.skip(f"example {h5.name} is missing (run examples/make_examples.py)")
    try:
        from mcukit.quantize import quantize_file
    except ImportError as exc:
        pytest.skip(f"mcukit.quantize.quantize_file is not available: {exc}")
    calib = EXAMPLES / f"{name}_test.npz"
    return quantize_file(h5, calibration=calib if calib.exists() else None).tflite


def missing_lowerings(model: bytes) -> list[str]:
    """Op kinds in `model` that no registered lowering handles (sorted, unique)."""
    from mcukit.codegen.ops import supported_kinds
    from mcukit.ir.reader import parse_tflite

    have = supported_kinds()
    return sorted({op.kind for op in parse_tflite(model).ops if op.kind not in have})


# ---- per-layer diagnosis -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerDiff:
    op: int
    kind: str
    tensor: int
    mismatches: int
    total: int
    max_abs_diff: int


def layer_diffs(model: bytes, rounding: str = "tflm", samples: int = 1, seed: int = 0,
                inputs: Sequence[np.ndarray] | None = None) -> list[LayerDiff]:
    """Compare every op's output (not only the model's) with ai-edge-litert's BUILTIN_REF intermediates.

    The model is generated with a no-sharing plan so every intermediate is still in the arena after invoke. The
    first row with mismatches is the first layer that goes wrong. Note LiteRT rounds once (rounding="litert");
    with rounding="tflm" a FULLY_CONNECTED/CONV may differ by 1 LSB from LiteRT legitimately.
    """
    import ctypes

    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from mcukit.codegen.generate import lower_all, render
    from mcukit.hostbuild import load
    from mcukit.ir.reader import parse_tflite
    from mcukit.plan import plan_naive

    graph = parse_tflite(model)
    options = LowerOptions(rounding=rounding)
    calls = lower_all(graph, options)
    plan = plan_naive(graph, calls)
    host = load(render(graph, calls, plan, options))
    base = host._lib.mk_model_input(0) - plan.offsets[graph.inputs[0]]
    interp = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                         experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    xs = list(inputs) if inputs is not None else random_inputs(model, samples, seed)
    acc: dict[int, list[int]] = {}
    for s in range(len(xs[0])):
        host.invoke([x[s] for x in xs])
        for d, x in zip(interp.get_input_details(), xs):
            interp.set_tensor(d["index"], x[s])
        interp.invoke()
        for op in graph.ops:
            for t in op.outputs:
                if t not in plan.offsets:
                    continue
                tt = graph.tensors[t]
                exp = np.asarray(interp.get_tensor(t))
                got = np.empty(tt.shape, dtype=exp.dtype)
                ctypes.memmove(got.ctypes.data, base + plan.offsets[t], got.nbytes)
                bad = exp != got
                a = acc.setdefault(t, [0, 0, 0])
                a[0] += int(bad.sum())
                a[1] += int(exp.size)
                if bad.any():
                    a[2] = max(a[2], int(np.max(np.abs(exp.astype(np.int64) - got.astype(np.int64)))))
    out = []
    for op in graph.ops:
        for t in op.outputs:
            if t in acc:
                out.append(LayerDiff(op.index, op.kind, t, *acc[t]))
    return out


def supported_or_skip(model: bytes) -> None:
    """Skip (naming the op) when the model uses an op no lowering handles yet."""
    import pytest

    missing = missing_lowerings(model)
    if missing:
        pytest.skip(f"no lowering yet for {', '.join(missing)}")
