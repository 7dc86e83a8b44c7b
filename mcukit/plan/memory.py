"""Static memory plan: every activation tensor and scratch buffer gets a fixed offset in one arena.

Steps are op indices. A tensor lives from the op that produces it (graph inputs: from the start) to the last op
that reads it (graph outputs: past the end). Constant tensors live in flash and never take arena space.

Buffers, not tensors, are placed: a buffer is a group of tensors that share memory.
  - `alias=True` calls (RESHAPE) put the output in the input's buffer; the buffer lives as long as any member.
  - `inplace_inputs` lets the output join the buffer of an input that dies at that op, when it fits.
  - an op's scratch is a buffer of its own that lives only during that op.
Placement is greedy in order of decreasing size, each buffer taking the lowest 16-byte aligned offset that does
not overlap any already placed buffer whose lifetime overlaps its own (the same idea as TFLite Micro's greedy
planner). The arena is exactly the highest end offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mcukit.codegen.kernel_call import KernelCall
from mcukit.ir.graph import Graph

ALIGN = 16


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    offsets: dict[int, int] = field(repr=False)  # arena tensor index -> byte offset
    scratch: dict[int, tuple[int, int]] = field(repr=False)  # op index -> (offset, size)
    naive_bytes: int = 0  # every arena tensor and scratch in its own aligned slot, nothing shared


@dataclass
class _Buffer:
    members: list[int]  # tensor indices; empty for scratch
    size: int
    first: int
    last: int
    op: int = -1  # the op whose scratch this is


def lifetimes(graph: Graph) -> dict[int, tuple[int, int]]:
    """(first, last) step of every arena tensor. Graph inputs start at -1, graph outputs end at len(ops)."""
    n = len(graph.ops)
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def arena(t: int) -> bool:
        return t >= 0 and not graph.tensors[t].is_constant

    for t in graph.inputs:
        if arena(t):
            first[t] = -1
            last[t] = -1
    for op in graph.ops:
        for t in op.inputs:
            if arena(t):
                first.setdefault(t, op.index)
                last[t] = max(last.get(t, op.index), op.index)
        for t in op.outputs:
            if arena(t):
                first.setdefault(t, op.index)
                last[t] = max(last.get(t, op.index), op.index)
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


def plan_memory(graph: Graph, calls: Sequence[KernelCall]) -> MemoryPlan:
    """Place every arena tensor and scratch buffer. `calls[i]` is the lowering of `graph.ops[i]`."""
    if len(calls) != len(graph.ops):
        raise ValueError(f"{len(calls)} calls for {len(graph.ops)} ops")
    life = lifetimes(graph)
    nbytes = {t: graph.tensors[t].nbytes for t in life}

    # Union-find over tensors: parent links point towards the buffer's representative.
    parent = {t: t for t in life}

    def find(t: int) -> int:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    span = {t: [life[t][0], life[t][1], nbytes[t]] for t in life}  # per representative: first, last, size

    def union(keep: int, other: int) -> None:
        a, b = find(keep), find(other)
        if a == b:
            return
        parent[b] = a
        sa, sb = span[a], span[b]
        span[a] = [min(sa[0], sb[0]), max(sa[1], sb[1]), max(sa[2], sb[2])]
        del span[b]

    for src, dst in alias_pairs(graph, calls):
        if src in life and dst in life:
            union(src, dst)

    for op, call in zip(graph.ops, calls):
        if call.alias or not call.inplace_inputs or not op.outputs or op.outputs[0] not in life:
            continue
        out = op.outputs[0]
        for pos in call.inplace_inputs:
            if pos >= len(op.inputs) or op.inputs[pos] not in life:
                continue
            cand = find(op.inputs[pos])
            if cand == find(out) or span[cand][1] != op.index or span[cand][2] < span[find(out)][2]:
                continue
            # Every read of this buffer by the op must be at a position the kernel allows to be overwritten.
            readers = [p for p, t in enumerate(op.inputs) if t in life and find(t) == cand]
            if any(p not in call.inplace_inputs for p in readers):
                continue
            union(cand, out)
            break

    buffers: list[_Buffer] = []
    members: dict[int, list[int]] = {}
    for t in sorted(life):
        members.setdefault(find(t), []).append(t)
    for rep, ts in members.items():
        f, last, size = span[rep]
        buffers.append(_Buffer(members=ts, size=size, first=f, last=last))
    for op, call in zip(graph.ops, calls):
        if call.scratch_bytes > 0 and not call.alias:
            buffers.append(_Buffer(members=[], size=call.scratch_bytes, first=op.index, last=op.index, op=op.index))

    offsets_of = _place(buffers)
    offsets: dict[int, int] = {}
    scratch: dict[int, tuple[int, int]] = {}
    arena = 0
    for buf, off in zip(buffers, offsets_of):
        arena = max(arena, off + buf.size)
        if buf.op >= 0:
            scratch[buf.op] = (off, buf.size)
        for t in buf.members:
            offsets[t] = off
    naive = sum(_align(nbytes[t]) for t in life) + sum(_align(c.scratch_bytes) for c in calls if not c.alias)
    return MemoryPlan(arena_bytes=arena, offsets=dict(sorted(offsets.items())), scratch=dict(sorted(scratch.items())),
                      naive_bytes=naive)


def plan_naive(graph: Graph, calls: Sequence[KernelCall]) -> MemoryPlan:
    """Every arena tensor and scratch buffer in its own slot; only alias outputs share their input's memory.

    For debugging: after an invoke every intermediate tensor is still in the arena, and a result that differs
    between this plan and `plan_memory` points at a kernel that reads or writes outside its buffers.
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
    return MemoryPlan(arena_bytes=cur, offsets=offsets, scratch=scratch, naive_bytes=cur)


