"""The results JSON: one document per run, rewritten after every stage so a failure never loses what was measured.

Every figure says what it is: latency has a `unit` (`instructions`, `cycles`, `ticks`, `estimated_cycles`), energy a
`source` (`measured` | `modeled`).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

SCHEMA = "mcukit.results/1"


class ResultsFile:
    """A results document that is saved atomically on every update (no half-written JSON after a crash)."""

    def __init__(self, path: str | Path | None, **initial: Any) -> None:
        self.path = Path(path) if path else None
        self.data: dict[str, Any] = {"schema": SCHEMA, "status": "running", **initial}
        self.save()

    def update(self, **sections: Any) -> None:
        self.data.update(sections)
        self.save()

    def fail(self, stage: str, message: str, hint: str | None = None) -> None:
        self.update(status="failed", error={"stage": stage, "message": message, "hint": hint})

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".results-", dir=self.path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(self.data, f, indent=2, default=_jsonable)
            f.write("\n")
        os.replace(tmp, self.path)


def start_results(path: str | Path | None, board: Any, **extra: Any) -> ResultsFile:
    """The document every board run (deploy, bench) starts with: versions, time and the board it ran on."""
    from mcukit import __version__

    return ResultsFile(
        path,
        **extra,
        mcukit_version=__version__,
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        board={"name": board.name, "core": board.core, "clock_hz": board.clock_hz,
               "emulated": board.emulator is not None, "verified": board.verified},
        stages={},
    )


def model_section(model_path: str | Path, model: Any, stats: Any, **extra: Any) -> dict[str, Any]:
    """The `model` block: identity and size of the int8 model that ran (`stats` from ir.counts.model_stats)."""
    return {"path": str(model_path), "name": model.name, "sha256": model.graph.sha256, "macs": stats.macs,
            "params": stats.params, "weight_bytes": stats.weight_bytes, "ops": len(model.graph.ops), **extra}


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
