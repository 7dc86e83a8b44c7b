"""The contract between per-op lowerings (mcukit/codegen/ops/*.py) and the code generator.

A lowering is Python "prepare": it reads one IR op, computes every constant the C kernel needs (multipliers,
shifts, offsets, clamps, lookup tables) and returns a KernelCall. The generator then places tensors with the
memory planner and writes the call into model.c. C only does the integer "eval".

Tensor and scratch pointers are not known while lowering (the plan comes later), so a lowering refers to them
with placeholders that the generator substitutes:

    tensor(i)     -> "@T<i>@"      pointer to tensor i: arena offset for activations, a flash array for constants
    SCRATCH       -> "@SCRATCH@"   this op's scratch buffer (int8_t *), `scratch_bytes` long, 4-byte aligned
    array(name)   -> "@A:<name>@"  a CArray returned in `arrays` (per-op unique name; the generator prefixes it)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SCRATCH = "@SCRATCH@"


def tensor(index: int) -> str:
    return f"@T{index}@"


def array(name: str) -> str:
    return f"@A:{name}@"


@dataclass(frozen=True)
class CArray:
    """Constant data for flash, e.g. per-channel multipliers. `values` is converted to `ctype`."""

    name: str
    ctype: str  # "int8_t" | "uint8_t" | "int16_t" | "int32_t" | "uint32_t"
    values: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class KernelCall:
    """One C statement: `<kernel>(&params, <args...>);` where params is a `static const <params_type>`.

    `params` are designated initializers (field name, C expression). Placeholders may appear in params and args.
    """

    kernel: str
    params_type: str
    params: tuple[tuple[str, str], ...]
    args: tuple[str, ...]
    arrays: tuple[CArray, ...] = ()
    scratch_bytes: int = 0
    # Output may share memory with these input positions (the kernel reads each element before writing it).
    inplace_inputs: tuple[int, ...] = ()
    # True for ops that only reinterpret memory (RESHAPE): no call, output aliases input 0.
    alias: bool = False
    macs: int = 0


@dataclass(frozen=True)
class LowerOptions:
    rounding: str = "tflm"  # "tflm" (double rounding, default) | "litert" (ai-edge-litert BUILTIN_REF)
    isa: tuple[str, ...] = ()  # board ISA features, e.g. ("dsp",) or ("mve",); empty = portable kernels
    # DSP cores: conv and fully connected weights widened to int16 in flash (mk_conv_wide_s8_dsp and
    # mk_fully_connected_wide_s8_dsp, ~1.3-2x fewer instructions; twice those weights' bytes). pipeline.firmware turns
    # it off for a board whose flash it would crowd: int8 weights then, widened in the loop.
    wide_weights: bool = True
    # DSP cores, with wide_weights: Winograd F(4, 3) for 3-wide stride-1 convs (mk_conv_wino_s8_dsp), whose
    # transformed int16 weights take twice the wide kernel's bytes; pipeline.firmware turns it off first when the
    # weights would crowd the board's flash.
    winograd: bool = True
