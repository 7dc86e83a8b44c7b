"""Turn per-sample counter readings into a latency summary that says what it counts."""

from __future__ import annotations

import numpy as np

from mcukit.boards import Board


def latency_summary(ticks: list[int], counter_hz: int, counter_unit: str, board: Board, icount: bool) -> dict:
    """Median/p90/min/max in the most honest unit available.

    Emulated boards run with -icount shift=0 (one instruction per virtual ns), so their SysTick reading converts
    exactly into executed instructions, to the counter's resolution. Real boards report DWT cycles (or SysTick
    ticks at the core clock on M0+), which convert to milliseconds at the board clock.

    This is deploy's `latency` on real boards, and `device_counter` on emulated ones (whose `latency` is priced
    from the QEMU plugin's exact counts once the run completes: mcukit.measure.bench.emulated_timing)."""
    if not ticks:
        return {}
    arr = np.asarray(ticks, dtype=np.float64)
    if board.emulator is not None and icount and counter_hz:
        per_tick = 1e9 / counter_hz
        values, unit = arr * per_tick, "instructions"
        extra = {"resolution": per_tick, "source": "QEMU -icount shift=0 virtual time via SysTick (exact to the "
                 "resolution); cycles are not modelled by QEMU"}
        ms = None
    else:
        unit = "cycles" if counter_unit == "cycles" else "ticks"
        values = arr
        extra = {"source": f"on-board {counter_unit} counter at {counter_hz} Hz"}
        ms = float(np.median(arr) / counter_hz * 1e3) if counter_hz else None
        if board.emulator is not None:
            extra["source"] += " (emulated board without -icount: follows host time, noisy)"
    return {
        "unit": unit,
        "estimate": False,
        "median": float(np.median(values)),
        "p90": float(np.percentile(values, 90)),
        "min": float(values.min()),
        "max": float(values.max()),
        "samples": len(ticks),
        "ms": ms,
        **extra,
    }
