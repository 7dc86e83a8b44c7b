"""Estimated cycles from an exact instruction mix: per-core cost of each instruction class.

QEMU executes instructions, not clock cycles: it models no pipeline, no memory wait states, no caches. What it
can say exactly is how many instructions of each class ran (mcukit.measure.icount). This module prices those
classes with per-core costs, which gives an ESTIMATE of cycles -- always reported as `estimated_cycles`, never
as `cycles`. Each cost is a (low, typical, high) triple, so the estimate comes with a range.

The costs, their sources and the limits are documented in docs/timing-model.md:
- cortex-m3, cortex-m4: the instruction timing tables of the Arm Technical Reference Manuals (zero wait states).
- cortex-m7, cortex-m55: Arm publishes no per-instruction table in their TRMs; these models are stated
  approximations (dual issue on the M7, dual-beat Helium execution on the M55).

    est = estimate_cycles(counts.spans("invoke", "invoke_end")[0], "cortex-m4")
    est.total, est.low, est.high, est.model_name
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from mcukit.errors import UsageError


@dataclass(frozen=True)
class Cost:
    """Cycles per executed instruction (or per unit of a weight): best case, the value used, worst case."""

    low: float
    typical: float
    high: float

    @classmethod
    def fixed(cls, cycles: float) -> Cost:
        return cls(cycles, cycles, cycles)


@dataclass(frozen=True)
class TimingModel:
    name: str
    core: str
    per_class: Mapping[str, Cost]
    per_weight: Mapping[str, Cost]
    basis: str  # "trm-table" (costs read from an Arm TRM table) or "approximation" (documented assumptions)
    source: str


@dataclass(frozen=True)
class EstimatedCycles:
    """An estimate, not a measurement: `total` uses typical costs, `low`/`high` the best/worst per class."""

    total: float
    low: float
    high: float
    per_class: Mapping[str, float]  # typical cycles per class; weights are added to the class they belong to
    model_name: str
    unpriced: tuple[str, ...] = ()  # classes the model has no cost for (priced at 1 cycle)
    kind: str = "estimated_cycles"


@runtime_checkable
class _HasCounts(Protocol):
    per_class: Mapping[str, int]
    weights: Mapping[str, int]


# Which class a weight's cycles are reported under.
_WEIGHT_CLASS = {"ldm_regs": "ldm", "stm_regs": "stm", "fpu_ldm_words": "fpu_ldm", "fpu_stm_words": "fpu_stm",
                 "irq_entries": "irq_entry"}

_ONE = Cost.fixed(1)
_P = Cost(1, 2, 3)  # pipeline refill after a taken branch, M3/M4 TRM: "ranges from 1 to 3"; typical = middle


def _plus(a: Cost, b: Cost) -> Cost:
    return Cost(a.low + b.low, a.typical + b.typical, a.high + b.high)


def _m4_like(*, mac: Cost, mull: Cost, mlal: Cost) -> dict[str, Cost]:
    return {
        "alu": _ONE,
        "it": Cost(0, 1, 1),  # IT may be folded into the preceding instruction
        "system": Cost(1, 1, 4),  # barriers are 1+B
        "load": Cost(2, 2, 2),
        "load_pipelined": Cost(1, 1, 2),  # a load right after a load, not depending on it: one cycle removed
        "store": Cost(1, 1, 2),  # "STR Rx,[Ry,#imm] is always one cycle" (data phase overlaps the next instr.)
        "ldm": _ONE,  # 1+N: the N comes from the ldm_regs weight
        "ldm_pc": _plus(_ONE, _P),  # 1+N+P
        "stm": _ONE,
        "mul": _ONE,
        "mac": mac,
        "mull": mull,
        "mlal": mlal,
        "dsp_mac": _ONE,
        "dsp_simd": _ONE,
        "div": Cost(2, 7, 12),  # 2-12 depending on the operands
        "branch": _plus(_ONE, _P),
        "branch_back": Cost(1, 3, 4),  # assumed taken (1+P); low = not taken
        "branch_fwd": Cost(1, 1, 4),  # assumed not taken (1); high = taken with P=3
        "table_branch": Cost(3, 4, 5),  # 2+P
        # FPU (Cortex-M4 TRM, FPU instruction set table; the M3 has no FPU and faults on these)
        "fpu": _ONE,
        "fpu_mac": Cost.fixed(3),
        "fpu_div": Cost.fixed(14),
        "fpu_load": Cost.fixed(2),
        "fpu_store": Cost.fixed(2),
        "fpu_ldm": _ONE,
        "fpu_stm": _ONE,
        # Helium and low-overhead loops do not exist on these cores (they would fault): 1 as a placeholder
        "mve_load": _ONE, "mve_store": _ONE, "mve_mac": _ONE, "mve_alu": _ONE, "loop_setup": _ONE, "loop_end": _ONE,
    }


_M_WEIGHTS = {"ldm_regs": _ONE, "stm_regs": _ONE, "fpu_ldm_words": _ONE, "fpu_stm_words": _ONE,
              "irq_entries": Cost.fixed(12)}  # exception entry latency with zero wait states

_M4 = _m4_like(mac=_ONE, mull=_ONE, mlal=_ONE)
_M3 = _m4_like(mac=Cost.fixed(2), mull=Cost(3, 4, 5), mlal=Cost(4, 5.5, 7))

# Cortex-M7: dual-issue, 6-stage, branch prediction. No Arm per-instruction table exists; see docs/timing-model.md.
_M7 = {
    **_M4,
    "alu": Cost(0.5, 0.5, 1), "it": Cost(0, 0.5, 1), "system": Cost(1, 1, 4),
    "load": Cost(0.5, 1, 2), "load_pipelined": Cost(0.5, 1, 2), "store": Cost(0.5, 1, 1),
    "ldm": _ONE, "ldm_pc": Cost(1, 2, 8), "stm": _ONE,
    "mul": Cost(0.5, 1, 1), "mac": Cost(0.5, 1, 1), "mull": Cost(0.5, 1, 1), "mlal": Cost(0.5, 1, 1),
    "dsp_mac": Cost(0.5, 1, 1), "dsp_simd": Cost(0.5, 1, 1),
    "branch": Cost(0.5, 1, 8), "branch_back": Cost(0.5, 1, 8), "branch_fwd": Cost(0.5, 0.5, 8),
    "table_branch": Cost(2, 4, 8),
    "fpu": Cost(0.5, 1, 1), "fpu_mac": Cost(1, 1, 3), "fpu_load": Cost(0.5, 1, 2), "fpu_store": Cost(0.5, 1, 1),
}
_M7_WEIGHTS = {**_M_WEIGHTS, "ldm_regs": Cost(0.5, 0.5, 1), "stm_regs": Cost(0.5, 0.5, 1),
               "fpu_ldm_words": Cost(0.5, 0.5, 1), "fpu_stm_words": Cost(0.5, 0.5, 1)}

# Cortex-M55: scalar side priced like the M4; Helium executes two beats (64 bits) per cycle, so a 128-bit
# vector instruction occupies 2 cycles; loads/stores overlap with the neighbouring vector instruction.
_M55 = {
    **_M4,
    "mve_load": Cost(1, 1, 2), "mve_store": Cost(1, 1, 2), "mve_mac": Cost(2, 2, 4), "mve_alu": Cost(1, 2, 2),
    "loop_setup": Cost(1, 1, 4), "loop_end": Cost(0, 0, 4),  # LE/LETP: no cost after the first iteration
}

MODELS: Mapping[str, TimingModel] = MappingProxyType({
    m.core: m
    for m in (
        TimingModel("cortex-m3/trm-r2p1", "cortex-m3", MappingProxyType(_M3), MappingProxyType(_M_WEIGHTS),
                    "trm-table", "Arm Cortex-M3 TRM r2p1 (DDI 0337I), Cortex-M3 instruction set summary table "
                    "and load/store timings"),
        TimingModel("cortex-m4/trm-r0p1", "cortex-m4", MappingProxyType(_M4), MappingProxyType(_M_WEIGHTS),
                    "trm-table", "Arm Cortex-M4 TRM r0p1 (DDI 0439B), processor instruction set summary table, "
                    "load/store timings, FPU instruction set table"),
        TimingModel("cortex-m7/approx-dual-issue", "cortex-m7", MappingProxyType(_M7),
                    MappingProxyType(_M7_WEIGHTS), "approximation",
                    "no Arm per-instruction table; dual-issue approximation, see docs/timing-model.md"),
        TimingModel("cortex-m55/approx-dual-beat", "cortex-m55", MappingProxyType(_M55),
                    MappingProxyType(_M_WEIGHTS), "approximation",
                    "scalar costs of the M4 table; Helium dual-beat approximation, see docs/timing-model.md"),
    )
})


def get_model(core: str | TimingModel) -> TimingModel:
    if isinstance(core, TimingModel):
        return core
    try:
        return MODELS[core]
    except KeyError:
        raise UsageError(f"no timing model for core {core!r}",
                         f"models exist for: {', '.join(sorted(MODELS))}; instruction counts work on any core",
                         ) from None


def estimate_cycles(counts_by_class: Mapping[str, int] | _HasCounts, core: str | TimingModel) -> EstimatedCycles:
    """Estimated cycles for an instruction mix on `core` ("cortex-m4", a Board's `.core`, or a TimingModel).

    `counts_by_class` is a Counts/Span/InstructionCounts (classes and weights), or a plain mapping of class
    and weight names to counts."""
    model = get_model(core)
    if isinstance(counts_by_class, _HasCounts):
        items = {**counts_by_class.per_class, **counts_by_class.weights}
    else:
        items = dict(counts_by_class)
    per_class: dict[str, float] = {}
    low = high = 0.0
    unpriced: list[str] = []
    for name, n in items.items():
        if not n:
            continue
        if name in model.per_weight:
            cost = model.per_weight[name]
            key = _WEIGHT_CLASS.get(name, name)
        elif name in model.per_class:
            cost, key = model.per_class[name], name
        else:
            cost, key = _ONE, name
            unpriced.append(name)
        per_class[key] = per_class.get(key, 0.0) + n * cost.typical
        low += n * cost.low
        high += n * cost.high
    return EstimatedCycles(total=sum(per_class.values()), low=low, high=high, per_class=per_class,
                           model_name=model.name, unpriced=tuple(unpriced))
