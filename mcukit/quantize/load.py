"""Find out what a model file is, refuse what cannot be handled safely, and load the rest with Keras.

Model files are untrusted. Before TensorFlow is imported the file is identified by its first bytes, and the Keras
architecture (a JSON document inside the .h5 or .keras file) is scanned for Lambda layers, which carry Python code.
Keras then loads with `safe_mode=True`, so a model file cannot run code.

Supported: Keras 3 `.h5` and `.keras`, legacy Keras 2 `.h5` (including the DepthwiseConv2D `groups` argument that
Keras 3 rejects), and TensorFlow SavedModel folders.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mcukit.errors import DependencyError, ModelError, UnsupportedModelError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
TFLITE_MAGIC = b"TFL3"  # at offset 4
FORMATS = ("h5", "keras", "savedmodel")
_KERAS_HINT = "pass a Keras model (.h5 or .keras) or a TensorFlow SavedModel folder"
# Layers that hold Python code (or TensorFlow ops serialized as Python calls) instead of a plain configuration.
_CODE_LAYERS = {"Lambda", "TFOpLambda", "SlicingOpLambda"}
# Recurrent layers: mcukit has no int8 kernels for them, and TensorFlow's int8 calibrator crashes (SIGSEGV, no
# message) on an LSTM converted with a fixed batch, so they are refused up front.
_RECURRENT_LAYERS = {"LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
                     "LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells"}


@dataclass(frozen=True)
class ModelFile:
    """An identified model: its format, and (for Keras files) the Keras version that wrote it."""

    path: Path
    format: str  # one of FORMATS
    keras_version: str | None = None

    @property
    def legacy(self) -> bool:
        return bool(self.keras_version) and self.keras_version.split(".")[0] in ("1", "2")


@dataclass
class LoadedModel:
    """A loaded float model, reduced to what conversion and the fidelity check need.

    `fn` is a tf.function traced for exactly one sample (batch 1), so nothing in the converted graph depends on a
    dynamic batch size. `trackable` keeps the variables `fn` reads alive.
    """

    name: str
    input_shape: tuple[int, ...]  # without the batch dimension
    fn: Any
    trackable: Any

    def predict(self, x: np.ndarray) -> list[np.ndarray]:
        """Float outputs for (N, *input_shape) inputs: one (N, *output_shape_without_batch) array per output."""
        rows: list[list[np.ndarray]] = []
        for i in range(x.shape[0]):
            outs = _flatten_outputs(self.fn(x[i : i + 1]))
            rows.append([np.asarray(o)[0] for o in outs])
        return [np.stack([r[k] for r in rows]) for k in range(len(rows[0]))] if rows else []


# ---- identification (no TensorFlow) ---------------------------------------------------------------------------


def identify(path: str | Path) -> ModelFile:
    """Identify a model file or folder from its contents; raise ModelError for anything else."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file {path} does not exist", "check the path")
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return ModelFile(path, "savedmodel")
        raise ModelError(f"{path} is a folder without saved_model.pb, so not a TensorFlow SavedModel", _KERAS_HINT)
    if path.name == "saved_model.pb":
        raise ModelError(f"{path} is one file of a SavedModel", f"pass the folder {path.parent} instead")
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}", "check the file's permissions") from exc
    suffix = path.suffix.lower()
    if not head:
        raise ModelError(f"model file {path} is empty", "re-save the model from Keras (model.save('model.h5'))")
    if head[4:8] == TFLITE_MAGIC or suffix == ".tflite":
        raise ModelError(
            f"{path} is already a TFLite model; `mcukit quantize` takes a Keras model",
            f"inspect it with `mcukit inspect {path}` or turn it into C with `mcukit compile {path}`",
        )
    if head.startswith(HDF5_MAGIC):
        return _identify_h5(path)
    if head.startswith(ZIP_MAGIC):
        return _identify_keras_zip(path)
    if suffix in (".h5", ".hdf5", ".keras"):
        raise ModelError(
            f"{path} is not a valid {suffix} file (it does not start with the {'HDF5' if suffix != '.keras' else 'zip'}"
            " signature): the file is corrupt",
            "re-save the model from Keras; if the file was copied or downloaded, check the copy is complete",
        )
    raise ModelError(f"{path} is not a Keras model (neither HDF5 nor a .keras archive)", _KERAS_HINT)


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise DependencyError("h5py (which Keras uses to read .h5 files) is not installed",
                              "install TensorFlow with: pip install 'mcukit[tf]'") from exc
    return h5py


