"""Candidate execution orders: topological orders of the graph's ops that the planner tries.

Any topological order computes the same outputs; they differ in which tensors are alive together. For a chain
there is one order. For branches (a residual block's shortcut, an inception-style fan-out) the order decides
whether a branch's result waits in memory while the other branch runs. The candidates:

  graph    - the .tflite's own order (the converter's);
  greedy   - list scheduling: among the ops whose inputs are ready, run the one after which the fewest bytes are
             alive (ties: lowest op index);
  dfs      - from the graph outputs backwards, a post-order that computes each op's inputs just before the op
             (branch inputs in operand order), then the same with operands reversed (dfs-rev).

All are deterministic and linear-ish in the graph size; plan_memory lays out each and keeps the smallest arena.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcukit.codegen.kernel_call import KernelCall
from mcukit.ir.graph import Graph


def _arena_tensor(graph: Graph, t: int) -> bool:
    return t >= 0 and not graph.tensors[t].is_constant


def producers(graph: Graph) -> dict[int, int]:
    """tensor -> index of the op that writes it."""
    return {t: op.index for op in graph.ops for t in op.outputs if t >= 0}


def dependencies(graph: Graph) -> dict[int, set[int]]:
    """op index -> indices of the ops it must run after (producers of its inputs)."""
    prod = producers(graph)
    return {op.index: {prod[t] for t in op.inputs if t in prod and prod[t] != op.index} for op in graph.ops}


def is_topological(graph: Graph, order: Sequence[int]) -> bool:
    if sorted(order) != sorted(op.index for op in graph.ops):
        return False
    deps = dependencies(graph)
    pos = {o: i for i, o in enumerate(order)}
    return all(pos[d] < pos[o] for o in order for d in deps[o])


def _roots(graph: Graph, calls: Sequence[KernelCall]) -> dict[int, int]:
    root = {t.index: t.index for t in graph.tensors}
    for op in graph.ops:
        call = calls[op.index]
        if call.alias and op.inputs and op.outputs:
            root[op.outputs[0]] = root[op.inputs[0]]
    return root


def greedy_order(graph: Graph, calls: Sequence[KernelCall]) -> tuple[int, ...]:
    """Run next the ready op that leaves the fewest live bytes (alias outputs share their input's bytes)."""
    root = _roots(graph, calls)
    deps = dependencies(graph)
    pinned = {root[t] for t in graph.outputs if t >= 0}
    uses: dict[int, int] = {}  # alias root -> reads still to come
    for op in graph.ops:
        for t in set(op.inputs):
            if _arena_tensor(graph, t):
                uses[root[t]] = uses.get(root[t], 0) + 1
    done: set[int] = set()
    order: list[int] = []
    waiting = {o: set(d) for o, d in deps.items()}
    while len(order) < len(graph.ops):
        ready = [o for o in sorted(waiting) if o not in done and not waiting[o]]
        best, best_key = ready[0], None
        for o in ready:
            op, call = graph.ops[o], calls[o]
            grow = 0 if call.alias else sum(graph.tensors[t].nbytes for t in op.outputs if _arena_tensor(graph, t))
            grow += 0 if call.alias else call.scratch_bytes
            freed = sum(graph.tensors[r].nbytes for r in {root[t] for t in op.inputs if _arena_tensor(graph, t)}
                        if r not in pinned and uses.get(r, 0) == sum(1 for t in set(op.inputs)
                                                                     if _arena_tensor(graph, t) and root[t] == r))
            key = (grow - freed, o)
            if best_key is None or key < best_key:
                best, best_key = o, key
        order.append(best)
        done.add(best)
        for t in set(graph.ops[best].inputs):
            if _arena_tensor(graph, t):
                uses[root[t]] -= 1
        for pending in waiting.values():
            pending.discard(best)
    return tuple(order)


def dfs_order(graph: Graph, reverse_operands: bool = False) -> tuple[int, ...]:
    """Post-order from the outputs: each op right after the ops that produce its inputs. Ops that feed no output
    come last, in graph order."""
    prod = producers(graph)
    seen: set[int] = set()
    order: list[int] = []

    def visit(start: int) -> None:
        # Iterative post-order (deep graphs must not hit Python's recursion limit).
        stack: list[tuple[int, bool]] = [(start, False)]
        while stack:
            o, expanded = stack.pop()
            if expanded:
                if o not in seen:
                    seen.add(o)
                    order.append(o)
                continue
            if o in seen:
                continue
            stack.append((o, True))
            ins = [prod[t] for t in graph.ops[o].inputs if t in prod and prod[t] != o]
            if not reverse_operands:
                ins.reverse()  # the stack pops the last pushed first: operand 0 is computed first
            for d in ins:
                if d not in seen:
                    stack.append((d, False))

    for t in graph.outputs:
        if t in prod:
            visit(prod[t])
    for op in graph.ops:
        visit(op.index)
    return tuple(order)


def candidate_orders(graph: Graph, calls: Sequence[KernelCall]) -> list[tuple[str, tuple[int, ...]]]:
    """Distinct topological orders to try, the graph's own first (it wins ties)."""
    out: list[tuple[str, tuple[int, ...]]] = []
    for name, order in (("graph", tuple(op.index for op in graph.ops)), ("greedy", greedy_order(graph, calls)),
                        ("dfs", dfs_order(graph)), ("dfs-rev", dfs_order(graph, reverse_operands=True))):
        if order not in [o for _, o in out] and is_topological(graph, order):
            out.append((name, order))
    return out
