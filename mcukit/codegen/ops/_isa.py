"""Which kernel variant an op gets on a board: portable C, the DSP-extension variant (`_dsp`) or Helium (`_mve`).

Every variant takes the same params struct and produces the same bytes as the portable kernel (see
firmware/include/mcukit/mk_kernels_dsp.h and mk_kernels_mve.h), so selection is purely a speed decision and the
lowerings only swap `KernelCall.kernel`. With an empty `LowerOptions.isa` nothing changes: the portable kernels.

Rules (docs/kernels.md):
  - "mve" in isa: the Helium kernel where one exists (conv, depthwise, fully connected), else the DSP one;
  - "dsp" in isa: the DSP kernel where one exists (conv, 1x1 conv, depthwise, 3x3 depthwise, fully connected,
    average/max pool, add);
  - specialisations (1x1 conv, 3x3 depthwise) only for the shapes their kernels accept.
"""

from __future__ import annotations

from mcukit.codegen.kernel_call import LowerOptions


def pick(options: LowerOptions, portable: str, *, dsp: str | None = None, mve: str | None = None) -> str:
    """The kernel name for this board: `mve` if the ISA has MVE and one is given, else `dsp` likewise, else
    `portable`."""
    if mve is not None and "mve" in options.isa:
        return mve
    if dsp is not None and ("dsp" in options.isa or "mve" in options.isa):
        return dsp
    return portable


def conv_kernel(options: LowerOptions, filter_h: int, filter_w: int, filter_in_c: int, in_c: int) -> str:
    """CONV_2D: the GEMM kernel for ungrouped 1x1 filters on DSP boards, the general one otherwise."""
    one_by_one = filter_h == 1 and filter_w == 1 and filter_in_c == in_c
    return pick(options, "mk_conv_s8", dsp="mk_conv_1x1_s8_dsp" if one_by_one else "mk_conv_s8_dsp",
                mve="mk_conv_s8_mve")


def depthwise_kernel(options: LowerOptions, filter_h: int, filter_w: int, depth_multiplier: int, dilation_h: int,
                     dilation_w: int) -> str:
    """DEPTHWISE_CONV_2D: the unrolled 3x3 kernel for 3x3, multiplier-1, undilated filters on DSP boards."""
    three = (filter_h, filter_w, depth_multiplier, dilation_h, dilation_w) == (3, 3, 1, 1, 1)
    return pick(options, "mk_depthwise_conv_s8",
                dsp="mk_depthwise_conv_3x3_s8_dsp" if three else "mk_depthwise_conv_s8_dsp",
                mve="mk_depthwise_conv_s8_mve")


def fully_connected_kernel(options: LowerOptions) -> str:
    return pick(options, "mk_fully_connected_s8", dsp="mk_fully_connected_s8_dsp", mve="mk_fully_connected_s8_mve")


def pool_kernel(options: LowerOptions, kind: str) -> str:
    """AVERAGE_POOL_2D / MAX_POOL_2D."""
    base = "mk_avg_pool_s8" if kind == "AVERAGE_POOL_2D" else "mk_max_pool_s8"
    return pick(options, base, dsp=f"{base}_dsp")


def add_kernel(options: LowerOptions) -> str:
    return pick(options, "mk_add_s8", dsp="mk_add_s8_dsp")
