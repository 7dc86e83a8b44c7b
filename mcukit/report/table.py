"""Terminal tables for bench results (rich), and the wording every renderer shares.

The labels say what each figure is: exact instructions, estimated cycles (an estimate), measured cycles, and the
energy's source (modeled | measured) -- the same words in the table, the CSV, the plot and the HTML report.
"""

from __future__ import annotations

import sys
from typing import IO, Any

UNIT_LABELS = {
    "cycles": "cycles",
    "ticks": "counter ticks",
    "instructions": "instructions",
    "estimated_cycles": "estimated cycles",
}


def unit_label(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


def is_estimate(block: dict[str, Any]) -> bool:
    return bool(block.get("estimate")) or block.get("unit") == "estimated_cycles"


def layers_by_cost(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-layer rows, most expensive first (ties by index)."""
    return sorted(r.get("layers") or [], key=lambda x: (-(x.get("cost") or 0.0), x["index"]))


def fmt_num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} ms"


def macs_per_cycle_label(r: dict[str, Any]) -> str:
    unit = (r.get("latency") or {}).get("unit")
    if unit == "estimated_cycles":
        return "MACs/cycle (est.)"
    if unit == "ticks":
        return "MACs/cycle (from ticks)"
    return "MACs/cycle"


def latency_line(lat: dict[str, Any]) -> str:
    """'median 17,465,825 estimated cycles (ESTIMATE, cortex-m4/trm-r0p1) = 272.9 ms at 64 MHz'."""
    if not lat:
        return "-"
    text = f"median {fmt_num(lat['median'])} {unit_label(lat['unit'])}"
    if is_estimate(lat):
        text += f" (estimate, timing model {lat.get('timing_model', '?')})"
    if lat.get("ms") is not None and lat.get("clock_hz"):
        text += f" = {lat['ms']:.3f} ms at {lat['clock_hz'] / 1e6:g} MHz"
    return text


def energy_line(e: dict[str, Any]) -> str:
    if not e:
        return "-"
    return (f"{e['uj_per_inference']:,.2f} uJ per inference, {e['mean_current_ma']:.3f} mA mean "
            f"[{e['source'].upper()}]")


def print_bench(r: dict[str, Any], file: IO[str] | None = None, *, max_layers: int | None = None) -> None:
    """Summary, latency statistics, per-layer table (sorted by cost) and energy of a bench results document."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stdout, width=max(120, Console(file=file or sys.stdout).width))
    model, board, mem = r.get("model") or {}, r.get("board") or {}, r.get("memory") or {}
    lat, ins, energy = r.get("latency") or {}, r.get("instructions") or {}, r.get("energy") or {}

    where = f"{board.get('name')} ({'emulated' if board.get('emulated') else 'real board'}, {board.get('core')})"
    t = Table(title=f"bench: {model.get('name')} on {where}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    t.add_row("model", f"{fmt_num(model.get('macs'))} MACs, {fmt_num(model.get('params'))} params, "
                       f"{model.get('ops')} ops")
    if mem:
        t.add_row("flash", f"{fmt_num(mem.get('flash_bytes'))} bytes (weights {fmt_num(mem.get('weights_bytes'))})")
        t.add_row("RAM", f"{fmt_num(mem.get('ram_bytes'))} bytes (arena {fmt_num(mem.get('arena_bytes'))})")
    run = r.get("run") or {}
    t.add_row("runs", f"{run.get('completed')} of {run.get('total')}, {run.get('inputs')} distinct input(s): "
                      f"{run.get('input_source')}")
    t.add_row("latency", latency_line(lat))
    if ins:
        t.add_row("instructions", f"median {fmt_num(ins['median'])} (exact, counted by the QEMU plugin)")
    t.add_row("energy", energy_line(energy))
    if energy:
        t.add_row("energy basis", energy.get("basis", ""))
    console.print(t)

    s = Table(title="latency over runs", title_justify="left")
    s.add_column("figure")
    for col in ("median", "p90", "min", "max"):
        s.add_column(col, justify="right")
    if lat:
        label = unit_label(lat["unit"]) + (" (estimate)" if is_estimate(lat) else "")
        s.add_row(label, *(fmt_num(lat[k]) for k in ("median", "p90", "min", "max")))
        if lat.get("ms") is not None:
            ms_label = "ms" + (" (estimated)" if is_estimate(lat) else "")
            s.add_row(ms_label, *(fmt_ms(lat.get(k)) for k in ("ms", "ms_p90", "ms_min", "ms_max")))
        if is_estimate(lat) and "low" in lat:
            s.add_row("estimate range (median run)", f"{fmt_num(lat['low'])} .. {fmt_num(lat['high'])}", "", "", "")
    if ins:
        s.add_row("instructions (exact)", *(fmt_num(ins[k]) for k in ("median", "p90", "min", "max")))
    dev = r.get("device_counter") or {}
    if dev and board.get("emulated"):
        s.add_row(f"SysTick -> {unit_label(dev['unit'])}", *(fmt_num(dev[k]) for k in ("median", "p90", "min", "max")))
    console.print(s)

    layers = layers_by_cost(r)
    if layers:
        unit = layers[0]["unit"]
        lt = Table(title=f"per layer, by cost ({unit_label(unit)}{', an estimate' if is_estimate(layers[0]) else ''})",
                   title_justify="left")
        for col, just in (("#", "right"), ("op", "left"), ("name", "left"), ("MACs", "right"),
                          (unit_label(unit), "right"), ("share", "right"), (macs_per_cycle_label(r), "right")):
            lt.add_column(col, justify=just)  # type: ignore[arg-type]
        if ins:
            lt.add_column("instructions", justify="right")
        for layer in layers[:max_layers] if max_layers else layers:
            row = [str(layer["index"]), layer["op"], layer["name"], fmt_num(layer["macs"]), fmt_num(layer["cost"]),
                   f"{layer['share']:.1%}",
                   "-" if layer.get("macs_per_cycle") is None or not layer["macs"] else f"{layer['macs_per_cycle']:.3f}"]
            if ins:
                row.append(fmt_num(layer.get("instructions")))
            lt.add_row(*row)
        console.print(lt)
