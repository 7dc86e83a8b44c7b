"""Static memory plan: every activation tensor and scratch buffer gets a fixed offset in one arena.

Steps are positions in the execution order (`MemoryPlan.order`, a topological order of the ops; by default the
planner picks it, see mcukit.plan.order). A tensor lives from the step that produces it (graph inputs: from the
start, -1) to the last step that reads it (graph outputs: past the end). Constant tensors live in flash and never
take arena space.

Buffers, not tensors, are placed: a buffer is a group of tensors at fixed offsets relative to each other.
  - `alias=True` calls (RESHAPE) put the output at the input's offset; the buffer lives as long as any member.
  - `inplace_inputs` (elementwise ops: ADD, MUL, LUT activations, ...) let the output take the offset of an input
    whose buffer dies at that op, when it is no larger.
  - window ops whose kernel writes output pixels in raster order (depthwise conv, pooling; mcukit.plan.inplace)
    put the output G bytes before an input that dies there, G from the op's geometry: the buffer grows by G
    instead of by a whole tensor.
  - an op's scratch is a buffer of its own that lives only during that op.
Placement is greedy: buffers are taken one by one in some priority order and each gets the lowest 16-byte aligned
offset that does not overlap an already placed buffer whose lifetime overlaps its own (TFLite Micro's greedy
planner does the same with one priority: size). plan_memory tries every candidate order x window in place or not x
several priorities (size, lifetime length, first use, size x lifetime, last use first; each also with scratch
buffers placed last, and each with a window op's output placed right before its input) and keeps the smallest arena; ties keep the
earlier candidate, so the result is deterministic. The arena is exactly the highest end offset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mcukit.codegen.kernel_call import KernelCall
from mcukit.ir.graph import Graph
from mcukit.plan.inplace import window_gap
from mcukit.plan.order import candidate_orders, is_topological

ALIGN = 16


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    offsets: dict[int, int] = field(repr=False)  # arena tensor index -> byte offset
    scratch: dict[int, tuple[int, int]] = field(repr=False)  # op index -> (offset, size)
    naive_bytes: int = 0  # every arena tensor and scratch in its own aligned slot, nothing shared
    order: tuple[int, ...] = ()  # op indices in execution order; () means the graph's order
    strategy: str = ""  # the candidate that won, e.g. "order=greedy inplace=window place=size"

    def execution_order(self, graph: Graph) -> tuple[int, ...]:
        return self.order or tuple(op.index for op in graph.ops)


@dataclass
class _Buffer:
    members: list[tuple[int, int]]  # (tensor index, offset inside the buffer); empty for scratch
    size: int
    first: int
    last: int
    op: int = -1  # the op whose scratch this is
    # (input buffer, gap): this buffer is a window op's output and may overlap that input if it starts at least
    # `gap` bytes before it (mcukit.plan.inplace)
    over: tuple[int, int] | None = None


def _check_indices(graph: Graph) -> None:
    for i, op in enumerate(graph.ops):
        if op.index != i:
            raise ValueError(f"graph.ops[{i}] has index {op.index}: ops must be numbered by position")


def _steps(graph: Graph, order: Sequence[int] | None) -> list[int]:
    if order is None or len(order) == 0:
        return [op.index for op in graph.ops]
    if not is_topological(graph, order):
        raise ValueError(f"{tuple(order)} is not a topological order of the graph's ops")
    return list(order)


def lifetimes(graph: Graph, order: Sequence[int] | None = None) -> dict[int, tuple[int, int]]:
    """(first, last) step of every arena tensor, steps being positions in `order` (default: the graph's order).
    Graph inputs start at -1, graph outputs end at len(ops)."""
    n = len(graph.ops)
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def arena(t: int) -> bool:
        return t >= 0 and not graph.tensors[t].is_constant

    for t in graph.inputs:
        if arena(t):
            first[t] = -1
            last[t] = -1
    for step, o in enumerate(_steps(graph, order)):
        op = graph.ops[o]
        for t in list(op.inputs) + list(op.outputs):
            if arena(t):
                first.setdefault(t, step)
                last[t] = max(last.get(t, step), step)
    for t in graph.outputs:
        if arena(t):
            first.setdefault(t, -1)
            last[t] = n
    return {t: (first[t], last[t]) for t in first}


def alias_pairs(graph: Graph, calls: Sequence[KernelCall]) -> list[tuple[int, int]]:
    """(input, output) tensor pairs of alias ops, in op order."""
    pairs = []
    for op, call in zip(graph.ops, calls):
        if call.alias and op.inputs and op.outputs:
            pairs.append((op.inputs[0], op.outputs[0]))
    return pairs


def alias_roots(graph: Graph, calls: Sequence[KernelCall]) -> dict[int, int]:
    """tensor -> the tensor whose memory it reinterprets (itself when not an alias); follows chains."""
    root = {t.index: t.index for t in graph.tensors}
    for src, dst in alias_pairs(graph, calls):
        root[dst] = root[src]
    return root


# ----------------------------------------------------------------------------------------------- grouping


def _group(graph: Graph, calls: Sequence[KernelCall], order: Sequence[int], life: dict[int, tuple[int, int]],
           window: bool) -> list[_Buffer]:
    """Tensors -> buffers, walking the ops in execution order: aliases and in-place outputs join their input's
    buffer at a fixed relative offset, everything else starts a buffer of its own."""
    nbytes = {t: graph.tensors[t].nbytes for t in life}
    group_of: dict[int, int] = {}
    delta: dict[int, int] = {}
    groups: dict[int, list[int]] = {}  # group id -> member tensors
    pairs: dict[tuple[int, int], int] = {}  # (input group, output group) -> window gap

    def new_group(t: int) -> None:
        group_of[t], delta[t] = t, 0
        groups[t] = [t]

    def join(t: int, g: int, off: int) -> None:
        if off < 0:  # the newcomer starts before the buffer: move every member up
            for m in groups[g]:
                delta[m] -= off
            off = 0
        group_of[t], delta[t] = g, off
        groups[g].append(t)

    def group_last(g: int) -> int:
        return max(life[m][1] for m in groups[g])

    for t in graph.inputs:
        if t in life and t not in group_of:
            new_group(t)
    for step, o in enumerate(order):
        op, call = graph.ops[o], calls[o]
        outs = [t for t in op.outputs if t in life and t not in group_of]
        if not outs:
            continue
        out = op.outputs[0] if op.outputs and op.outputs[0] in outs else None
        if out is not None and call.alias and op.inputs and op.inputs[0] in group_of:
            src = op.inputs[0]
            join(out, group_of[src], delta[src])
        elif out is not None:
            _join_inplace(graph, op, call, step, out, window, group_of, delta, groups, nbytes, life, group_last,
                          join, pairs)
        for t in outs:
            if t not in group_of:
                new_group(t)
    for t in life:  # tensors no op touches (an input that is also an output, unused inputs)
        if t not in group_of:
            new_group(t)

    buffers = []
    index_of: dict[int, int] = {}
    for g in sorted(groups):
        ts = sorted(groups[g])
        index_of[g] = len(buffers)
        buffers.append(_Buffer(members=[(t, delta[t]) for t in ts], size=max(delta[t] + nbytes[t] for t in ts),
                               first=min(life[t][0] for t in ts), last=max(life[t][1] for t in ts)))
    for (gi, go), gap in pairs.items():
        buffers[index_of[go]].over = (index_of[gi], gap)
    for step, o in enumerate(order):
        call = calls[o]
        if call.scratch_bytes > 0 and not call.alias:
            buffers.append(_Buffer(members=[], size=call.scratch_bytes, first=step, last=step, op=o))
    return buffers


def _join_inplace(graph: Graph, op, call: KernelCall, step: int, out: int, window: bool, group_of: dict[int, int],
                  delta: dict[int, int], groups: dict[int, list[int]], nbytes: dict[int, int],
                  life: dict[int, tuple[int, int]], group_last: Callable[[int], int],
                  join: Callable[[int, int, int], None], pairs: dict[tuple[int, int], int]) -> bool:
    # Elementwise: exactly over an input of at least the output's size whose buffer dies here and that this op
    # reads only at positions the kernel allows to be overwritten.
    for pos in call.inplace_inputs:
        if pos >= len(op.inputs) or op.inputs[pos] not in group_of:
            continue
        src = op.inputs[pos]
        g = group_of[src]
        if group_last(g) != step or nbytes[src] < nbytes[out]:
            continue
        readers = [p for p, t in enumerate(op.inputs) if t in group_of and group_of[t] == g]
        if any(p not in call.inplace_inputs for p in readers):
            continue
        join(out, g, delta[src])
        return True
    if not window or not op.inputs or op.inputs[0] not in group_of:
        return False
    gap = window_gap(op, graph, call)
    if gap is None:
        return False
    src = op.inputs[0]
    g = group_of[src]
    if group_last(g) != step:
        return False
    if any(p != 0 for p, t in enumerate(op.inputs) if t in group_of and group_of[t] == g):
        return False
    # The output gets a buffer of its own; the placer may put it over the input, at least `gap` bytes before it.
    pairs[(g, out)] = gap
    return False


# ---------------------------------------------------------------------------------------------- placement


def _key_size(b: _Buffer, i: int) -> tuple:
    return (-b.size, b.first, i)


def _key_lifetime(b: _Buffer, i: int) -> tuple:
    return (-(b.last - b.first), -b.size, i)


def _key_first_use(b: _Buffer, i: int) -> tuple:
    return (b.first, -b.size, i)


def _key_area(b: _Buffer, i: int) -> tuple:
    return (-b.size * (b.last - b.first + 1), i)


PLACEMENTS: tuple[tuple[str, Callable[[_Buffer, int], tuple]], ...] = (
    ("size", _key_size), ("lifetime", _key_lifetime), ("first-use", _key_first_use), ("area", _key_area))


def _key_last_first(b: _Buffer, i: int) -> tuple:
    # Outputs before their inputs: an in-place window input can then sit just above its output.
    return (-b.first, -b.size, i)


def _key_size_late(b: _Buffer, i: int) -> tuple:
    return (-b.size, -b.first, i)


PLACEMENTS = PLACEMENTS + (("size-late", _key_size_late), ("last-first", _key_last_first))


def _scratch_last(key: Callable[[_Buffer, int], tuple]) -> Callable[[_Buffer, int], tuple]:
    # Scratch buffers live for one op: placed last they fill gaps instead of pushing tensors apart.
    return lambda b, i: (b.op >= 0, *key(b, i))


PLACEMENTS = PLACEMENTS + tuple((f"{name}+scratch-last", _scratch_last(key)) for name, key in PLACEMENTS)


def _outputs_first(buffers: list[_Buffer], order: list[int]) -> list[int]:
    """Place a window op's output just before its input: the input can then go `gap` bytes above the output,
    whereas an input placed first at the bottom leaves its output no room below it."""
    output_of = {b.over[0]: i for i, b in enumerate(buffers) if b.over is not None}
    out: list[int] = []
    seen: set[int] = set()
    for i in order:
        o = output_of.get(i)
        for k in (o, i):
            if k is not None and k not in seen:
                seen.add(k)
                out.append(k)
    return out


def _forbidden(buffers: list[_Buffer], i: int, j: int, off_j: int) -> tuple[int, int]:
    """Open interval of offsets where buffer i may not start, given buffer j (live at the same time) at off_j."""
    bi, bj = buffers[i], buffers[j]
    lo, hi = off_j - bi.size, off_j + bj.size
    if bi.over is not None and bi.over[0] == j:  # i is written over j from `gap` bytes before it
        lo = max(lo, off_j - bi.over[1])
    elif bj.over is not None and bj.over[0] == i:  # j is written over i: i must start `gap` bytes after j
        hi = min(hi, off_j + bj.over[1])
    return lo, hi


def _place(buffers: list[_Buffer], key: Callable[[_Buffer, int], tuple] = _key_size,
           outputs_first: bool = False) -> list[int]:
    order = sorted(range(len(buffers)), key=lambda i: key(buffers[i], i))
    if outputs_first:
        order = _outputs_first(buffers, order)
    offsets = [0] * len(buffers)
    placed: list[int] = []
    for i in order:
        b = buffers[i]
        busy = sorted(
            _forbidden(buffers, i, j, offsets[j])
            for j in placed
            if buffers[j].size > 0 and b.size > 0 and buffers[j].first <= b.last and b.first <= buffers[j].last
        )
        off = 0
        for lo, hi in busy:
            if off <= lo:
                break
            if off < hi:
                off = _align(hi)
        offsets[i] = off
        placed.append(i)
    return offsets


def _naive_bytes(graph: Graph, calls: Sequence[KernelCall], life: dict[int, tuple[int, int]]) -> int:
    return sum(_align(graph.tensors[t].nbytes) for t in life) + sum(_align(c.scratch_bytes) for c in calls
                                                                     if not c.alias)


def _layout(graph: Graph, buffers: list[_Buffer], offsets_of: list[int]) -> tuple[int, dict[int, int],
                                                                                  dict[int, tuple[int, int]]]:
    offsets: dict[int, int] = {}
    scratch: dict[int, tuple[int, int]] = {}
    arena = 0
    for buf, off in zip(buffers, offsets_of):
        arena = max(arena, off + buf.size)
        if buf.op >= 0:
            scratch[buf.op] = (off, buf.size)
        for t, d in buf.members:
            offsets[t] = off + d
    return arena, dict(sorted(offsets.items())), dict(sorted(scratch.items()))


def plan_memory(graph: Graph, calls: Sequence[KernelCall], *, order: Sequence[int] | None = None,
                window_inplace: bool = True, search: bool = True) -> MemoryPlan:
    """Place every arena tensor and scratch buffer. `calls[i]` is the lowering of `graph.ops[i]`.

    order: run the ops in this topological order (default: try the candidates of mcukit.plan.order).
    window_inplace: allow depthwise/pooling outputs over their input (mcukit.plan.inplace).
    search: False = the graph's order, window in place, size priority only (one candidate)."""
    if len(calls) != len(graph.ops):
        raise ValueError(f"{len(calls)} calls for {len(graph.ops)} ops")
    _check_indices(graph)
    if order is not None:
        orders = [("given", tuple(_steps(graph, order)))]
    elif search:
        orders = candidate_orders(graph, calls)
    else:
        orders = [("graph", tuple(op.index for op in graph.ops))]
    windows = (True, False) if window_inplace and search else (window_inplace,)
    placements = [(name, key, False) for name, key in PLACEMENTS]
    if window_inplace:
        placements += [(name + "+outputs-first", key, True) for name, key in PLACEMENTS]
    if not search:
        placements = placements[:1]
    best: MemoryPlan | None = None
    graph_order = tuple(op.index for op in graph.ops)
    for oname, o in orders:
        life = lifetimes(graph, o)
        naive = _naive_bytes(graph, calls, life)
        for window in windows:
            buffers = _group(graph, calls, o, life, window)
            for pname, key, first in placements:
                arena, offsets, scratch = _layout(graph, buffers, _place(buffers, key, first))
                if best is None or arena < best.arena_bytes:
                    best = MemoryPlan(arena_bytes=arena, offsets=offsets, scratch=scratch, naive_bytes=naive,
                                      order=() if o == graph_order else o,
                                      strategy=f"order={oname} inplace={'window' if window else 'elementwise'} "
                                               f"place={pname}")
    assert best is not None
    return best


def plan_naive(graph: Graph, calls: Sequence[KernelCall]) -> MemoryPlan:
    """Every arena tensor and scratch buffer in its own slot; only alias outputs share their input's memory.

    For debugging: after an invoke every intermediate tensor is still in the arena, and a result that differs
    between this plan and `plan_memory` points at a kernel that reads or writes outside its buffers (or reads an
    input after writing over it, if the difference goes away with window_inplace=False).
    """
    offsets: dict[int, int] = {}
    scratch: dict[int, tuple[int, int]] = {}
    cur = 0
    roots = alias_roots(graph, calls)
    life = lifetimes(graph)
    for t in sorted(life):
        if roots[t] == t or roots[t] not in life:
            offsets[t] = cur
            cur += _align(graph.tensors[t].nbytes)
    for t in sorted(life):
        if t not in offsets:
            offsets[t] = offsets[roots[t]]
    for i, call in enumerate(calls):
        if call.scratch_bytes > 0 and not call.alias:
            scratch[i] = (cur, call.scratch_bytes)
            cur += _align(call.scratch_bytes)
    return MemoryPlan(arena_bytes=cur, offsets=offsets, scratch=scratch, naive_bytes=cur, strategy="naive")


# ------------------------------------------------------------------------------------------- verification


class PlanError(AssertionError):
    """check_plan found two live buffers sharing memory, or a buffer outside the arena."""


def check_plan(graph: Graph, calls: Sequence[KernelCall], plan: MemoryPlan) -> None:
    """Verify the plan independently of how it was made; raises PlanError on the first violation.

    The execution order must be topological. Two buffers may overlap while both are live only if they are the
    same memory by construction: an alias pair (same alias root, same offset), an op's output written exactly
    over an input that dies at that op at a position the kernel declared in-place, or a window op's output
    starting at least window_gap bytes (mcukit.plan.inplace) before its input 0, which dies at that op.
    """
    order = plan.execution_order(graph)
    if not is_topological(graph, order):
        raise PlanError(f"execution order {order} is not a topological order of the ops")
    life = lifetimes(graph, order)
    roots = alias_roots(graph, calls)
    for t in life:
        if t not in plan.offsets:
            raise PlanError(f"tensor {t} has no offset")
    for src, dst in alias_pairs(graph, calls):
        if src in life and dst in life and plan.offsets[src] != plan.offsets[dst]:
            raise PlanError(f"alias tensor {dst} is at {plan.offsets[dst]}, its input {src} at {plan.offsets[src]}")
    step_of = {o: s for s, o in enumerate(order)}
    items: list[tuple[str, int, int, int, int, int]] = []  # (label, tensor|-1, off, size, first, last)
    for t, (f, last) in life.items():
        items.append((f"tensor {t}", t, plan.offsets[t], graph.tensors[t].nbytes, f, last))
    for i, call in enumerate(calls):
        if call.scratch_bytes > 0 and not call.alias:
            if i not in plan.scratch:
                raise PlanError(f"op {i} has no scratch buffer")
            off, size = plan.scratch[i]
            if size < call.scratch_bytes:
                raise PlanError(f"op {i} scratch is {size} bytes, needs {call.scratch_bytes}")
            items.append((f"scratch of op {i}", -1, off, size, step_of[i], step_of[i]))
    for label, _, off, size, _, _ in items:
        if off % ALIGN:
            raise PlanError(f"{label} at offset {off} is not {ALIGN}-byte aligned")
        if off < 0 or off + size > plan.arena_bytes:
            raise PlanError(f"{label} [{off}, {off + size}) is outside the arena of {plan.arena_bytes} bytes")

    def inplace_ok(a: int, b: int, step: int) -> bool:
        # b is produced at `step` over a, which dies there.
        if step < 0 or step >= len(order):
            return False
        o = order[step]
        op, call = graph.ops[o], calls[o]
        if not op.outputs or op.outputs[0] != b or life[b][0] != step or life[a][1] != step:
            return False
        read_at = [p for p, t in enumerate(op.inputs) if t >= 0 and roots[t] == roots[a]]
        if read_at and all(p in call.inplace_inputs for p in read_at) and plan.offsets[a] == plan.offsets[b] \
                and graph.tensors[b].nbytes <= graph.tensors[a].nbytes:
            return True
        gap = window_gap(op, graph, call)
        return (gap is not None and read_at == [0] and op.inputs[0] in life
                and plan.offsets[op.inputs[0]] - plan.offsets[b] >= gap)

    for step in range(-1, len(order) + 1):
        live = [it for it in items if it[4] <= step <= it[5] and it[3] > 0]
        for x in range(len(live)):
            for y in range(x + 1, len(live)):
                la, ta, oa, sa, _, _ = live[x]
                lb, tb, ob, sb, _, _ = live[y]
                if oa >= ob + sb or ob >= oa + sa:
                    continue
                if ta >= 0 and tb >= 0 and (roots[ta] == roots[tb] or inplace_ok(ta, tb, step)
                                            or inplace_ok(tb, ta, step)):
                    continue
                raise PlanError(f"{la} [{oa}, {oa + sa}) and {lb} [{ob}, {ob + sb}) overlap at step {step}")
