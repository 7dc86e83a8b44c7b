"""Self-contained HTML report of bench results, rendered from templates/report/report.html.j2.

Everything is inline (CSS, a small script to sort the table, the chart as SVG, the results JSON): the file opens
offline and loads nothing from anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcukit.report.table import (
    energy_line,
    fmt_ms,
    fmt_num,
    is_estimate,
    latency_line,
    layers_by_cost,
    macs_per_cycle_label,
    unit_label,
)

TEMPLATE = "report.html.j2"
CHART_BAR_H = 18
CHART_WIDTH = 640  # bar area; labels go left of it


def _env() -> Any:
    import jinja2

    from mcukit.paths import data_dir

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates") / "report")),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _json_for_script(r: dict[str, Any]) -> str:
    # Inside a script element "</script" would end it and "<!--" changes how it is parsed: JSON may spell every
    # "<" (and ">", "&") as a \u escape, and JSON.parse reads them back.
    text = json.dumps(r, indent=1, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def view(r: dict[str, Any]) -> dict[str, Any]:
    """The values the template shows, formatted; the template only lays them out."""
    model, board, mem = r.get("model") or {}, r.get("board") or {}, r.get("memory") or {}
    lat, ins, energy = r.get("latency") or {}, r.get("instructions") or {}, r.get("energy") or {}
    dev, run = r.get("device_counter") or {}, r.get("run") or {}
    layers = layers_by_cost(r)
    unit = layers[0]["unit"] if layers else lat.get("unit", "")
    estimate = bool(layers) and is_estimate(layers[0])
    top = max((x.get("cost") or 0.0 for x in layers), default=0.0) or 1.0

    name_line = (f"{model.get('name')} — {fmt_num(model.get('macs'))} MACs, {fmt_num(model.get('params'))} params, "
                 f"{model.get('ops')} ops")
    board_line = (f"{board.get('name')} ({board.get('core')}, {fmt_num((board.get('clock_hz') or 0) / 1e6, 0)} MHz, "
                  f"{'emulated in QEMU' if board.get('emulated') else 'real board'})")
    runs_line = (f"{run.get('completed')} of {run.get('total')}, {run.get('inputs')} distinct input(s): "
                 f"{run.get('input_source')}")
    summary = [
        ("model", name_line),
        ("board", board_line),
        ("runs", runs_line),
        ("latency", latency_line(lat)),
    ]
    if ins:
        summary.append(("instructions", f"median {fmt_num(ins.get('median'))} per inference (exact)"))
    memory = [
        ("flash", f"{fmt_num(mem.get('flash_bytes'))} bytes", f"weights {fmt_num(mem.get('weights_bytes'))} bytes"),
        ("RAM", f"{fmt_num(mem.get('ram_bytes'))} bytes", f"arena {fmt_num(mem.get('arena_bytes'))} bytes"),
    ] if mem else []

    stats_rows = []
    if lat:
        stats_rows.append({"label": unit_label(lat["unit"]), "tag": "estimate" if is_estimate(lat) else "measured",
                           "values": [fmt_num(lat.get(k)) for k in ("median", "p90", "min", "max")]})
        if lat.get("ms") is not None:
            stats_rows.append({"label": "milliseconds", "tag": "estimate" if is_estimate(lat) else "measured",
                               "values": [fmt_ms(lat.get(k)) for k in ("ms", "ms_p90", "ms_min", "ms_max")]})
    if ins:
        stats_rows.append({"label": "instructions", "tag": "exact",
                           "values": [fmt_num(ins.get(k)) for k in ("median", "p90", "min", "max")]})
    if dev and board.get("emulated"):
        stats_rows.append({"label": f"SysTick → {unit_label(dev['unit'])}", "tag": f"±{fmt_num(dev.get('resolution'))}",
                           "values": [fmt_num(dev.get(k)) for k in ("median", "p90", "min", "max")]})

    rows = []
    for i, x in enumerate(layers):
        cost = x.get("cost") or 0.0
        rows.append({
            "index": x["index"], "op": x["op"], "name": x["name"], "macs": x["macs"], "macs_text": fmt_num(x["macs"]),
            "cost": cost, "cost_text": fmt_num(cost), "share": x.get("share") or 0.0,
            "share_text": f"{(x.get('share') or 0.0):.1%}",
            "mpc": x.get("macs_per_cycle") if x["macs"] else None,
            "mpc_text": f"{x['macs_per_cycle']:.3f}" if x.get("macs_per_cycle") is not None and x["macs"] else "–",
            "instructions": x.get("instructions"), "instructions_text": fmt_num(x.get("instructions")),
            "bar_w": round(CHART_WIDTH * cost / top, 1), "bar_y": i * CHART_BAR_H,
        })
    return {
        "title": f"mcukit bench: {model.get('name')} on {board.get('name')}",
        "r": r,
        "summary": summary,
        "memory": memory,
        "stats_rows": stats_rows,
        "lat": lat,
        "lat_estimate": is_estimate(lat) if lat else False,
        "layers": rows,
        "unit_label": unit_label(unit),
        "layers_estimate": estimate,
        "mpc_label": macs_per_cycle_label(r),
        "has_instructions": bool(ins),
        "chart": {"bar_h": CHART_BAR_H, "width": CHART_WIDTH, "label_w": 260,
                  "height": max(1, len(rows)) * CHART_BAR_H + 28},
        "energy": energy,
        "energy_text": energy_line(energy),
        "overhead": r.get("layers_overhead"),
        "results_json": _json_for_script(r),
    }


def render_html(r: dict[str, Any]) -> str:
    return str(_env().get_template(TEMPLATE).render(**view(r)))


def write_html(r: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(r), encoding="utf-8")
    return path
