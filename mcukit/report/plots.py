"""PNG plots of bench results (matplotlib, Agg backend: no display needed).

One panel: per-layer cost as horizontal bars, most expensive on top, labelled with the unit (and "estimate" for
estimated cycles). A second panel, only when energy was measured and the device sent a current trace: current over
the inference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcukit.errors import DependencyError
from mcukit.report.table import is_estimate, layers_by_cost, unit_label

MAX_BARS = 40  # more layers than this: the cheapest are summed into one "other" bar


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise DependencyError("--plot needs matplotlib", "pip install matplotlib") from err
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def bar_data(r: dict[str, Any], max_bars: int = MAX_BARS) -> tuple[list[str], list[float], list[float]]:
    """(labels, costs, shares) for the chart, most expensive first."""
    layers = layers_by_cost(r)
    labels = [f"{x['index']}: {x['op']}" for x in layers]
    costs = [float(x.get("cost") or 0.0) for x in layers]
    shares = [float(x.get("share") or 0.0) for x in layers]
    if len(layers) > max_bars:
        keep = max_bars - 1
        labels = [*labels[:keep], f"{len(layers) - keep} other layers"]
        costs = [*costs[:keep], sum(costs[keep:])]
        shares = [*shares[:keep], sum(shares[keep:])]
    return labels, costs, shares


def write_plot(r: dict[str, Any], path: str | Path, *, dpi: int = 100) -> Path:
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    labels, costs, shares = bar_data(r)
    energy = r.get("energy") or {}
    trace = energy.get("trace") if energy.get("source") == "measured" else None
    panels = 2 if trace else 1
    height = max(3.0, 0.32 * len(labels) + 1.6) + (2.6 if trace else 0.0)
    fig, axes = plt.subplots(panels, 1, figsize=(9.0, height), squeeze=False,
                             gridspec_kw={"height_ratios": [max(3.0, 0.32 * len(labels)), 2.4][:panels]})
    ax = axes[0][0]
    unit = (r.get("layers") or [{}])[0].get("unit", "")
    estimate = bool(r.get("layers")) and is_estimate(r["layers"][0])
    ys = list(range(len(labels)))
    ax.barh(ys, costs, color="#4878a8" if not estimate else "#d08c3a")
    ax.set_yticks(ys, labels=labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(unit_label(unit) + (" (ESTIMATE from exact instruction counts)" if estimate else ""))
    for y, (c, s) in enumerate(zip(costs, shares)):
        ax.text(c, y, f" {s:.1%}", va="center", fontsize=7)
    ax.margins(x=0.12)
    model = (r.get("model") or {}).get("name", "model")
    board = (r.get("board") or {}).get("name", "board")
    ax.set_title(f"{model} on {board}: cost per layer", fontsize=10)
    if trace:
        tx = axes[1][0]
        tx.plot([p["t_ms"] for p in trace], [p["current_ma"] for p in trace], lw=1.0, color="#3a8a4a")
        tx.set_xlabel("time since the first sample (ms)")
        tx.set_ylabel("current (mA)")
        tx.set_title(f"current during the inferences (MEASURED: {energy.get('basis', '')})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi, format="png")
    plt.close(fig)
    return path
