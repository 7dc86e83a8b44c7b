"""Per-layer CSV of a bench results document: one row per layer, in layer order.

Columns carry their unit in the row (`unit`: cycles | estimated_cycles | ticks; `estimate`: true for estimates),
so a spreadsheet never mistakes an estimate for a measurement. Energy is per inference, not per layer, so it is
not in this file.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

COLUMNS = ("index", "op", "name", "macs", "cost", "unit", "estimate", "share", "macs_per_cycle", "instructions",
           "estimated_cycles", "estimated_low", "estimated_high", "ticks")


def layer_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for layer in sorted(r.get("layers") or [], key=lambda x: x["index"]):
        row = {c: layer.get(c) for c in COLUMNS}
        row["estimate"] = "true" if layer.get("estimate") else "false"
        rows.append(row)
    return rows


def write_layers_csv(r: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in layer_rows(r):
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path
