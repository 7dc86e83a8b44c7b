"""ADD and MUL (int8, with TFLite's broadcasting) -> mk_add_s8 / mk_mul_s8.

Prepare follows TFLite's int8 kernels: ADD brings both inputs to twice the larger input scale with 20 bits of
headroom (left_shift) and requantizes the sum; MUL requantizes the product of the zero-centred inputs with
s1 * s2 / s_out. Both references (TFLite Micro and ai-edge-litert BUILTIN_REF) round these ops twice, so the C
kernels use mk_requantize in every build (docs/kernels-elementwise.md).
"""

from __future__ import annotations

from mcukit.codegen.kernel_call import CArray, KernelCall, LowerOptions, array, tensor
from mcukit.codegen.ops._isa import ADD_LUT_KERNEL, add_kernel, add_lut_table
from mcukit.codegen.ops.conv import act_range, fields, require_int8, scale_zp, unsupported
from mcukit.codegen.quantmath import quantize_multiplier
from mcukit.ir.graph import ElementwiseOptions, Graph, Op

KINDS = ("ADD", "MUL")

MAX_DIMS = 6  # MK_BROADCAST_MAX_DIMS in mk_elementwise.h
ADD_LEFT_SHIFT = 20  # TFLite's headroom for int8 ADD


def broadcast_plan(shape1: tuple[int, ...], shape2: tuple[int, ...], out_shape: tuple[int, ...]
                   ) -> tuple[list[int], list[int], list[int]]:
    """(shape, stride1, stride2) for mk_broadcast: numpy/TFLite broadcasting, with dimensions of extent 1 dropped
    and neighbours that both inputs traverse the same way merged. Raises ValueError if the shapes don't broadcast
    to `out_shape` or need more than MAX_DIMS dimensions."""
    n = max(len(shape1), len(shape2), len(out_shape))
    s1 = (1,) * (n - len(shape1)) + tuple(shape1)
    s2 = (1,) * (n - len(shape2)) + tuple(shape2)
    so = (1,) * (n - len(out_shape)) + tuple(out_shape)
    for a, b, o in zip(s1, s2, so):
        if o != max(a, b) or a not in (1, o) or b not in (1, o):
            raise ValueError(f"shapes {shape1} and {shape2} do not broadcast to {out_shape}")

    def strides(s: tuple[int, ...]) -> list[int]:
        out, acc = [0] * n, 1
        for k in range(n - 1, -1, -1):
            out[k] = acc if s[k] != 1 else 0
            acc *= s[k]
        return out

    st1, st2 = strides(s1), strides(s2)
    dims = [(so[k], st1[k], st2[k]) for k in range(n) if so[k] != 1]
    merged: list[tuple[int, int, int]] = []
    for ext, a, b in dims:
        if merged:
            pext, pa, pb = merged[-1]
            if pa == a * ext and pb == b * ext:  # the outer dim continues the inner one for both inputs
                merged[-1] = (pext * ext, a, b)
                continue
        merged.append((ext, a, b))
    if not merged:
        merged = [(1, 0, 0)]
    if len(merged) > MAX_DIMS:
        raise ValueError(f"broadcasting {shape1} with {shape2} needs {len(merged)} dimensions (max {MAX_DIMS})")
    return [m[0] for m in merged], [m[1] for m in merged], [m[2] for m in merged]


def _c_array(values: list[int]) -> str:
    return "{" + ", ".join(str(v) for v in values) + "}"


def bcast_initializer(shape: list[int], st1: list[int], st2: list[int]) -> str:
    return (f"{{.dims = {len(shape)}, .shape = {_c_array(shape)}, .stride1 = {_c_array(st1)}, "
            f".stride2 = {_c_array(st2)}}}")


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    opts = op.options
    activation = opts.activation if isinstance(opts, ElementwiseOptions) else "NONE"
    if len(op.inputs) != 2:
        raise unsupported(op, f"{len(op.inputs)} inputs, expected 2")
    ins = graph.op_inputs(op)
    x1 = require_int8(op, ins[0], "first input")
    x2 = require_int8(op, ins[1], "second input")
    y = require_int8(op, graph.op_outputs(op)[0], "output")
    for t in (x1, x2, y):
        if t.quant is not None and t.quant.per_channel:
            raise unsupported(op, f"per-channel quantization of {t.name!r}")
    try:
        shape, st1, st2 = broadcast_plan(x1.shape, x2.shape, y.shape)
    except ValueError as e:
        raise unsupported(op, str(e)) from e
    s1, z1 = scale_zp(x1)
    s2, z2 = scale_zp(x2)
    so, zo = scale_zp(y)
    lo, hi = act_range(op, activation, y)
    arrays: tuple[CArray, ...] = ()
    common = {"bcast": bcast_initializer(shape, st1, st2), "input1_offset": -z1, "input2_offset": -z2,
              "output_offset": zo}
    if op.kind == "ADD":
        twice_max = 2.0 * max(s1, s2)
        m1, sh1 = quantize_multiplier(s1 / twice_max)
        m2, sh2 = quantize_multiplier(s2 / twice_max)
        mo, sho = quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * so))
        params = fields(**common, left_shift=ADD_LEFT_SHIFT, input1_multiplier=m1, input1_shift=sh1,
                        input2_multiplier=m2, input2_shift=sh2, output_multiplier=mo, output_shift=sho,
                        act_min=lo, act_max=hi)
        kernel, ptype = add_kernel(options), "mk_add_params"
        if kernel == "mk_add_s8_dsp" and len(shape) == 1 and st1 == st2 == [1]:
            # Same-shape inputs on DSP boards: the per-input requantizations as compile-time tables and a provably
            # exact short output requantization (docs/kernels.md); else the generic loop.
            table = add_lut_table((-z1, -z2), ADD_LEFT_SHIFT, (m1, m2), (sh1, sh2), mo, sho, zo)
            if table is not None:
                kernel, arrays = ADD_LUT_KERNEL, (CArray("add_lut", "int32_t", table),)
    else:
        mo, sho = quantize_multiplier(s1 * s2 / so)
        params = fields(**common, output_multiplier=mo, output_shift=sho, act_min=lo, act_max=hi)
        kernel, ptype = "mk_mul_s8", "mk_mul_params"
    # The output may overwrite an input that has the output's shape and is not a constant.
    inplace = tuple(k for k, t in enumerate((x1, x2)) if t.size == y.size and not t.is_constant)
    return KernelCall(
        kernel=kernel,
        params_type=ptype,
        params=params,
        args=(tensor(op.inputs[0]), tensor(op.inputs[1]))
        + ((array("add_lut"),) if kernel == ADD_LUT_KERNEL else ()) + (tensor(op.outputs[0]),),
        arrays=arrays,
        inplace_inputs=inplace,
        macs=y.size,
    )
