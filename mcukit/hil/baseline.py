"""The baseline file for max_regression_pct: per model@board, the figures of an accepted run.

    {"schema": "mcukit.hil-baseline/1", "mcukit_version": "...", "entries": {"kws@qemu-m4": {
        "model_sha256": "...", "latency": {"unit": "instructions", "median": 1234560.0},
        "memory": {"flash_bytes": ..., "ram_bytes": ..., "arena_bytes": ...}, "updated": "..."}}}

Entries have the same shape as the results JSON (latency, memory), so checks read both the same way. Updating
merges: cases not run keep their entries.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from mcukit import __version__
from mcukit.errors import UsageError

SCHEMA = "mcukit.hil-baseline/1"


def load_baseline(path: Path) -> dict[str, dict[str, Any]]:
    """model@board -> entry; {} when the file does not exist yet."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(f"baseline {path} is not readable JSON ({err})",
                         "fix or delete it, then rerun with --update-baseline") from err
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("entries"), dict):
        raise UsageError(f"{path} is not a mcukit baseline (schema {SCHEMA})",
                         "point `baseline =` at the file `mcukit test --update-baseline` wrote")
    return data["entries"]


def entry_from_results(results: dict[str, Any]) -> dict[str, Any]:
    from mcukit.hil.checks import baseline_value

    lat = results.get("latency") or {}
    mem = results.get("memory") or {}
    median, unit = baseline_value("latency", results)  # emulated: exact instructions, not estimated cycles
    return {
        "model_sha256": (results.get("model") or {}).get("sha256"),
        "latency": {"unit": unit, "median": median, "ms": None if lat.get("estimate") else lat.get("ms")}
        if lat else {},
        "memory": {k: mem.get(k) for k in ("flash_bytes", "ram_bytes", "arena_bytes")},
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def save_baseline(path: Path, updates: dict[str, dict[str, Any]]) -> None:
    """Merge `updates` (model@board -> results dict) into the baseline file, atomically."""
    entries = load_baseline(path)
    for key, results in updates.items():
        entries[key] = entry_from_results(results)
    data = {"schema": SCHEMA, "mcukit_version": __version__, "entries": dict(sorted(entries.items()))}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