def _identify_h5(path: Path) -> ModelFile:
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
            version = f.attrs.get("keras_version")
            has_weights = "model_weights" in f or "layer_names" in f.attrs
    except OSError as exc:
        raise ModelError(
            f"{path} is a corrupt or truncated HDF5 file ({_first_line(str(exc))})",
            "re-save the model from Keras; if the file was copied or downloaded, check the copy is complete",
        ) from exc
    if raw is None:
        what = "only weights" if has_weights else "no Keras model"
        raise ModelError(f"{path} holds {what}, no model architecture",
                         "save the whole model with model.save('model.h5') or model.save('model.keras')")
    config = _parse_json(raw, path)
    _refuse_layers(config, path)
    return ModelFile(path, "h5", _text(version) or None)


def _identify_keras_zip(path: Path) -> ModelFile:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "config.json" not in names:
                raise ModelError(f"{path} is a zip archive but not a .keras model (no config.json)", _KERAS_HINT)
            config = _parse_json(z.read("config.json"), path)
            meta = json.loads(z.read("metadata.json")) if "metadata.json" in names else {}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelError(
            f"{path} is a corrupt or truncated .keras archive ({_first_line(str(exc))})",
            "re-save the model from Keras; if the file was copied or downloaded, check the copy is complete",
        ) from exc
    _refuse_layers(config, path)
    return ModelFile(path, "keras", str(meta.get("keras_version") or "") or None)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value) if value is not None else ""


def _parse_json(raw: Any, path: Path) -> Any:
    try:
        return json.loads(_text(raw))
    except ValueError as exc:
        raise ModelError(f"the model architecture stored in {path} is not valid JSON: the file is corrupt",
                         "re-save the model from Keras") from exc


def _walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _refuse_layers(config: Any, path: Path) -> None:
    """Refuse layers that carry code, custom (registered) classes and recurrent layers, naming the layer."""
    for node in _walk(config):
        cls = node.get("class_name")
        if not isinstance(cls, str):
            continue
        inner = node.get("config") if isinstance(node.get("config"), dict) else {}
        name = inner.get("name") or node.get("name") or "?"
        registered = node.get("registered_name")
        if cls in _CODE_LAYERS:
            raise UnsupportedModelError(
                f"layer '{name}' in {path.name} is a {cls} layer; mcukit does not load layers that carry Python "
                "code (loading it could run arbitrary code)",
                "replace the Lambda with built-in Keras layers (e.g. Rescaling, Reshape, Add, Multiply) and re-save",
            )
        if ">" in cls or (isinstance(registered, str) and ">" in registered):
            raise UnsupportedModelError(
                f"'{name}' in {path.name} is a custom Keras class ({registered if registered else cls}); mcukit "
                "loads built-in Keras layers only",
                "rebuild the model from built-in Keras layers and re-save",
            )
        if cls in _RECURRENT_LAYERS:
            raise UnsupportedModelError(
                f"layer '{name}' in {path.name} is recurrent ({cls}); mcukit supports no recurrent layers",
                "use convolutional or dense layers over the time axis instead",
            )


