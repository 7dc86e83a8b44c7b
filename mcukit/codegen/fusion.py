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

Conv chains (row streaming). In a residual block y = conv2(conv1(x)) + skip the conv1 output y1 is, like the conv2
output, read once, by conv2 only. With ConvAdd.pre = conv1 it is never a whole tensor either: before conv2's output
row r, the fused op drops the line-buffer rows of y1 below row r's window, moves the rest to the buffer's front
(row by row with memcpy: each source row lies at least one row above its destination) and computes the missing
y1 rows up to the window's end, one conv1 call per row (out_h = 1, a whole row, pad or ptr mode as for tiles).
The conv2 tile calls then read the line buffer as their input: in_h = the rows held, pad_top shifted so the window
origin lands on the right buffer row, so taps outside the held rows are clipped exactly where the full map would
clip them (the held rows are precisely the window's rows inside the map). row_schedule lists the rows per step;
rows_safe decides whether the output may be written over x when the skip is x itself (docs/memory.md has the
argument). plan_fused keeps the stream only where the arena would grow without it.
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
    # Row streaming (see "Conv chains" in the module docstring): the CONV_2D whose output is `conv`'s input, produced
    # row by row into a line buffer of `rows` rows, so that tensor (`pre_out`) never exists either. -1: none.
    pre: int = -1
    pre_out: int = -1
    pre_mode: str = ""  # "pad" or "ptr", as `mode`, for the pre conv's row calls
    rows: int = 0  # line-buffer rows: the most rows of `pre_out` one output row of `conv` reads
    # The skip is the pre conv's own input and the row schedule never reads a row of it after the output row at the
    # same place was written (rows_safe): the output may be written exactly over it.
    over_input: bool = False

    @property
    def skip_pos(self) -> int:
        return 1 - self.conv_pos

    @property
    def ops(self) -> tuple[int, ...]:
        """The fused op indices in execution order."""
        return ((self.pre,) if self.pre >= 0 else ()) + (self.conv, self.add)


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


def find_conv_add(graph: Graph, calls: Sequence[KernelCall], budget: int = TILE_BYTES, *,
                  chains: bool = True) -> tuple[ConvAdd, ...]:
    """Every ADD that can absorb the CONV_2D producing one of its inputs (the later conv in graph order when both
    qualify); with `chains`, also the CONV_2D producing that conv's input when its output has no other reader
    (streamed row by row, ConvAdd.pre)."""
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
        if best is not None and chains:
            best = _chain(graph, calls, best, readers, producer, outputs, used) or best
        if best is not None:
            used.update(best.ops)
            fused.append(best)
    return tuple(fused)


def _chain(graph: Graph, calls: Sequence[KernelCall], f: ConvAdd, readers: dict[int, list[tuple[int, int]]],
           producer: dict[int, int], outputs: set[int], used: set[int]) -> ConvAdd | None:
    """`f` with the CONV_2D producing its conv's input streamed row by row (None when that conv does not qualify:
    the same rules as the fused conv, and its output read by `f.conv` only, as input 0)."""
    conv = graph.ops[f.conv]
    mid = conv.inputs[0]
    c = producer.get(mid)
    if c is None or c in used or mid in outputs or readers.get(mid) != [(f.conv, 0)]:
        return None
    pre = _conv_pair(graph.ops[c], calls[c], graph.ops[f.add], f.conv_pos, TILE_BYTES)
    if pre is None or len(graph.tensors[mid].shape) != 4:
        return None
    sched = row_schedule(_params(calls[c]), _params(calls[f.conv]))
    if sched is None:
        return None
    rows = max(hi - lo for lo, hi, _ in sched)
    add = graph.ops[f.add]
    over = add.inputs[f.skip_pos] == graph.ops[c].inputs[0] and rows_safe(_params(calls[c]), sched)
    return dataclasses.replace(f, pre=c, pre_out=mid, pre_mode=pre.mode, rows=rows, over_input=over)


def _window_rows(o: int, stride: int, pad: int, filt: int, dil: int, size: int) -> tuple[int, int]:
    """[lo, hi): the input rows output row `o` of a window op reads (its window clipped to the map)."""
    start = o * stride - pad
    return max(0, start), min(size, start + (filt - 1) * dil + 1)


def row_schedule(pre: dict[str, str], conv: dict[str, str]) -> list[tuple[int, int, range]] | None:
    """For every output row r of `conv` (one batch): (lo, hi, new): the line buffer must hold rows [lo, hi) of the
    pre conv's output when row r is computed, and `new` are the rows computed just before (each once, in increasing
    order: lo and hi never decrease). None when some row's window is empty (nothing to stream) or shapes disagree."""
    h1 = _int(pre, "out_h")
    if _int(conv, "in_h") != h1 or _int(conv, "in_w") != _int(pre, "out_w") or _int(conv, "in_c") != _int(
            pre, "out_c") or _int(conv, "batches") != _int(pre, "batches"):
        return None
    out = []
    top = 0  # rows below `top` were computed already
    for r in range(_int(conv, "out_h")):
        lo, hi = _window_rows(r, _int(conv, "stride_h"), _int(conv, "pad_top"), _int(conv, "filter_h"),
                              _int(conv, "dilation_h"), h1)
        if hi <= lo:
            return None
        out.append((lo, hi, range(max(top, lo), hi)))
        top = max(top, hi)
    return out


def rows_safe(pre: dict[str, str], sched: Sequence[tuple[int, int, range]]) -> bool:
    """Whether the fused output may be written exactly over the pre conv's input x (the skip): output row r is
    written over x row r (same shape, elementwise ADD) after the pre conv rows of step r were computed, so every
    pre conv row computed at step r must read no x row below r (rows 0..r-1 are overwritten by then). The conv
    reads only the line buffer and the ADD reads x row r element by element where it writes."""
    for r, (_, _, new) in enumerate(sched):
        for j in new:
            lo, hi = _window_rows(j, _int(pre, "stride_h"), _int(pre, "pad_top"), _int(pre, "filter_h"),
                                  _int(pre, "dilation_h"), _int(pre, "in_h"))
            if hi > lo and _first_tap(j, pre) < r:
                return False
    return True


def _first_tap(j: int, p: dict[str, str]) -> int:
    """The lowest input row a window row j really reads (dilated taps skip rows)."""
    start = j * _int(p, "stride_h") - _int(p, "pad_top")
    for k in range(_int(p, "filter_h")):
        row = start + k * _int(p, "dilation_h")
        if 0 <= row < _int(p, "in_h"):
            return row
    return _int(p, "in_h")


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


def row_bytes(graph: Graph, f: ConvAdd) -> int:
    """Bytes of one row of the streamed tensor (0 without a pre conv)."""
    if f.pre < 0:
        return 0
    _, _, w, c = graph.tensors[f.pre_out].shape
    return int(w) * int(c)


def scratch_layout(graph: Graph, calls: Sequence[KernelCall], f: ConvAdd) -> tuple[int, int, int]:
    """(offset of the line buffer, offset of the tile, total bytes) inside the fused op's scratch. The kernels'
    own scratch comes first at offset 0: the pre conv and the conv never run at the same time, so they share it."""
    kernel = max(calls[o].scratch_bytes for o in (f.pre, f.conv) if o >= 0)
    line = _align(kernel) if kernel else 0
    rows = f.rows * row_bytes(graph, f)
    tile = line + (_align(rows) if rows else 0)
    return line, tile, tile + tile_bytes(graph, f)


def fused_scratch(graph: Graph, calls: Sequence[KernelCall], f: ConvAdd) -> tuple[int, int]:
    """(offset of the tile inside the fused op's scratch, total scratch bytes)."""
    _, tile, total = scratch_layout(graph, calls, f)
    return tile, total


def planning_view(graph: Graph, calls: Sequence[KernelCall], fusions: Sequence[ConvAdd]
                  ) -> tuple[Graph, tuple[KernelCall, ...]]:
    """The graph and calls the memory planner (and check_plan) see: each fused conv (and pre conv) an empty op (no
    inputs, no outputs, no scratch), each fused ADD reading the (pre) conv's input x in the conv output's place and
    the convs' constants after its own inputs, writing the ADD's output in place of the skip only
    (inplace_inputs), with the kernels' scratch plus the line buffer and the tile as scratch. When the skip is x
    itself it is read at both positions, and the output may go over it only if ConvAdd.over_input (rows_safe
    proved it); otherwise the planner and check_plan keep them apart. The conv outputs then have no lifetime and no
    offset, x lives until the fused op, and ops keep their indices."""
    ops = list(graph.ops)
    new_calls = list(calls)
    for f in fusions:
        conv, add = graph.ops[f.conv], graph.ops[f.add]
        first = graph.ops[f.pre] if f.pre >= 0 else conv
        consts: tuple[int, ...] = ()
        for o in f.ops[:-1]:
            ops[o] = dataclasses.replace(graph.ops[o], inputs=(), outputs=())
            new_calls[o] = dataclasses.replace(calls[o], scratch_bytes=0, inplace_inputs=())
            consts += tuple(graph.ops[o].inputs[1:])
        ins = list(add.inputs)
        ins[f.conv_pos] = first.inputs[0]
        # the row-safety proof covers only a streamed block whose skip is x itself
        proved = f.over_input and f.pre >= 0 and add.inputs[f.skip_pos] == first.inputs[0]
        inplace = (f.skip_pos, f.conv_pos) if proved else (f.skip_pos,)
        ops[f.add] = dataclasses.replace(add, inputs=tuple(ins) + consts)
        new_calls[f.add] = dataclasses.replace(calls[f.add], inplace_inputs=tuple(sorted(inplace)),
                                               scratch_bytes=fused_scratch(graph, calls, f)[1])
    return dataclasses.replace(graph, ops=tuple(ops)), tuple(new_calls)


def real_order(order: Sequence[int], fusions: Sequence[ConvAdd]) -> tuple[int, ...]:
    """The planner's order with every fused (pre) conv moved right before its ADD (where its work happens): the
    order model.c's layer markers come in."""
    moved = {o for f in fusions for o in f.ops[:-1]}
    before = {f.add: f.ops[:-1] for f in fusions}
    out: list[int] = []
    for o in order:
        if o in moved:
            continue
        out.extend(before.get(o, ()))
        out.append(o)
    return tuple(out)


def plan_fused(graph: Graph, calls: Sequence[KernelCall], fusions: Sequence[ConvAdd], *, select: bool = True,
               widen: bool = True) -> tuple[tuple[ConvAdd, ...], MemoryPlan]:
    """Plan memory for the graph with these fusions (planning_view); the plan's order is the real one
    (real_order). Returns the fusions kept and the plan.

    select: make every fusion as small as it can be without the arena growing: a chain first loses its pre conv
    (streaming rows costs a kernel call per row and row moves), then the fusion goes altogether. A fused op keeps
    the conv's input alive until the ADD and adds a tile (and a line buffer) to the scratch, so away from the peak
    (or where the skip cannot be overwritten) it can cost bytes, and its per-tile calls cost a few instructions
    (docs/memory.md).
    widen: give each fused op whole-row tiles when that leaves the arena as small as with the default tiles
    (fewer kernel calls for free)."""
    fusions = tuple(fusions)
    plan = _plan(graph, calls, fusions)
    if select:
        slots: list[ConvAdd | None] = list(fusions)
        for i, f in enumerate(fusions):
            simpler: list[ConvAdd | None] = [None]
            if f.pre >= 0:
                simpler.insert(0, dataclasses.replace(f, pre=-1, pre_out=-1, pre_mode="", rows=0, over_input=False))
            for g in simpler:
                trial = slots[:i] + [g] + slots[i + 1:]
                other = _plan(graph, calls, tuple(x for x in trial if x is not None))
                if other.arena_bytes <= plan.arena_bytes:
                    slots, plan = trial, other
        fusions = tuple(x for x in slots if x is not None)
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
               scratch_expr: str, subst_pre=None) -> list[str]:
    """C statements (one per line, no indentation) of the fused op. `subst_conv` / `subst_add` / `subst_pre`
    substitute placeholders in a string as the conv's / ADD's / pre conv's own call would; `scratch_expr` is the
    fused scratch pointer."""
    conv, add = graph.ops[f.conv], graph.ops[f.add]
    cc, ac = calls[f.conv], calls[f.add]
    p = _params(cc)
    n, ih, iw, ic = (_int(p, k) for k in ("batches", "in_h", "in_w", "in_c"))
    oh, ow, oc = (_int(p, k) for k in ("out_h", "out_w", "out_c"))
    sh, sw, pt, pl = (_int(p, k) for k in ("stride_h", "stride_w", "pad_top", "pad_left"))
    line_off, tile_off, _ = scratch_layout(graph, calls, f)
    conv_rest = [subst_conv(a) for a in cc.args[1:3]]
    conv_scratch = [scratch_expr] if len(cc.args) == 5 else []
    skip = subst_add(ac.args[f.skip_pos])
    out = subst_add(ac.args[-1])
    mid = [subst_add(a) for a in ac.args[2:-1]]  # the LUT table of mk_add_lut_s8_dsp
    add_in = ["tile", "skip + o"]
    if f.conv_pos == 1:
        add_in.reverse()
    chain = f.pre >= 0
    what = (f"op {f.pre} (CONV_2D) streamed in rows into op {conv.index} (CONV_2D) fused with op {add.index} (ADD)"
            if chain else f"op {conv.index} (CONV_2D) fused with op {add.index} (ADD)")
    lines = [
        "{",
        f"    /* {what}: tiles of {f.tile} output pixels ({f.mode} mode) */",
        f"    mk_conv_params tp = mk_p{conv.index};",
        f"    mk_add_params ap = mk_p{add.index};",
        f"    int8_t *const tile = {scratch_expr} + {tile_off};",
        f"    const int8_t *const skip = {skip};",
        f"    int8_t *const out = {out};",
        "    tp.batches = 1;",
        "    tp.out_h = 1;",
    ]
    if f.mode == "ptr":
        lines.append("    tp.in_h = 1;")
    if chain:
        assert subst_pre is not None
        lines += _pre_setup(graph, calls, f, subst_pre, scratch_expr, line_off)
    else:
        lines.append(f"    const int8_t *const in = {subst_conv(cc.args[0])};")
    lines += [
        f"    for (int32_t b = 0; b < {n}; ++b) {{",
    ]
    if chain:
        lines += _pre_rows(graph, calls, f, subst_pre, scratch_expr)
    else:
        lines.append(f"        for (int32_t oy = 0; oy < {oh}; ++oy) {{")
    lines += [
        f"            for (int32_t ox = 0; ox < {ow}; ox += {f.tile}) {{",
        f"                const int32_t w = MK_MIN({f.tile}, {ow} - ox);",
        f"                const size_t o = (((size_t)b * {oh} + (size_t)oy) * {ow} + (size_t)ox) * {oc};",
        "                tp.out_w = w;",
    ]
    if f.mode == "pad":
        lines += [f"                tp.pad_left = {pl} - ox * {sw};"]
        if chain:  # rows [lo, hi) of the streamed tensor are the line buffer's rows 0.. (set per row above)
            lines += ["                const int8_t *const x = line;"]
        else:
            lines += [
                f"                tp.pad_top = {pt} - oy * {sh};",
                f"                const int8_t *const x = in + (size_t)b * {ih * iw * ic};",
            ]
    else:
        lines.append(f"                tp.in_w = (w - 1) * {sw} + 1;")
        if chain:  # the line buffer holds exactly input row oy * stride_h
            lines.append(f"                const int8_t *const x = line + (size_t)ox * {sw * ic};")
        else:
            lines.append(f"                const int8_t *const x = in + (((size_t)b * {ih} + (size_t)oy * {sh}) * "
                         f"{iw} + (size_t)ox * {sw}) * {ic};")
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


