"""CONCATENATION (int8, any axis, any number of inputs) -> mk_concatenation_s8.

TFLite's int8 CONCATENATION never requantizes: the converter gives every input the output's scale and zero point
(inserting QUANTIZE ops where they differ), and both references refuse a model whose inputs are quantized
differently (the installed TFLite Micro and LiteRT check it in Prepare; older TFLite Micro sources copied the raw
values regardless). mcukit rejects such a model too, so the kernel is a plain byte copy. A fused activation is
rejected, as TFLite Micro does.
"""

from __future__ import annotations

import numpy as np

from mcukit.codegen.kernel_call import CArray, KernelCall, LowerOptions, array, tensor
from mcukit.codegen.ops.conv import fields, require_int8, scale_zp, unsupported
from mcukit.ir.graph import ConcatenationOptions, Graph, Op

KINDS = ("CONCATENATION",)


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    opts = op.options
    assert isinstance(opts, ConcatenationOptions)
    if opts.activation != "NONE":
        raise unsupported(op, f"fused activation {opts.activation} on CONCATENATION (TFLite Micro rejects it too)")
    y = require_int8(op, graph.op_outputs(op)[0], "output")
    ins = [require_int8(op, t, f"input {k}") for k, t in enumerate(graph.op_inputs(op))]
    for k, t in enumerate(ins):
        if scale_zp(t) != scale_zp(y):
            raise unsupported(
                op, f"input {k} is quantized as {scale_zp(t)} but the output as {scale_zp(y)}; TFLite's int8 "
                "CONCATENATION does not requantize (both references refuse this model)")
    rank = len(y.shape)
    axis = opts.axis + rank if opts.axis < 0 else opts.axis
    if not 0 <= axis < rank:
        raise unsupported(op, f"axis {opts.axis} out of range for rank {rank}")
    for t in ins:
        same = len(t.shape) == rank and all(
            int(a) == int(b) for d, (a, b) in enumerate(zip(t.shape, y.shape)) if d != axis)
        if not same:
            raise unsupported(op, f"input shape {t.shape} does not fit output {y.shape} on axis {axis}")
    if sum(int(t.shape[axis]) for t in ins) != int(y.shape[axis]):
        raise unsupported(op, "the inputs' sizes along the axis do not add up to the output's")
    outer = int(np.prod([int(d) for d in y.shape[:axis]], dtype=np.int64))
    inner = int(np.prod([int(d) for d in y.shape[axis + 1:]], dtype=np.int64))
    chunks = np.asarray([int(t.shape[axis]) * inner for t in ins], dtype=np.int32)
    params = fields(outer=outer, num_inputs=len(ins), chunk=array("chunk"))
    pointers = "(const int8_t *const[]){" + ", ".join(tensor(i) for i in op.inputs) + "}"
    return KernelCall(
        kernel="mk_concatenation_s8",
        params_type="mk_concatenation_params",
        params=params,
        args=(pointers, tensor(op.outputs[0])),
        arrays=(CArray("chunk", "int32_t", chunks),),
    )
