"""Float model -> full-integer int8 .tflite, and a check that the result is what the rest of mcukit expects.

The converter is given the model traced for batch size 1 (`LoadedModel.fn`). With a dynamic batch, Flatten and
similar layers turn into SHAPE + STRIDED_SLICE + PACK + RESHAPE, which the code generator should never see.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mcukit.errors import UnsupportedModelError
from mcukit.ir.graph import Graph
from mcukit.quantize.load import LoadedModel

# Ops that only appear when a shape is computed at run time (a dynamic batch dimension).
DYNAMIC_SHAPE_OPS = ("SHAPE", "STRIDED_SLICE", "PACK")


def convert_int8(model: LoadedModel, calibration: np.ndarray, tf: Any) -> bytes:
    """Quantize weights and activations to int8 (int8 input and output) using `calibration` for the ranges."""
    from mcukit.quantize._tf import muffled

    def representative() -> Any:
        for i in range(calibration.shape[0]):
            yield [calibration[i : i + 1]]

    with muffled() as said:
        try:
            concrete = model.fn.get_concrete_function()
            # Without a trackable object the converter freezes variables into constants. With one it keeps them as
            # resource variables, and calibration then fails on Keras 3 models (READ_VARIABLE finds no variable).
            # `model.trackable` still keeps the variables alive while the function is converted.
            converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
            flatbuffer = converter.convert()
        except Exception as exc:  # noqa: BLE001 - converter errors come in many types; all mean "not convertible"
            error: Exception | None = exc
        else:
            error = None
    if error is not None:
        raise UnsupportedModelError(
            f"TensorFlow could not convert {model.name} to full int8: {_reason(str(error), said.text)}",
            "every layer must have an int8 TFLite builtin; replace unsupported layers (run with --debug for details)",
        ) from error
    return bytes(flatbuffer)


def _reason(message: str, stderr: str) -> str:
    """The most telling line of a converter failure (MLIR 'error:' lines name the offending op)."""
    for line in (message + "\n" + stderr).splitlines():
        if "error:" in line:
            return line.split("error:", 1)[1].strip()[:300]
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    return lines[0][:300] if lines else "unknown error"


def check_int8(graph: Graph, name: str) -> None:
    """Fail loudly unless the model has int8 input and output, batch 1 and no run-time shape arithmetic."""
    dynamic = sorted({op.kind for op in graph.ops if op.kind in DYNAMIC_SHAPE_OPS})
    if dynamic:
        raise UnsupportedModelError(
            f"the int8 model of {name} still computes shapes at run time ({', '.join(dynamic)} ops)",
            "give the model's Input a fixed shape; report this with the model if it persists",
        )
    for role, tensors in (("input", graph.input_tensors), ("output", graph.output_tensors)):
        for t in tensors:
            if t.dtype != "int8":
                raise UnsupportedModelError(f"the converted model's {role} '{t.name}' is {t.dtype}, not int8",
                                            "every model input and output must be quantizable to int8")
            if t.quant is None:
                raise UnsupportedModelError(f"the converted model's {role} '{t.name}' has no quantization",
                                            "report this with the model")
    for t in graph.input_tensors:
        if not t.shape or t.shape[0] != 1:
            raise UnsupportedModelError(f"the converted model's input '{t.name}' has shape {t.shape}, not batch 1",
                                        "give the model's Input a fixed shape")
