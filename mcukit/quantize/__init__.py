"""Keras -> full-integer int8 TFLite, with a fidelity report (TensorFlow is imported lazily, only here).

    result = quantize_file("kws.h5", calibration="calib.npy")
    Path("kws.tflite").write_bytes(result.tflite)
    result.fidelity.top1_agreement, result.fidelity.max_abs_error, result.warnings

Results are cached by content hash (model bytes, calibration bytes, options, mcukit and converter versions) under
`mcukit.paths.cache_dir() / "quantize"`, so a second call with the same inputs does not import TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from mcukit.errors import UsageError
from mcukit.quantize.fidelity import FidelityReport, OutputFidelity

log = logging.getLogger(__name__)

CACHE_SCHEMA = "mcukit.quantize/1"


@dataclass(frozen=True)
class QuantizeResult:
    tflite: bytes
    fidelity: FidelityReport
    warnings: tuple[str, ...]
    cached: bool


def quantize_file(path: str | Path, calibration: str | Path | None = None, samples: int = 200,
                  seed: int = 0) -> QuantizeResult:
    """Quantize a Keras .h5/.keras file or a SavedModel folder to int8 and measure its fidelity.

    `samples` calibration samples are used (drawn with `seed`); the rest of the calibration data (up to 200 samples)
    is held out for the fidelity report. Without calibration data, random inputs are used and a warning says so.
    Raises ModelError, UnsupportedModelError, CalibrationError or DependencyError with a hint.
    """
    from mcukit.quantize import calibration as cal
    from mcukit.quantize.load import identify

    if samples < 1:
        raise UsageError(f"--samples must be at least 1, got {samples}", "use e.g. --samples 200")
    model_file = identify(path)  # no TensorFlow: file type, corruption, Lambda layers
    calib_key = cal.fingerprint(calibration)
    key = _cache_key(_model_digest(model_file.path), calib_key, samples, seed)
    hit = _cache_get(key)
    if hit is not None:
        return hit
    raw = cal.read(calibration) if calibration is not None else None  # read (and reject) before paying for TF

    from mcukit.ir.reader import parse_tflite
    from mcukit.quantize import convert, fidelity
    from mcukit.quantize._tf import import_tf
    from mcukit.quantize.load import load

    tf = import_tf()
    model = load(model_file, tf)
    data = cal.check(raw, model.input_shape, calibration) if raw is not None else None
    split = cal.split(data, model.input_shape, samples, seed)
    tflite = convert.convert_int8(model, split.calibration, tf)
    graph = parse_tflite(tflite, name=model.name)
    convert.check_int8(graph, model.name)
    floats = model.predict(split.held_out)
    int8s = fidelity.run_int8(tflite, graph, split.held_out)
    if len(floats) != len(int8s):
        raise UsageError(f"the float model has {len(floats)} outputs but the int8 model {len(int8s)}",
                         "report this with the model")
    report = fidelity.measure(floats, int8s, graph, split.held_out_source)
    result = QuantizeResult(tflite=tflite, fidelity=report, warnings=split.warnings, cached=False)
    _cache_put(key, result)
    return result


# ---- cache --------------------------------------------------------------------------------------------------------


def _model_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    if path.is_dir():  # SavedModel: every file, by relative path
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f.relative_to(path).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(f.read_bytes()).digest())
    else:
        digest.update(path.read_bytes())
    return digest.digest()


def _version(*dists: str) -> str:
    for dist in dists:
        try:
            return f"{dist}=={metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return "none"


def _cache_key(model: bytes, calibration: bytes, samples: int, seed: int) -> str:
    from mcukit import __version__

    digest = hashlib.sha256()
    for part in (CACHE_SCHEMA, __version__, _version("tensorflow", "tensorflow-cpu"), _version("ai-edge-litert"),
                 model.hex(), calibration.hex(), f"samples={samples}", f"seed={seed}"):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def _cache_paths(key: str) -> tuple[Path, Path]:
    from mcukit.paths import cache_dir

    folder = cache_dir() / "quantize"
    return folder / f"{key}.tflite", folder / f"{key}.json"


def _cache_get(key: str) -> QuantizeResult | None:
    tflite_path, meta_path = _cache_paths(key)
    try:
        meta = json.loads(meta_path.read_text())
        tflite = tflite_path.read_bytes()
        if meta.get("schema") != CACHE_SCHEMA or hashlib.sha256(tflite).hexdigest() != meta["tflite_sha256"]:
            return None
        report = FidelityReport.from_dict(meta["fidelity"])
        return QuantizeResult(tflite=tflite, fidelity=report, warnings=tuple(meta["warnings"]), cached=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged entry: convert again


def _cache_put(key: str, result: QuantizeResult) -> None:
    tflite_path, meta_path = _cache_paths(key)
    meta = {
        "schema": CACHE_SCHEMA,
        "tflite_sha256": hashlib.sha256(result.tflite).hexdigest(),
        "fidelity": result.fidelity.to_dict(),
        "warnings": list(result.warnings),
    }
    try:
        tflite_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(tflite_path, result.tflite)
        _atomic_write(meta_path, json.dumps(meta, indent=1).encode())  # written last: it marks the entry complete
    except OSError as exc:
        log.warning("could not write the quantize cache in %s (%s); continuing without it", tflite_path.parent, exc)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["FidelityReport", "OutputFidelity", "QuantizeResult", "quantize_file"]