def _place(buffers: list[_Buffer]) -> list[int]:
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, buffers[i].first, i))
    offsets = [0] * len(buffers)
    placed: list[int] = []
    for i in order:
        b = buffers[i]
        busy = sorted(
            (offsets[j], offsets[j] + buffers[j].size)
            for j in placed
            if buffers[j].size > 0 and buffers[j].first <= b.last and b.first <= buffers[j].last
        )
        off = 0
        for lo, hi in busy:
            if off + b.size <= lo:
                break
            off = max(off, _align(hi))
        offsets[i] = off
        placed.append(i)
    return offsets


class PlanError(AssertionError):
    """check_plan found two live buffers sharing memory, or a buffer outside the arena."""


def check_plan(graph: Graph, calls: Sequence[KernelCall], plan: MemoryPlan) -> None:
    """Verify the plan independently of how it was made; raises PlanError on the first violation.

    Two buffers may overlap while both are live only if they are the same memory by construction: an alias pair
    (same alias root), or an op's output written over an input that dies at that op at a position the kernel
    declared in-place.
    """
    life = lifetimes(graph)
    roots = alias_roots(graph, calls)
    for t in life:
        if t not in plan.offsets:
            raise PlanError(f"tensor {t} has no offset")
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
            items.append((f"scratch of op {i}", -1, off, size, i, i))
    for label, _, off, size, _, _ in items:
        if off % ALIGN:
            raise PlanError(f"{label} at offset {off} is not {ALIGN}-byte aligned")
        if off < 0 or off + size > plan.arena_bytes:
            raise PlanError(f"{label} [{off}, {off + size}) is outside the arena of {plan.arena_bytes} bytes")

    def inplace_ok(a: int, b: int, step: int) -> bool:
        # b is produced at `step` over a, which dies there and is read only at in-place positions.
        if step < 0 or step >= len(graph.ops):
            return False
        op, call = graph.ops[step], calls[step]
        if not op.outputs or op.outputs[0] != b or life[b][0] != step or life[a][1] != step:
            return False
        inplace_roots = {roots[op.inputs[p]] for p in call.inplace_inputs if p < len(op.inputs) and op.inputs[p] >= 0}
        if roots[a] not in inplace_roots:
            return False
        return all(p in call.inplace_inputs for p, t in enumerate(op.inputs) if t == a)

    n = len(graph.ops)
    for step in range(-1, n + 1):
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
