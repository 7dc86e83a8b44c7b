"""Model file -> generated C folder: the library side of `mcukit compile` (the CLI only renders the result)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mcukit.codegen.generate import GeneratedModel, generate
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.errors import ModelError, UsageError

KERAS_SUFFIXES = (".h5", ".keras", ".hdf5")
# Every file name `generate` can produce; stale ones are removed so a folder never mixes two compiles.
GENERATED_NAMES = ("model.h", "model.c", "model_weights.c", "model_tflite.h", "model_tflite.c")


@dataclass(frozen=True)
class CompiledModel:
    generated: GeneratedModel
    directory: Path
    tflite: bytes
    name: str


def model_bytes(path: str | Path, calibration: str | Path | None = None) -> bytes:
    """The int8 .tflite bytes of a .tflite file, or of a Keras model quantized with mcukit.quantize."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file {path} does not exist", "check the path")
    if path.suffix.lower() in KERAS_SUFFIXES or path.is_dir():
        from mcukit.quantize import quantize_file  # imports TensorFlow only when a conversion is needed

        return quantize_file(path, calibration=calibration).tflite
    if path.suffix.lower() != ".tflite":
        raise ModelError(f"{path.name}: expected a .tflite or a Keras .h5/.keras file",
                         "pass an int8 .tflite or the Keras model to quantize")
    return path.read_bytes()


def compile_file(
    path: str | Path,
    out_dir: str | Path,
    *,
    rounding: str = "tflm",
    emit_flatbuffer: bool = False,
    calibration: str | Path | None = None,
    isa: tuple[str, ...] = (),
) -> CompiledModel:
    """Compile a model file into `out_dir` (created if needed) and return what was generated."""
    from mcukit.ir.reader import parse_tflite

    if rounding not in ("tflm", "litert"):
        raise UsageError(f"unknown rounding {rounding!r}", "use --rounding tflm or --rounding litert")
    path = Path(path)
    data = model_bytes(path, calibration)
    name = path.stem
    graph = parse_tflite(data, name=name)
    gen = generate(graph, LowerOptions(rounding=rounding, isa=isa),
                   emit_flatbuffer=data if emit_flatbuffer else None, model_name=name)
    out = write_files(gen, out_dir)
    return CompiledModel(generated=gen, directory=out, tflite=data, name=name)


def write_files(generated: GeneratedModel, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder", "choose another -o folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in GENERATED_NAMES:
        if name not in generated.files and (out / name).exists():
            (out / name).unlink()
    for name, text in sorted(generated.files.items()):
        target = out / name
        if not target.exists() or target.read_text() != text:  # keep mtimes stable for incremental builds
            target.write_text(text)
    return out
