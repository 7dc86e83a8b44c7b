"""PAD and PADV2 (int8, up to 5-D, constant paddings) -> mk_pad_s8.

The pad value is the output zero point for PAD (a real 0.0) and the quantized constant operand for PADV2, as in
TFLite Micro. Input and output share their quantization in TFLite's int8 PAD, so values are copied unchanged.
"""

from __future__ import annotations

import numpy as np

from mcukit.codegen.kernel_call import KernelCall, LowerOptions, tensor
from mcukit.codegen.ops.conv import fields, require_int8, scale_zp, unsupported
from mcukit.ir.graph import Graph, Op

KINDS = ("PAD", "PADV2")
MAX_DIMS = 5  # MK_PAD_MAX_DIMS


def _c_list(values: list[int]) -> str:
    return "{" + ", ".join(str(v) for v in values) + "}"


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    x = require_int8(op, graph.op_inputs(op)[0], "input")
    y = require_int8(op, graph.op_outputs(op)[0], "output")
    if len(op.inputs) < 2 or op.inputs[1] < 0 or not graph.tensor(op.inputs[1]).is_constant:
        raise unsupported(op, "the paddings must be constant")
    rank = len(x.shape)
    if rank > MAX_DIMS:
        raise unsupported(op, f"PAD of a {rank}-D tensor (at most {MAX_DIMS})")
    pads = np.asarray(graph.tensor(op.inputs[1]).array()).reshape(-1, 2).astype(np.int64)
    if pads.shape[0] != rank or (pads < 0).any():
        raise unsupported(op, f"paddings {pads.tolist()} do not fit a {rank}-D input")
    out_shape = tuple(int(d + b + a) for d, (b, a) in zip(x.shape, pads))
    if tuple(y.shape) != out_shape:
        raise unsupported(op, f"output shape {y.shape}, expected {out_shape}")
    _, yz = scale_zp(y)
    pad_value = yz
    if op.kind == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        cv = graph.tensor(op.inputs[2])
        if not cv.is_constant or cv.dtype != "int8":
            raise unsupported(op, "PADV2 needs a constant int8 pad value")
        pad_value = int(np.asarray(cv.array()).reshape(-1)[0])
    lead = MAX_DIMS - rank
    dims = [1] * lead + [int(d) for d in x.shape]
    before = [0] * lead + [int(b) for b in pads[:, 0]]
    after = [0] * lead + [int(a) for a in pads[:, 1]]
    params = fields(in_dims=_c_list(dims), pad_before=_c_list(before), pad_after=_c_list(after),
                    pad_value=pad_value)
    return KernelCall(
        kernel="mk_pad_s8",
        params_type="mk_pad_params",
        params=params,
        args=(tensor(op.inputs[0]), tensor(op.outputs[0])),
    )