def _pre_setup(graph: Graph, calls: Sequence[KernelCall], f: ConvAdd, subst_pre, scratch_expr: str,
               line_off: int) -> list[str]:
    pc = calls[f.pre]
    lines = [
        f"    mk_conv_params pp = mk_p{f.pre};",
        f"    int8_t *const line = {scratch_expr} + {line_off};",
        f"    const int8_t *const in = {subst_pre(pc.args[0])};",
        "    pp.batches = 1;",
        "    pp.out_h = 1;",
    ]
    if f.pre_mode == "ptr":
        q = _params(pc)
        lines += ["    pp.in_h = 1;", f"    pp.in_w = {(_int(q, 'out_w') - 1) * _int(q, 'stride_w') + 1};"]
    return lines


def _pre_rows(graph: Graph, calls: Sequence[KernelCall], f: ConvAdd, subst_pre, scratch_expr: str) -> list[str]:
    """The row loop of a chain: before output row oy, drop the line-buffer rows below its window (the rows still
    needed move down, so the buffer stays contiguous) and compute the pre conv's rows up to the window's end."""
    pc, cc = calls[f.pre], calls[f.conv]
    q, p = _params(pc), _params(cc)
    h1 = _int(p, "in_h")
    eff = (_int(p, "filter_h") - 1) * _int(p, "dilation_h") + 1
    sh, pt = _int(p, "stride_h"), _int(p, "pad_top")
    r = row_bytes(graph, f)
    ih1, iw1, ic1 = (_int(q, k) for k in ("in_h", "in_w", "in_c"))
    psh, ppt = _int(q, "stride_h"), _int(q, "pad_top")
    pre_args = "".join(subst_pre(a) + ", " for a in pc.args[1:3])
    pre_scratch = f", {scratch_expr}" if len(pc.args) == 5 else ""
    if f.pre_mode == "pad":
        pre_in = f"in + (size_t)b * {ih1 * iw1 * ic1}"
        set_row = [f"                pp.pad_top = {ppt} - hi_done * {psh};"]
    else:
        pre_in = f"in + ((size_t)b * {ih1} + (size_t)hi_done * {psh}) * {iw1 * ic1}"
        set_row = []
    lines = [
        "        int32_t lo_done = 0, hi_done = 0; /* the line buffer holds rows [lo_done, hi_done) */",
        f"        for (int32_t oy = 0; oy < {_int(p, 'out_h')}; ++oy) {{",
        f"            const int32_t start = oy * {sh} - {pt};",
        "            const int32_t lo = MK_MAX(0, start);",
        f"            const int32_t hi = MK_MIN({h1}, start + {eff});",
        "            if (lo > lo_done) {",
        "                /* rows lo.. move to the front, one row at a time: source and destination never overlap */",
        "                for (int32_t k = lo; k < hi_done; ++k) {",
        f"                    memcpy(line + (size_t)(k - lo) * {r}, line + (size_t)(k - lo_done) * {r}, {r});",
        "                }",
        "                lo_done = lo;",
        "                hi_done = MK_MAX(hi_done, lo);",
        "            }",
        "            for (; hi_done < hi; ++hi_done) {",
        *set_row,
        (f"                (void){pc.kernel}(&pp, {pre_in}, {pre_args}line + (size_t)(hi_done - lo_done) * {r}"
         f"{pre_scratch});"),
        "            }",
    ]
    if f.mode == "pad":
        lines += ["            tp.in_h = hi - lo;", "            tp.pad_top = lo - start;"]
    return lines
