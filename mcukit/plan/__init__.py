"""Memory planning: tensor lifetimes -> arena offsets (aliases and in-place where safe)."""

from mcukit.plan.memory import (
    ALIGN,
    MemoryPlan,
    PlanError,
    alias_roots,
    check_plan,
    lifetimes,
    plan_memory,
    plan_naive,
)

__all__ = ["ALIGN", "MemoryPlan", "PlanError", "alias_roots", "check_plan", "lifetimes", "plan_memory", "plan_naive"]
