"""CONV_2D + ADD fusion: a residual ADD computed tile by tile from its conv, so the conv's output never exists.

In a residual block `y = conv(x) + skip` the conv's int8 output is a whole tensor that lives only to be read once,
element by element, by the ADD. Fused, the generated C calls the conv kernel the lowering picked (portable, DSP,
Helium: unchanged) on a tile of a few output pixels of one row into a small buffer, then the ADD kernel the ADD's
lowering picked on the tile's elements with the matching skip and output elements, and moves on. The result is
byte for byte the unfused one: the tile holds exactly the conv's output bytes for those pixels (the same kernel,
the same arithmetic per pixel) and the ADD is elementwise. The memory planner sees one op (the ADD's slot) that
reads the conv's input and the skip, writes the ADD's output (which may alias the skip, as the ADD in place
already does) and has the conv's scratch plus the tile as scratch.

A tile is one call of the conv kernel with a copy of its params: batches = 1, out_h = 1, out_w = the tile width,
and either
  - "pad" mode (any filter with padding or a window larger than 1x1): the input pointer and in_h/in_w unchanged,
    pad_top/pad_left shifted by the tile origin (pad_top - oy * stride_h, pad_left - ox * stride_w; usually
    negative). Every tileable kernel computes a pixel's window origin as out * stride - pad in signed arithmetic
    and clips taps against in_h/in_w, so pixel (0, j) of the tile reads exactly the window of pixel (oy, ox + j);
  - "ptr" mode (1x1 filters without padding: the 1x1 kernels refuse non-zero padding and read pixel rows by
    address): the input pointer moved to the tile's first input pixel, in_h = 1, in_w = the input columns the tile
    spans; pixel j then reads input pixel j * stride_w from there.
tests/host/test_fusion.py runs both modes through every host-built kernel against the unfused model.

Fused only when safe: the conv output has exactly one reader (the ADD, once), is no graph output, has the ADD's
shape (no broadcasting) and the ADD's kernel and the conv's kernel are ones whose calls this module understands.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from mcukit.codegen.kernel_call import SCRATCH, KernelCall, tensor
from mcukit.ir.graph import Graph, Op
from mcukit.plan import MemoryPlan, plan_memory

# Conv kernels whose tile calls were checked (source read: signed window origins clipped against in_h/in_w, or 1x1
# pixel addressing from the input pointer) and are tested on the host (portable, DSP) or on qemu-m55 (Helium).
TILEABLE_CONV = ("mk_conv_s8", "mk_conv_s8_dsp", "mk_conv_im2col_s8_dsp", "mk_conv_1x1_s8_dsp",
                 "mk_conv_wide_s8_dsp", "mk_conv_wide_w8_s8_dsp", "mk_conv_s8_mve", "mk_conv_1x1_s8_mve",
                 "mk_conv_im2col_s8_mve", "mk_conv_wino_s8_dsp")
# ADD kernels that, for same-shape inputs (bcast.dims == 1), only read bcast.shape[0] elements of each operand.
TILEABLE_ADD = ("mk_add_s8", "mk_add_s8_dsp", "mk_add_lut_s8_dsp")

TILE_BYTES = 128  # default tile budget: a few pixels of output; the generator may widen tiles that fit for free
SCRATCH_ALIGN = 16  # the tile starts this aligned after the conv's own scratch


@dataclass(frozen=True)
class ConvAdd:
    """One fused pair. Indices are op and tensor indices of the original graph."""

    conv: int  # the CONV_2D op
    add: int  # the ADD op (the fused op runs in its place)
    conv_out: int  # the tensor that is no longer materialized
    conv_pos: int  # the conv output's position among the ADD's inputs (0 or 1)
    tile: int  # output pixels per tile (of one output row)
    mode: str  # "pad" or "ptr" (see the module docstring)

    @property
    def skip_pos(self) -> int:
        return 1 - self.conv_pos


def _align(n: int) -> int:
    return (n + SCRATCH_ALIGN - 1) // SCRATCH_ALIGN * SCRATCH_ALIGN


def _params(call: KernelCall) -> dict[str, str]:
    return dict(call.params)


def _int(params: dict[str, str], name: str) -> int:
    return int(params[name])


def _readers(graph: Graph) -> dict[int, list[tuple[int, int]]]:
    out: dict[int, list[tuple[int, int]]] = {}
    for op in graph.ops:
        for pos, t in enumerate(op.inputs):
            if t >= 0:
                out.setdefault(t, []).append((op.index, pos))
    return out


def default_tile(out_w: int, out_c: int, budget: int = TILE_BYTES) -> int:
    """Output pixels per tile: as many as fit `budget` bytes, at least 2 (the DSP/Helium kernels work on pixel
    pairs), even when possible, never more than a row."""
    t = max(2, budget // max(1, out_c))
    if t % 2 and t > 2:
        t -= 1
    return max(1, min(out_w, t))


def find_conv_add(graph: Graph, calls: Sequence[KernelCall], budget: int = TILE_BYTES) -> tuple[ConvAdd, ...]:
    """Every ADD that can absorb the CONV_2D producing one of its inputs (the later conv in graph order when both
    qualify)."""
    readers = _readers(graph)
    producer = {t: op.index for op in graph.ops for t in op.outputs if t >= 0}
    outputs = set(graph.outputs)
    used: set[int] = set()
    fused: list[ConvAdd] = []
    for add in graph.ops:
        call = calls[add.index]
        if add.kind != "ADD" or call.kernel not in TILEABLE_ADD or len(add.inputs) != 2 or len(add.outputs) != 1:
            continue
        if add.inputs[0] == add.inputs[1] or min(add.inputs) < 0:
            continue
        if call.args[:2] != (tensor(add.inputs[0]), tensor(add.inputs[1])) or call.args[-1] != tensor(add.outputs[0]):
            continue
        y = graph.tensors[add.outputs[0]]
        best: ConvAdd | None = None
        for pos, t in enumerate(add.inputs):
            c = producer.get(t)
            skip = graph.tensors[add.inputs[1 - pos]]
            if c is None or c in used or t in outputs or readers.get(t) != [(add.index, pos)]:
                continue
            if skip.is_constant or tuple(skip.shape) != tuple(y.shape) or tuple(graph.tensors[t].shape) != tuple(
                    y.shape) or len(y.shape) != 4:
                continue
            pair = _conv_pair(graph.ops[c], calls[c], add, pos, budget)
            if pair is not None and (best is None or pair.conv > best.conv):
                best = pair
        if best is not None:
            used.add(best.conv)
            fused.append(best)
    return tuple(fused)


def _conv_pair(conv: Op, call: KernelCall, add: Op, pos: int, budget: int) -> ConvAdd | None:
    if conv.kind != "CONV_2D" or call.alias or call.kernel not in TILEABLE_CONV or len(conv.outputs) != 1:
        return None
    if not conv.inputs or conv.inputs[0] < 0:
        return None
    args = call.args
    if len(args) not in (4, 5) or args[0] != tensor(conv.inputs[0]) or args[3] != tensor(conv.outputs[0]):
        return None
    if (len(args) == 5) != (call.scratch_bytes > 0) or (len(args) == 5 and args[4] != SCRATCH):
        return None
    p = _params(call)
    try:
        fh, fw, pt, pl = (_int(p, k) for k in ("filter_h", "filter_w", "pad_top", "pad_left"))
        out_w, out_c = _int(p, "out_w"), _int(p, "out_c")
    except (KeyError, ValueError):
        return None
    mode = "ptr" if (fh, fw, pt, pl) == (1, 1, 0, 0) else "pad"
    if mode == "pad" and call.kernel in ("mk_conv_1x1_s8_dsp", "mk_conv_1x1_s8_mve"):
        return None  # they accept no padding
    return ConvAdd(conv=conv.index, add=add.index, conv_out=conv.outputs[0], conv_pos=pos,
                   tile=default_tile(out_w, out_c, budget), mode=mode)


def tile_bytes(graph: Graph, f: ConvAdd) -> int:
    return f.tile * int(graph.tensors[f.conv_out].shape[-1])


def fused_scratch(graph: Graph, calls: Sequence[KernelCall], f: ConvAdd) -> tuple[int, int]:
    """(offset of the tile inside the fused op's scratch, total scratch bytes)."""
    conv_scratch = calls[f.conv].scratch_bytes
    start = _align(conv_scratch) if conv_scratch else 0
    return start, start + tile_bytes(graph, f)


def planning_view(graph: Graph, calls: Sequence[KernelCall], fusions: Sequence[ConvAdd]
                  ) -> tuple[Graph, tuple[KernelCall, ...]]:
    """The graph and calls the memory planner (and check_plan) see: each fused conv an empty op (no inputs, no
    outputs, no scratch), each fused ADD reading the conv's inputs in the conv output's place, writing the ADD's
    output in place of the skip only (inplace_inputs), with the conv's scratch plus the tile as scratch. The conv
    output then has no lifetime and no offset, the conv input lives until the fused op, and ops keep their
    indices."""
    ops = list(graph.ops)
    new_calls = list(calls)
    for f in fusions:
        conv, add = graph.ops[f.conv], graph.ops[f.add]
        ops[f.conv] = dataclasses.replace(conv, inputs=(), outputs=())
        new_calls[f.conv] = dataclasses.replace(calls[f.conv], scratch_bytes=0, inplace_inputs=())
        ins = list(add.inputs)
        ins[f.conv_pos] = conv.inputs[0]
        ops[f.add] = dataclasses.replace(add, inputs=tuple(ins) + tuple(t for t in conv.inputs[1:]))
        new_calls[f.add] = dataclasses.replace(calls[f.add], inplace_inputs=(f.skip_pos,),
                                               scratch_bytes=fused_scratch(graph, calls, f)[1])
    return dataclasses.replace(graph, ops=tuple(ops)), tuple(new_calls)


def real_order(order: Sequence[int], fusions: Sequence[ConvAdd]) -> tuple[int, ...]:
    """The planner's order with every fused conv moved right before its ADD (where its work happens): the order
    model.c's layer markers come in."""
    convs = {f.conv for f in fusions}
    conv_of = {f.add: f.conv for f in fusions}
    out: list[int] = []
    for o in order:
        if o in convs:
            continue
        if o in conv_of:
            out.append(conv_of[o])
        out.append(o)
    return tuple(out)


def plan_fused(graph: Graph, calls: Sequence[KernelCall], fusions: Sequence[ConvAdd], *, select: bool = True,
               widen: bool = True) -> tuple[tuple[ConvAdd, ...], MemoryPlan]:
    """Plan memory for the graph with these fusions (planning_view); the plan's order is the real one
    (real_order). Returns the fusions kept and the plan.

    select: drop every fusion whose removal does not make the arena larger. A fused op keeps the conv's input
    alive until the ADD and adds a tile to the scratch, so away from the peak (or where the skip cannot be
    overwritten) it can cost bytes, and its per-tile calls cost a few instructions (docs/memory.md).
    widen: give each fused op whole-row tiles when that leaves the arena as small as with the default tiles
    (fewer kernel calls for free)."""
    fusions = tuple(fusions)
    plan = _plan(graph, calls, fusions)
    if select:
        for f in fusions:
            trial = tuple(g for g in fusions if g != f)
            without = _plan(graph, calls, trial)
            if without.arena_bytes <= plan.arena_bytes:
                fusions, plan = trial, without
    if widen:
        for i, f in enumerate(fusions):
            out_w = int(graph.tensors[f.conv_out].shape[2])
            if f.tile >= out_w:
                continue
            trial = fusions[:i] + (dataclasses.replace(f, tile=out_w),) + fusions[i + 1:]
            wider = _plan(graph, calls, trial)
            if wider.arena_bytes <= plan.arena_bytes:
                fusions, plan = trial, wider
    return fusions, plan


def _plan(graph: Graph, calls: Sequence[KernelCall], fusions: tuple[ConvAdd, ...]) -> MemoryPlan:
    if not fusions:
        return plan_memory(graph, calls)
    vg, vc = planning_view(graph, calls, fusions)
    plan = plan_memory(vg, vc)
    order = real_order(plan.execution_order(vg), fusions)
    graph_order = tuple(op.index for op in graph.ops)
    return dataclasses.replace(plan, order=() if order == graph_order else order)


def fused_body(graph: Graph, calls: Sequence[KernelCall], f: ConvAdd, subst_conv, subst_add,
               scratch_expr: str) -> list[str]:
    """C statements (one per line, no indentation) of the fused op. `subst_conv` / `subst_add` substitute
    placeholders in a string as the conv's / ADD's own call would; `scratch_expr` is the fused scratch pointer."""
    conv, add = graph.ops[f.conv], graph.ops[f.add]
    cc, ac = calls[f.conv], calls[f.add]
    p = _params(cc)
    n, ih, iw, ic = (_int(p, k) for k in ("batches", "in_h", "in_w", "in_c"))
    oh, ow, oc = (_int(p, k) for k in ("out_h", "out_w", "out_c"))
    sh, sw, pt, pl = (_int(p, k) for k in ("stride_h", "stride_w", "pad_top", "pad_left"))
    tile_off, _ = fused_scratch(graph, calls, f)
    inp = subst_conv(cc.args[0])
    conv_rest = [subst_conv(a) for a in cc.args[1:3]]
    conv_scratch = [scratch_expr] if len(cc.args) == 5 else []
    skip = subst_add(ac.args[f.skip_pos])
    out = subst_add(ac.args[-1])
    mid = [subst_add(a) for a in ac.args[2:-1]]  # the LUT table of mk_add_lut_s8_dsp
    add_in = ["tile", "skip + o"]
    if f.conv_pos == 1:
        add_in.reverse()
    lines = [
        "{",
        (f"    /* op {conv.index} (CONV_2D) fused with op {add.index} (ADD): tiles of {f.tile} output pixels "
         f"({f.mode} mode) */"),
        f"    mk_conv_params tp = mk_p{conv.index};",
        f"    mk_add_params ap = mk_p{add.index};",
        f"    int8_t *const tile = {scratch_expr} + {tile_off};",
        f"    const int8_t *const in = {inp};",
        f"    const int8_t *const skip = {skip};",
        f"    int8_t *const out = {out};",
        "    tp.batches = 1;",
        "    tp.out_h = 1;",
    ]
    if f.mode == "ptr":
        lines.append("    tp.in_h = 1;")
    lines += [
        f"    for (int32_t b = 0; b < {n}; ++b) {{",
        f"        for (int32_t oy = 0; oy < {oh}; ++oy) {{",
        f"            for (int32_t ox = 0; ox < {ow}; ox += {f.tile}) {{",
        f"                const int32_t w = MK_MIN({f.tile}, {ow} - ox);",
        f"                const size_t o = (((size_t)b * {oh} + (size_t)oy) * {ow} + (size_t)ox) * {oc};",
        "                tp.out_w = w;",
    ]
    if f.mode == "pad":
        lines += [
            f"                tp.pad_top = {pt} - oy * {sh};",
            f"                tp.pad_left = {pl} - ox * {sw};",
            f"                const int8_t *const x = in + (size_t)b * {ih * iw * ic};",
        ]
    else:
        lines += [
            f"                tp.in_w = (w - 1) * {sw} + 1;",
            (f"                const int8_t *const x = in + (((size_t)b * {ih} + (size_t)oy * {sh}) * {iw} + "
             f"(size_t)ox * {sw}) * {ic};"),
        ]
    lines += [
        f"                ap.bcast.shape[0] = w * {oc};",
        f"                (void){cc.kernel}(&tp, x, {', '.join(conv_rest + ['tile'] + conv_scratch)});",
        f"                (void){ac.kernel}(&ap, {', '.join(add_in + mid)}, out + o);",
        "            }",
        "        }",
        "    }",
        "}",
    ]
    return lines
