"""Read a .tflite flatbuffer into an `ir.Graph` without importing TensorFlow.

The schema accessors come from the generated module that ai-edge-litert ships; nothing generated is vendored.
Model files are untrusted input: any failure while decoding becomes a ModelError, never a Python exception.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

from mcukit.errors import ModelError
from mcukit.ir import graph as g

_TFLITE_IDENTIFIER = b"TFL3"
_MAX_ELEMENTS = 1 << 32  # no microcontroller tensor comes close; larger means a corrupt file


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _enum_names(enum_cls) -> dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


def read_tflite(path: str | Path) -> g.Graph:
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file {path} does not exist", "check the path")
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a .tflite file", "pass the .tflite file itself")
    return parse_tflite(path.read_bytes(), name=path.stem)


def parse_tflite(buf: bytes, name: str = "model") -> g.Graph:
    """Decode .tflite bytes. Raises ModelError for anything that is not a well-formed TFLite model."""
    if len(buf) == 0:
        raise ModelError("the model file is empty", "re-export the model (mcukit quantize MODEL.h5)")
    if len(buf) < 8 or buf[4:8] != _TFLITE_IDENTIFIER:
        raise ModelError(
            "not a TFLite flatbuffer (missing the 'TFL3' identifier)",
            "pass a .tflite file, or a Keras model to `mcukit quantize`",
        )
    try:
        return _decode(buf, name)
    except ModelError:
        raise
    except Exception as exc:  # untrusted bytes: every decoding failure is the file's fault
        raise ModelError(
            f"the .tflite file is corrupt or truncated ({type(exc).__name__} while decoding)",
            "re-export the model; if it was copied, check the copy is complete",
        ) from exc


def _decode(buf: bytes, name: str) -> g.Graph:
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(buf), 0)
    if not model.subgraphs:
        raise ModelError("the .tflite file has no subgraph", "re-export the model")
    sub = model.subgraphs[0]
    dtype_names = _enum_names(schema.TensorType)
    op_names = _enum_names(schema.BuiltinOperator)

    tensors = []
    for i, t in enumerate(sub.tensors or []):
        tensors.append(_tensor(i, t, model, buf, dtype_names))
    n = len(tensors)

    ops = []
    codes = model.operatorCodes or []
    for i, op in enumerate(sub.operators or []):
        if not 0 <= op.opcodeIndex < len(codes):
            raise ModelError(f"op {i} refers to a missing operator code", "re-export the model")
        code = codes[op.opcodeIndex]
        builtin = max(int(code.deprecatedBuiltinCode), int(code.builtinCode))
        kind = op_names.get(builtin, f"BUILTIN_{builtin}")
        if kind == "CUSTOM":
            custom = code.customCode.decode(errors="replace") if code.customCode else "?"
            kind = f"CUSTOM:{custom}"
        inputs = tuple(int(x) for x in (op.inputs if op.inputs is not None else []))
        outputs = tuple(int(x) for x in (op.outputs if op.outputs is not None else []))
        for t in inputs + outputs:
            if t >= n or t < -1:
                raise ModelError(f"op {i} ({kind}) refers to tensor {t}, but there are {n}", "re-export the model")
        ops.append(
            g.Op(index=i, kind=kind, inputs=inputs, outputs=outputs, options=_options(op, schema),
                 version=int(code.version))
        )

    def _io(indices) -> tuple[int, ...]:
        out = tuple(int(x) for x in (indices if indices is not None else []))
        if any(not 0 <= x < n for x in out):
            raise ModelError("the model's inputs or outputs refer to missing tensors", "re-export the model")
        return out

    return g.Graph(
        name=name,
        tensors=tuple(tensors),
        ops=tuple(ops),
        inputs=_io(sub.inputs),
        outputs=_io(sub.outputs),
        sha256=hashlib.sha256(buf).hexdigest(),
    )


def _tensor(index: int, t, model, buf: bytes, dtype_names: dict[int, str]) -> g.Tensor:
    dtype = dtype_names.get(int(t.type), f"type{t.type}").lower()
    if dtype == "bool":
        dtype = "bool"
    shape = tuple(int(x) for x in (t.shape if t.shape is not None else []))
    if any(d < 0 for d in shape):
        raise ModelError(
            f"tensor {t.name!r} has a dynamic shape {shape}",
            "convert with a fixed batch size of 1 (mcukit quantize does this)",
        )
    if math.prod(shape) > _MAX_ELEMENTS:  # also keeps numpy's int64 element counts from overflowing later
        raise ModelError(f"tensor {index} has an absurd shape {shape}", "the .tflite file is corrupt; re-export it")
    name = t.name.decode(errors="replace") if isinstance(t.name, bytes) else str(t.name or f"t{index}")
    quant = None
    q = t.quantization
    if q is not None and q.scale is not None and len(q.scale) > 0:
        scale = tuple(float(s) for s in q.scale)
        zps = tuple(int(z) for z in q.zeroPoint) if q.zeroPoint is not None else (0,) * len(scale)
        quant = g.Quant(scale=scale, zero_point=zps, axis=int(q.quantizedDimension))
    data = _buffer(t.buffer, model, buf)
    if data is not None and dtype in g.NUMPY_DTYPES:
        expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(g.NUMPY_DTYPES[dtype]).itemsize if shape else None
        if expected is not None and expected != len(data):
            raise ModelError(
                f"tensor {name!r} holds {len(data)} bytes but its shape {shape} needs {expected}",
                "the .tflite file is corrupt; re-export it",
            )
    return g.Tensor(index=index, name=name, shape=shape, dtype=dtype, quant=quant, data=data)


def _buffer(index: int, model, buf: bytes) -> bytes | None:
    buffers = model.buffers or []
    if index <= 0 or index >= len(buffers):
        return None
    b = buffers[index]
    if b.data is not None and len(b.data) > 0:
        return bytes(np.asarray(b.data, dtype=np.uint8))
    # Large models keep buffers after the flatbuffer, addressed by offset and size.
    if b.offset and b.offset > 1 and b.size:
        if b.offset + b.size > len(buf):
            raise ModelError("a weight buffer points past the end of the file", "the file is truncated")
        return bytes(buf[b.offset : b.offset + b.size])
    return None


def _act(schema, value: int) -> str:
    return g.ACTIVATIONS[value] if 0 <= value < len(g.ACTIVATIONS) else f"ACT{value}"


def _pad(value: int) -> str:
    return {0: "SAME", 1: "VALID"}.get(value, f"PADDING{value}")


def _options(op, schema) -> g.OpOptions:
    o = op.builtinOptions
    if o is None:
        return g.NoOptions()
    if isinstance(o, schema.Conv2DOptionsT):
        return g.Conv2DOptions(_pad(o.padding), o.strideH, o.strideW, o.dilationHFactor, o.dilationWFactor,
                               _act(schema, o.fusedActivationFunction))
    if isinstance(o, schema.DepthwiseConv2DOptionsT):
        return g.DepthwiseConv2DOptions(_pad(o.padding), o.strideH, o.strideW, o.dilationHFactor,
                                        o.dilationWFactor, o.depthMultiplier, _act(schema, o.fusedActivationFunction))
    if isinstance(o, schema.Pool2DOptionsT):
        return g.Pool2DOptions(_pad(o.padding), o.strideH, o.strideW, o.filterHeight, o.filterWidth,
                               _act(schema, o.fusedActivationFunction))
    if isinstance(o, schema.FullyConnectedOptionsT):
        return g.FullyConnectedOptions(_act(schema, o.fusedActivationFunction), bool(o.keepNumDims))
    if isinstance(o, (schema.AddOptionsT, schema.MulOptionsT, schema.SubOptionsT)):
        return g.ElementwiseOptions(_act(schema, o.fusedActivationFunction))
    if isinstance(o, schema.ConcatenationOptionsT):
        return g.ConcatenationOptions(o.axis, _act(schema, o.fusedActivationFunction))
    if isinstance(o, schema.ReshapeOptionsT):
        return g.ReshapeOptions(tuple(int(x) for x in (o.newShape if o.newShape is not None else [])))
    if isinstance(o, schema.SoftmaxOptionsT):
        return g.SoftmaxOptions(float(o.beta))
    if isinstance(o, schema.LeakyReluOptionsT):
        return g.LeakyReluOptions(float(o.alpha))
    if isinstance(o, schema.ReducerOptionsT):
        return g.ReducerOptions(bool(o.keepDims))
    return g.NoOptions()
