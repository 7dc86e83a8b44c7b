"""QUANTIZE and DEQUANTIZE at the edges of float-IO models, and int8 -> int8 QUANTIZE (requantization).

- float32 -> int8 QUANTIZE -> mk_quantize_f32_s8 (float division and round-half-away in C, as TFLite).
- int8 -> float32 DEQUANTIZE -> mk_dequantize_s8_f32.
- int8 -> int8 QUANTIZE -> a mk_lut_s8 table: z_out + MultiplyByQuantizedMultiplier(x - z_in, s_in / s_out),
  double rounding, which both references use (tests/host/test_ops_activation.py).
"""

from __future__ import annotations

import numpy as np

from mcukit.codegen.kernel_call import KernelCall, LowerOptions, tensor
from mcukit.codegen.ops.activations import lut_call, requantize_outputs, to_table
from mcukit.codegen.ops.conv import fields, scale_zp, unsupported
from mcukit.ir.graph import Graph, Op, Tensor

KINDS = ("QUANTIZE", "DEQUANTIZE")


def float_literal(x: float) -> str:
    """A C float constant that is exactly the float32 value x (hexadecimal, so no decimal rounding)."""
    return float(np.float32(x)).hex() + "f"


def _quantized(op: Op, t: Tensor | None, role: str) -> Tensor:
    if t is None or t.quant is None or not t.quant.scale:
        raise unsupported(op, f"{role} has no quantization parameters")
    if t.quant.per_channel:
        raise unsupported(op, f"per-channel quantization of the {role}")
    return t


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    x = graph.op_inputs(op)[0]
    y = graph.op_outputs(op)[0]
    if x is None:
        raise unsupported(op, "missing input")
    if x.size != y.size:
        raise unsupported(op, "input and output sizes differ")
    if op.kind == "DEQUANTIZE":
        if x.dtype != "int8" or y.dtype != "float32":
            raise unsupported(op, f"DEQUANTIZE {x.dtype} -> {y.dtype} (only int8 -> float32)")
        s, z = scale_zp(_quantized(op, x, "input"))
        return KernelCall(
            kernel="mk_dequantize_s8_f32",
            params_type="mk_dequantize_params",
            params=fields(size=x.size, scale=float_literal(s), zero_point=z),
            args=(tensor(op.inputs[0]), tensor(op.outputs[0])),
        )
    if y.dtype != "int8" or x.dtype not in ("float32", "int8"):
        raise unsupported(op, f"QUANTIZE {x.dtype} -> {y.dtype} (only float32 or int8 -> int8)")
    s_out, z_out = scale_zp(_quantized(op, y, "output"))
    if x.dtype == "float32":
        return KernelCall(
            kernel="mk_quantize_f32_s8",
            params_type="mk_quantize_params",
            params=fields(size=x.size, scale=float_literal(s_out), zero_point=z_out),
            args=(tensor(op.inputs[0]), tensor(op.outputs[0])),
        )
    s_in, z_in = scale_zp(_quantized(op, x, "input"))
    return lut_call(op, to_table(requantize_outputs(s_in, z_in, s_out, z_out)), x.size)
