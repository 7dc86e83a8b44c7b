"""RESHAPE, SQUEEZE and EXPAND_DIMS: no kernel. Row-major bytes do not move, so the output aliases the input."""

from __future__ import annotations

from mcukit.codegen.kernel_call import KernelCall, LowerOptions
from mcukit.codegen.ops.conv import unsupported
from mcukit.ir.graph import Graph, Op

KINDS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    x = graph.op_inputs(op)[0]
    y = graph.op_outputs(op)[0]
    if x is None:
        raise unsupported(op, "missing input")
    if x.dtype != y.dtype or x.size != y.size:
        raise unsupported(op, f"{x.dtype}{list(x.shape)} -> {y.dtype}{list(y.shape)} is not a pure reshape")
    return KernelCall(kernel="", params_type="", params=(), args=(), alias=True)
