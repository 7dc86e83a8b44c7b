"""`mcukit deploy MODEL --board B`: the whole pipeline, ending in a bit-exact check against the reference."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mcukit.cli.options import board_option, port_option, progress_display, reference_option


@click.command("deploy")
@click.argument("model", type=click.Path(path_type=Path))
@board_option
@reference_option
@click.option("--test-data", "test_data", multiple=True, type=click.Path(path_type=Path),
              help="Inputs to run (.npz with x [and y labels], or .npy); once per model input. "
                   "Default: seeded random int8 inputs.")
@click.option("-n", "--samples", type=int, default=None,
              help="Run at most N samples (default: all test data, or 16 random inputs).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for random inputs.")
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="Calibration data when MODEL is a Keras file (see `mcukit quantize`). "
                   "Default: the --test-data file (random inputs without it).")
@port_option
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Write the results JSON here (written after every stage, kept on failure); '-' prints it.")
@click.option("--timeout", "invoke_timeout", type=float, default=20.0, show_default=True,
              help="Seconds an inference may take before the board counts as hung.")
@click.option("--quiet", is_flag=True, help="No progress display.")
def deploy(model: Path, board: str, reference: str, test_data: tuple[Path, ...], samples: int | None, seed: int,
           calibration: Path | None, port: str | None, json_path: Path | None, invoke_timeout: float,
           quiet: bool) -> None:
    """Quantize (if Keras), compile, build, flash and run MODEL on a board, then check every output against the
    reference interpreter bit for bit.

    \b
    Examples:
      mcukit deploy examples/kws.h5 --test-data examples/kws_test.npz     # emulated Cortex-M4 (default)
      mcukit deploy kws.h5 --board nano33 --json results.json            # a real Arduino Nano 33 BLE

    Exit status: 0 bit-exact, 1 outputs differ (or any error), 2 bad usage."""
    from mcukit.boards import get_board
    from mcukit.errors import McukitError
    from mcukit.pipeline.deploy import DeployOptions
    from mcukit.pipeline.deploy import deploy as run_deploy

    to_stdout = json_path is not None and str(json_path) == "-"
    opts = DeployOptions(
        board=get_board(board), reference=reference, test_data=tuple(str(p) for p in test_data), samples=samples,
        seed=seed, calibration=str(calibration) if calibration else None, port=port,
        json_path=None if to_stdout or json_path is None else str(json_path), invoke_timeout=invoke_timeout,
    )
    with progress_display(not quiet and not to_stdout) as progress:
        result = run_deploy(model, opts, progress)
    if to_stdout:
        click.echo(json.dumps(result, indent=2))
    else:
        render_summary(result)
    if not result["validation"]["bit_exact"]:
        raise McukitError(
            f"the board's outputs differ from the {reference} reference in {result['validation']['mismatches']} "
            f"elements (max {result['validation']['max_abs_diff']} LSB)",
            "this is a bug in mcukit: please report it with the model and the results JSON",
        )


def render_summary(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout)
    t = Table(title=f"{r['model']['name']} on {r['board']['name']}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    mem = r["memory"]
    t.add_row("model", f"{r['model']['macs']:,} MACs, {r['model']['params']:,} params, sha256 {r['model']['sha256'][:12]}")
    t.add_row("flash", f"{mem['flash_bytes']:,} bytes (weights {mem['weights_bytes']:,})")
    t.add_row("RAM", f"{mem['ram_bytes']:,} bytes (arena {mem['arena_bytes']:,})")
    for label, text in timing_rows(r):
        t.add_row(label, text)
    v = r["validation"]
    verdict = "[green]yes[/green]" if v["bit_exact"] else f"[red]NO: {v['mismatches']} elements differ[/red]"
    t.add_row("bit-exact", f"{verdict} vs {v['reference']} on {v['samples']} samples ({v['inputs']})")
    acc = r.get("accuracy")
    if acc:
        t.add_row("accuracy", f"board top-1 {acc['board_top1']:.1%}, reference {acc['reference_top1']:.1%} "
                              f"on {acc['samples']} labelled samples")
    t.add_row("build", "cached" if r["build"]["cached"] else f"{r['build']['seconds']:.1f} s")
    console.print(t)


def timing_rows(r: dict) -> list[tuple[str, str]]:
    """Latency, instruction and energy rows, each saying what the figure is (exact, estimate, modeled)."""
    lat = r.get("latency") or {}
    rows: list[tuple[str, str]] = []
    if not lat:
        return rows
    n = f"over {lat['samples']} samples"
    if lat.get("unit") == "estimated_cycles":
        text = (f"median {lat['median']:,.0f} estimated cycles (ESTIMATE: {lat['timing_model']} timing model, "
                f"{lat['low']:,.0f}..{lat['high']:,.0f}) = {lat['ms']:.3f} ms at {lat['clock_hz'] / 1e6:g} MHz "
                f"(estimate) {n}")
        rows.append(("latency", text))
    else:
        ms = f", {lat['ms']:.3f} ms" if lat.get("ms") is not None else ""
        rows.append(("latency", f"median {lat['median']:,.0f} {lat['unit']}{ms} {n}"))
    ins = r.get("instructions") or {}
    if ins.get("median") is not None:
        rows.append(("instructions", f"median {ins['median']:,.0f} (exact, counted by the QEMU plugin)"))
    elif ins.get("reason"):
        rows.append(("instructions", f"exact counts {ins['reason'].split(':')[0]}"))
    energy = r.get("energy") or {}
    if energy.get("uj_per_inference") is not None:
        # The table keeps the first clause of the basis; the JSON has all of it (datasheet, cycle source).
        basis = str(energy.get("basis", "")).split(";")[0]
        text = (f"{energy['uj_per_inference']:,.1f} uJ per inference "
                f"[{str(energy.get('source', '')).upper()}: {basis}]")
        rows.append(("energy", text))
    return rows
