"""Measurement: exact instruction counts under QEMU (icount) and estimated cycles from them (timing_model).

Every figure says what it is: `instructions` are counted exactly; `estimated_cycles` come from a per-core cost
model and are never cycles. See docs/timing-model.md.
"""

from mcukit.measure.icount import (
    DEFAULT_MARKERS,
    Counts,
    InstructionCounts,
    Marker,
    Span,
    count_instructions,
)
from mcukit.measure.plugin import build_plugin
from mcukit.measure.timing_model import MODELS, Cost, EstimatedCycles, TimingModel, estimate_cycles, get_model

__all__ = [
    "DEFAULT_MARKERS",
    "MODELS",
    "Cost",
    "Counts",
    "EstimatedCycles",
    "InstructionCounts",
    "Marker",
    "Span",
    "TimingModel",
    "build_plugin",
    "count_instructions",
    "estimate_cycles",
    "get_model",
]
