"""Build generated model C with the host compiler and run it through ctypes: the fast bit-exactness loop.

The portable kernels (firmware/src/kernels, without the dsp/ and mve/ variants) are compiled once per rounding
mode into a static archive, cached by the hash of every kernel source and header. Each model then only compiles
model.c and model_weights.c and links a shared library, also cached by content hash, so re-running a test sweep
costs almost nothing.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcukit.errors import CompileError, DependencyError

CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC")
_SKIP_DIRS = ("dsp", "mve")
_CC = os.environ.get("MCUKIT_HOST_CC", "gcc")
_ROUNDINGS = {"tflm": 0, "litert": 1}

_NP = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32, "float32": np.float32,
       "int64": np.int64, "bool": np.bool_, "float16": np.float16, "float64": np.float64}


def _firmware() -> Path:
    from mcukit.paths import data_dir

    return data_dir("firmware")


def kernel_sources(isa: Sequence[str] = ()) -> list[Path]:
    """Portable kernel and runtime sources compiled into the host archive (sorted, deterministic).

    isa=("dsp",) adds the DSP variants (firmware/src/kernels/dsp), which the host compiles against the C
    emulation of the intrinsics in mcukit/mk_dsp_compat.h. MVE variants never build for the host."""
    root = _firmware() / "src" / "kernels"
    skip = tuple(d for d in _SKIP_DIRS if not (d == "dsp" and "dsp" in isa))
    out = []
    for p in sorted(root.rglob("*.c")):
        rel = p.relative_to(root)
        if any(part in skip for part in rel.parts[:-1]):
            continue
        out.append(p)
    return out


def _host_dir() -> Path:
    from mcukit.paths import cache_dir

    d = cache_dir() / "host"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _hash_tree(h: hashlib._Hash, paths: Sequence[Path], base: Path) -> None:
    for p in paths:
        h.update(str(p.relative_to(base)).encode() + b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")


def _cc_version() -> str:
    try:
        out = subprocess.run([_CC, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DependencyError(f"the host C compiler {_CC!r} is not available",
                              "install gcc (apt-get install gcc) or set MCUKIT_HOST_CC") from exc
    return out.stdout.splitlines()[0] if out.stdout else _CC


def _run_cc(args: list[str], cwd: Path) -> None:
    proc = subprocess.run([_CC, *args], check=False, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).splitlines()
        first = next((ln for ln in lines if "error" in ln), lines[0] if lines else f"{_CC} failed")
        raise CompileError(f"host build failed: {first.strip()}",
                           "this is a bug in mcukit's generated code or kernels; rerun with --debug for the log")


def _flags(rounding: str) -> list[str]:
    if rounding not in _ROUNDINGS:
        raise CompileError(f"unknown rounding {rounding!r}", "use 'tflm' or 'litert'")
    return [*CFLAGS, f"-I{_firmware() / 'include'}", f"-DMK_SINGLE_ROUNDING={_ROUNDINGS[rounding]}"]


def kernel_archive(rounding: str = "tflm", isa: Sequence[str] = ()) -> Path:
    """The portable kernels compiled with `rounding`, as a static archive (built once, then cached).
    isa: see kernel_sources (default: portable kernels only)."""
    fw = _firmware()
    sources = kernel_sources(isa)
    headers = sorted((fw / "include").rglob("*.h")) + sorted((fw / "src" / "kernels").rglob("*.h"))
    h = hashlib.sha256()
    h.update(repr((_cc_version(), _flags(rounding))).encode())
    _hash_tree(h, sources + headers, fw)
    tag = "-dsp" if "dsp" in isa else ""
    out = _host_dir() / f"kernels-{rounding}{tag}-{h.hexdigest()[:16]}.a"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory(dir=_host_dir()) as tmp:
        tmpd = Path(tmp)
        objs = []
        for i, src in enumerate(sources):
            obj = tmpd / f"{i:03d}_{src.stem}.o"
            _run_cc([*_flags(rounding), "-I", str(src.parent), "-c", str(src), "-o", str(obj)], tmpd)
            objs.append(str(obj))
        staged = tmpd / "k.a"
        if objs:
            subprocess.run(["ar", "rcs", str(staged), *objs], check=True, capture_output=True)
        else:  # no kernels yet: an empty archive still links
            subprocess.run(["ar", "rcs", str(staged)], check=True, capture_output=True)
        os.replace(staged, out)
    return out


@dataclass(frozen=True)
class IOSpec:
    shape: tuple[int, ...]
    dtype: str


class HostModel:
    """A generated model loaded into this process. Not thread-safe (one static arena per library)."""

    def __init__(self, library: Path, inputs: Sequence[IOSpec], outputs: Sequence[IOSpec]) -> None:
        self.library = library
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self._lib = ctypes.CDLL(str(library))
        self._lib.mk_model_input.restype = ctypes.c_void_p
        self._lib.mk_model_input.argtypes = [ctypes.c_int]
        self._lib.mk_model_output.restype = ctypes.c_void_p
        self._lib.mk_model_output.argtypes = [ctypes.c_int]
        self._lib.mk_model_input_bytes.restype = ctypes.c_size_t
        self._lib.mk_model_input_bytes.argtypes = [ctypes.c_int]
        self._lib.mk_model_output_bytes.restype = ctypes.c_size_t
        self._lib.mk_model_output_bytes.argtypes = [ctypes.c_int]
        self._lib.mk_model_invoke.restype = ctypes.c_int
        self._lib.mk_model_invoke.argtypes = []
        for i, spec in enumerate(self.inputs):
            self._check_bytes(spec, int(self._lib.mk_model_input_bytes(i)), f"input {i}")
        for i, spec in enumerate(self.outputs):
            self._check_bytes(spec, int(self._lib.mk_model_output_bytes(i)), f"output {i}")

    @staticmethod
    def _check_bytes(spec: IOSpec, nbytes: int, what: str) -> None:
        expected = int(np.prod(spec.shape, dtype=np.int64)) * np.dtype(_NP[spec.dtype]).itemsize
        if nbytes != expected:
            raise CompileError(f"the built library's {what} has {nbytes} bytes, expected {expected}",
                               "this is a bug in mcukit")

    def invoke(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One sample: inputs[k] has the model input's shape (or its size); returns copies of the outputs."""
        if len(inputs) != len(self.inputs):
            raise ValueError(f"the model has {len(self.inputs)} inputs, got {len(inputs)}")
        for i, (arr, spec) in enumerate(zip(inputs, self.inputs)):
            a = np.ascontiguousarray(arr, dtype=_NP[spec.dtype])
            expected = int(np.prod(spec.shape, dtype=np.int64))
            if a.size != expected:
                raise ValueError(f"input {i} has {a.size} elements, the model expects shape {spec.shape}")
            ctypes.memmove(self._lib.mk_model_input(i), a.ctypes.data, a.nbytes)
        rc = self._lib.mk_model_invoke()
        if rc != 0:
            raise RuntimeError(f"mk_model_invoke returned {rc}")
        outs = []
        for i, spec in enumerate(self.outputs):
            out = np.empty(spec.shape, dtype=_NP[spec.dtype])
            ctypes.memmove(out.ctypes.data, self._lib.mk_model_output(i), out.nbytes)
            outs.append(out)
        return outs

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Many samples: inputs[k] has shape (N, *input_k_shape); outputs likewise (N, *output_k_shape)."""
        if len(inputs) != len(self.inputs):
            raise ValueError(f"the model has {len(self.inputs)} inputs, got {len(inputs)}")
        n = len(inputs[0]) if inputs else 0
        if any(len(x) != n for x in inputs):
            raise ValueError("every input needs the same number of samples")
        results: list[list[np.ndarray]] = [[] for _ in self.outputs]
        for s in range(n):
            for k, out in enumerate(self.invoke([x[s] for x in inputs])):
                results[k].append(out)
        return [np.stack(r) if r else np.empty((0, *spec.shape), dtype=_NP[spec.dtype])
                for r, spec in zip(results, self.outputs)]


def build_library(files: Mapping[str, str], rounding: str = "tflm", isa: Sequence[str] = ()) -> Path:
    """Compile generated files (name -> C text) with the kernels into a cached shared library; returns its path.
    isa=("dsp",) links the DSP kernel variants too (needed when the model was generated with that ISA)."""
    archive = kernel_archive(rounding, isa)
    h = hashlib.sha256()
    h.update(archive.name.encode())
    h.update(repr(_flags(rounding)).encode())
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    lib = _host_dir() / f"model-{h.hexdigest()[:20]}.so"
    if lib.exists():
        return lib
    with tempfile.TemporaryDirectory(dir=_host_dir()) as tmp:
        tmpd = Path(tmp)
        for name, text in files.items():
            (tmpd / name).write_text(text)
        sources = [name for name in sorted(files) if name.endswith(".c")]
        # One driver call compiles every file and links: process start-up dominates for small models.
        _run_cc([*_flags(rounding), "-pipe", "-I", str(tmpd), "-shared", "-o", "model.so", *sources, str(archive)],
                tmpd)
        os.replace(tmpd / "model.so", lib)
    return lib


def load(generated, *, rounding: str | None = None) -> HostModel:
    """Build and load a `GeneratedModel` (from mcukit.codegen.generate)."""
    rounding = rounding or generated.rounding
    # A model generated for a DSP board calls *_dsp kernels: link their (emulated-intrinsics) host build.
    isa = ("dsp",) if any(c.kernel.endswith("_dsp") for c in generated.calls) else ()
    lib = build_library(generated.files, rounding, isa)
    return HostModel(
        lib,
        [IOSpec(io.shape, io.dtype) for io in generated.inputs],
        [IOSpec(io.shape, io.dtype) for io in generated.outputs],
    )


def compile_model(model: bytes, rounding: str = "tflm", isa: Sequence[str] = (), wide_weights: bool = True
                  ) -> HostModel:
    """.tflite bytes -> a HostModel ready to invoke (parse, generate, build, load). isa: LowerOptions.isa, e.g.
    ("dsp",) to generate and host-test the DSP kernel variants; wide_weights: LowerOptions.wide_weights."""
    from mcukit.codegen.generate import generate
    from mcukit.codegen.kernel_call import LowerOptions
    from mcukit.ir.reader import parse_tflite

    graph = parse_tflite(model)
    return load(generate(graph, LowerOptions(rounding=rounding, isa=tuple(isa), wide_weights=wide_weights)))


def build_dir(directory: Path, rounding: str = "tflm") -> Path:
    """Build a folder written by `mcukit compile` (its *.c and *.h files)."""
    files = {p.name: p.read_text() for p in sorted(Path(directory).iterdir()) if p.suffix in (".c", ".h")}
    return build_library(files, rounding)


def clear_cache() -> None:
    shutil.rmtree(_host_dir(), ignore_errors=True)
