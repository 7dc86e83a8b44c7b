"""Work and size figures per op and per model: MACs, parameters, weight bytes, activation memory.

MACs count multiply-accumulates of the int8 arithmetic as the kernels do it (padding positions included, as a
dense kernel computes them):

- CONV_2D: N * out_h * out_w * out_c * kh * kw * in_c (in_c from the filter, so grouped convolutions count right)
- DEPTHWISE_CONV_2D: N * out_h * out_w * out_c * kh * kw
- FULLY_CONNECTED: rows * out_features * in_features (rows = output elements / out_features)
- TRANSPOSE_CONV: N * in_h * in_w * in_c * kh * kw * out_c
- everything else: 0 MACs. `ops` gives a rough count of elementary operations for those instead (pools:
  output elements * window, reductions: input elements, elementwise and activations: output elements).

Parameters are the elements of constant weight and bias tensors; constant integer operands that only describe
shapes, axes or paddings (RESHAPE, MEAN, PAD, ...) are not parameters. A constant shared by several ops counts
once in the model totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcukit.ir.graph import Graph, Op, Tensor

_WEIGHTED = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "CONV_3D"})
_POOLS = frozenset({"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"})
_REDUCTIONS = frozenset({"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY"})
_ELEMENTWISE = frozenset({
    "ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "RELU", "RELU6", "RELU_N1_TO_1",
    "LEAKY_RELU", "PRELU", "LOGISTIC", "TANH", "HARD_SWISH", "SOFTMAX", "LOG_SOFTMAX", "QUANTIZE", "DEQUANTIZE",
    "ABS", "SQRT", "RSQRT", "EXP", "LOG", "NEG", "SQUARE", "ELU", "GELU",
})
# Integer dtypes of constants that are indices/shapes for ops outside _WEIGHTED (not learned parameters).
_INDEX_DTYPES = frozenset({"int32", "int64"})


@dataclass(frozen=True)
class LayerStats:
    index: int
    kind: str
    input_shapes: tuple[tuple[int, ...], ...]  # non-constant inputs, in operand order
    output_shapes: tuple[tuple[int, ...], ...]
    macs: int
    ops: int  # elementary operations for ops without MACs (0 for MAC ops)
    params: int
    weight_bytes: int
    param_tensors: tuple[int, ...]  # tensor indices counted in params


@dataclass(frozen=True)
class ModelStats:
    layers: tuple[LayerStats, ...]
    macs: int
    params: int
    weight_bytes: int
    activation_bytes_naive: int  # every non-constant tensor in its own buffer (no reuse at all)
    largest_layer_bytes: int  # max over ops of its non-constant inputs + outputs: a lower bound for any plan
    input_bytes: int
    output_bytes: int


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def param_tensors(graph: Graph, op: Op) -> list[Tensor]:
    """The constant inputs of `op` that are learned parameters (weights, biases, constant operands)."""
    out = []
    for pos, t in enumerate(graph.op_inputs(op)):
        if t is None or not t.is_constant:
            continue
        if op.kind in _WEIGHTED:
            if pos in (1, 2) or (op.kind == "TRANSPOSE_CONV" and pos == 3):
                out.append(t)
        elif t.dtype not in _INDEX_DTYPES:
            out.append(t)
    return out


def layer_macs(graph: Graph, op: Op) -> int:
    ins = graph.op_inputs(op)
    outs = graph.op_outputs(op)
    if not outs:
        return 0
    out = outs[0]
    try:
        if op.kind == "CONV_2D":
            n, oh, ow, oc = out.shape
            _, kh, kw, ic = ins[1].shape
            return n * oh * ow * oc * kh * kw * ic
        if op.kind == "DEPTHWISE_CONV_2D":
            n, oh, ow, oc = out.shape
            _, kh, kw, _ = ins[1].shape
            return n * oh * ow * oc * kh * kw
        if op.kind == "FULLY_CONNECTED":
            out_features, in_features = ins[1].shape
            rows = _size(out.shape) // out_features if out_features else 0
            return rows * out_features * in_features
        if op.kind == "TRANSPOSE_CONV":
            _, kh, kw, _ = ins[1].shape
            n, ih, iw, ic = ins[2].shape
            oc = out.shape[-1]
            return n * ih * iw * ic * kh * kw * oc
    except (ValueError, TypeError, AttributeError, IndexError):
        return 0  # malformed shapes: validation reports the op; counting does not crash
    return 0


def layer_ops(graph: Graph, op: Op) -> int:
    outs = graph.op_outputs(op)
    if not outs:
        return 0
    if op.kind in _POOLS:
        o = op.options
        window = getattr(o, "filter_h", 1) * getattr(o, "filter_w", 1)
        return _size(outs[0].shape) * window
    if op.kind in _REDUCTIONS:
        first = graph.op_inputs(op)[0]
        return _size(first.shape) if first is not None else 0
    if op.kind in _ELEMENTWISE:
        return _size(outs[0].shape)
    return 0


def model_stats(graph: Graph) -> ModelStats:
    layers = []
    for op in graph.ops:
        params = param_tensors(graph, op)
        layers.append(
            LayerStats(
                index=op.index,
                kind=op.kind,
                input_shapes=tuple(t.shape for t in graph.op_inputs(op) if t is not None and not t.is_constant),
                output_shapes=tuple(t.shape for t in graph.op_outputs(op)),
                macs=layer_macs(graph, op),
                ops=layer_ops(graph, op),
                params=sum(t.size for t in params),
                weight_bytes=sum(_nbytes(t) for t in params),
                param_tensors=tuple(t.index for t in params),
            )
        )
    unique = {i for layer in layers for i in layer.param_tensors}
    used = {i for op in graph.ops for i in op.inputs + op.outputs if i >= 0} | set(graph.inputs) | set(graph.outputs)
    activations = [graph.tensor(i) for i in sorted(used) if not graph.tensor(i).is_constant]
    largest = 0
    for op in graph.ops:
        io = {i for i in op.inputs + op.outputs if i >= 0 and not graph.tensor(i).is_constant}
        largest = max(largest, sum(_nbytes(graph.tensor(i)) for i in io))
    return ModelStats(
        layers=tuple(layers),
        macs=sum(layer.macs for layer in layers),
        params=sum(graph.tensor(i).size for i in unique),
        weight_bytes=sum(_nbytes(graph.tensor(i)) for i in unique),
        activation_bytes_naive=sum(_nbytes(t) for t in activations),
        largest_layer_bytes=largest,
        input_bytes=sum(_nbytes(t) for t in graph.input_tensors),
        output_bytes=sum(_nbytes(t) for t in graph.output_tensors),
    )


def _nbytes(t: Tensor) -> int:
    if t.data is not None:
        return len(t.data)  # exact for packed types (int4) too
    try:
        return t.nbytes
    except KeyError:  # a dtype numpy does not know (e.g. int4, complex): count one byte per element
        return t.size


__all__ = ["LayerStats", "ModelStats", "layer_macs", "layer_ops", "model_stats", "param_tensors"]
