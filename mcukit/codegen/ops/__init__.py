"""Per-op lowerings: IR op -> KernelCall. One module per op family; each registers its kinds here.

A lowering module defines `KINDS` (tuple of IR op kinds it handles) and
`lower(op, graph, options) -> KernelCall`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache

from mcukit.codegen.kernel_call import KernelCall, LowerOptions
from mcukit.ir.graph import Graph, Op

# Modules under mcukit.codegen.ops. Add a module name here when you add a lowering.
MODULES: tuple[str, ...] = ("conv", "depthwise", "fully_connected", "pool", "mean", "pad", "concatenation", "reshape", "binary", "softmax", "activations", "quantize")

Lowering = Callable[[Op, Graph, LowerOptions], KernelCall]


@cache
def registry() -> dict[str, Lowering]:
    table: dict[str, Lowering] = {}
    for name in MODULES:
        mod = importlib.import_module(f"mcukit.codegen.ops.{name}")
        for kind in mod.KINDS:
            table[kind] = mod.lower
    return table


def supported_kinds() -> frozenset[str]:
    return frozenset(registry())