def _first_line(text: str) -> str:
    """The first sentence of an error message (Keras appends paragraphs of advice that do not apply)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip().split(". ")[0][:200]
    return text[:200]


# ---- loading (TensorFlow) ---------------------------------------------------------------------------------------


def load(model_file: ModelFile, tf: Any) -> LoadedModel:
    """Load an identified model with TensorFlow `tf` and trace it for batch size 1."""
    if model_file.format == "savedmodel":
        return _load_savedmodel(model_file.path, tf)
    return _load_keras(model_file, tf)


def _legacy_custom_objects(keras: Any) -> dict[str, Any]:
    class DepthwiseConv2D(keras.layers.DepthwiseConv2D):
        """Keras 2 wrote `groups: 1` into DepthwiseConv2D configs; Keras 3 rejects the argument (it means nothing)."""

        def __init__(self, *args: Any, groups: Any = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)

    return {"DepthwiseConv2D": DepthwiseConv2D}


def _load_keras(model_file: ModelFile, tf: Any) -> LoadedModel:
    import keras

    from mcukit.quantize._tf import muffled

    path = model_file.path
    custom = _legacy_custom_objects(keras) if model_file.legacy else None
    try:
        with muffled():
            model = keras.models.load_model(path, custom_objects=custom, compile=False, safe_mode=True)
    except (TypeError, ValueError) as exc:
        message = _first_line(str(exc))
        if "locate" in message or "Unknown" in message or "not found" in message.lower():
            raise UnsupportedModelError(
                f"Keras cannot rebuild {path.name}: {message}",
                "mcukit loads built-in Keras layers only; replace custom layers and re-save",
            ) from exc
        raise ModelError(f"Keras cannot load {path.name}: {message}",
                         "re-save the model with Keras 3 (model.save('model.keras'))") from exc
    except Exception as exc:  # untrusted file: any failure inside Keras is the file's fault
        raise ModelError(f"Keras cannot load {path.name} ({type(exc).__name__}: {_first_line(str(exc))})",
                         "re-save the model; if the file was copied, check the copy is complete") from exc
    inputs = list(getattr(model, "inputs", None) or [])
    if len(inputs) != 1:
        raise UnsupportedModelError(f"{path.name} has {len(inputs)} inputs; mcukit quantizes single-input models",
                                    "give the model one input tensor")
    shape = _static_shape(tuple(inputs[0].shape)[1:], path)
    dtype = str(getattr(inputs[0], "dtype", "float32"))
    if "float" not in dtype:
        raise UnsupportedModelError(f"{path.name} takes {dtype} input; mcukit quantizes float models",
                                    "make the model input float32")

    @tf.function(input_signature=[tf.TensorSpec([1, *shape], tf.float32)])
    def fn(x: Any) -> Any:
        return model(x, training=False)

    return LoadedModel(name=path.stem, input_shape=shape, fn=fn, trackable=model)


def _load_savedmodel(path: Path, tf: Any) -> LoadedModel:
    from mcukit.quantize._tf import muffled

    try:
        with muffled():
            obj = tf.saved_model.load(str(path))
    except Exception as exc:  # untrusted folder: any failure while reading it is the folder's fault
        raise ModelError(f"TensorFlow cannot load the SavedModel {path} ({type(exc).__name__}: "
                         f"{_first_line(str(exc))})", "re-export the SavedModel") from exc
    signatures = dict(getattr(obj, "signatures", {}) or {})
    if not signatures:
        raise UnsupportedModelError(f"the SavedModel {path} has no serving signature",
                                    "export it with model.export(path) or tf.saved_model.save(..., signatures=...)")
    sig = signatures.get("serving_default") or signatures[min(signatures)]
    _, kw_specs = sig.structured_input_signature
    if len(kw_specs) != 1:
        raise UnsupportedModelError(f"the SavedModel {path} has {len(kw_specs)} inputs; mcukit quantizes "
                                    "single-input models", "give the model one input tensor")
    (arg_name, spec), = kw_specs.items()
    shape = _static_shape(tuple(spec.shape)[1:], path)
    if not spec.dtype.is_floating:
        raise UnsupportedModelError(f"the SavedModel {path} takes {spec.dtype.name} input; mcukit quantizes float "
                                    "models", "make the model input float32")

    @tf.function(input_signature=[tf.TensorSpec([1, *shape], tf.float32)])
    def fn(x: Any) -> Any:
        out = sig(**{arg_name: tf.cast(x, spec.dtype)})
        return [out[k] for k in sorted(out)] if isinstance(out, dict) else out

    return LoadedModel(name=path.name, input_shape=shape, fn=fn, trackable=obj)


def _static_shape(dims: tuple[Any, ...], path: Path) -> tuple[int, ...]:
    if any(d is None for d in dims):
        raise UnsupportedModelError(
            f"{path.name} has an input of shape (batch, {', '.join('?' if d is None else str(d) for d in dims)}); "
            "every dimension but the batch must be fixed",
            "give the model's Input a fixed shape, e.g. keras.Input(shape=(49, 10, 1))",
        )
    return tuple(int(d) for d in dims)


def _flatten_outputs(out: Any) -> list[Any]:
    if isinstance(out, dict):
        return [out[k] for k in sorted(out)]
    if isinstance(out, (list, tuple)):
        return list(out)
    return [out]

