"""`mcukit bench MODEL --board B`: timed inferences, per-layer costs, memory and energy, as table/JSON/CSV/PNG/HTML."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mcukit.cli.options import board_option, port_option, progress_display


@click.command("bench")
@click.argument("model", type=click.Path(path_type=Path))
@board_option
@click.option("-n", "--runs", type=int, default=10, show_default=True, help="Inferences to time.")
@click.option("--inputs", "inputs", type=int, default=None,
              help="Distinct inputs, cycled through the runs (default: a new input for every run).")
@click.option("--test-data", "test_data", multiple=True, type=click.Path(path_type=Path),
              help="Inputs to use (.npz with x, or .npy); once per model input. Default: seeded random int8 inputs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for random inputs.")
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="Calibration data when MODEL is a Keras file (see `mcukit quantize`).")
@click.option("--reference", type=click.Choice(["tflm", "litert"]), default="tflm", show_default=True,
              help="Rounding the generated C follows (that of TFLite Micro or of ai-edge-litert's reference "
                   "kernels). bench times the model; `mcukit deploy` checks its outputs bit for bit.")
@port_option
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Write the results JSON here (kept on failure); '-' prints it instead of the tables.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None, help="Write per-layer rows as CSV.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None,
              help="Write a PNG: per-layer cost bars (and the current trace where energy was measured).")
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None,
              help="Write a self-contained HTML report.")
@click.option("--timeout", "invoke_timeout", type=float, default=20.0, show_default=True,
              help="Seconds an inference may take before the board counts as hung.")
@click.option("--quiet", is_flag=True, help="No progress display.")
def bench(model: Path, board: str, runs: int, inputs: int | None, test_data: tuple[Path, ...], seed: int,
          calibration: Path | None, reference: str, port: str | None, json_path: Path | None,
          csv_path: Path | None, plot_path: Path | None, html_path: Path | None, invoke_timeout: float,
          quiet: bool) -> None:
    """Run MODEL N times on a board and report latency (median, p90, min, max), cost per layer, memory and
    energy per inference.

    \b
    What the figures are:
      emulated boards  instructions counted exactly (QEMU plugin); cycles, milliseconds and MACs/cycle are
                       ESTIMATES from the core's timing model; energy is MODELED from datasheet figures
      real boards      cycles from the device counter (DWT); energy MEASURED with a current sensor if the
                       board has one, else modeled from the measured cycles

    \b
    Examples:
      mcukit bench examples/kws.h5 --runs 20 --html kws.html
      mcukit bench model.tflite --board qemu-m55 --json bench.json --csv layers.csv --plot layers.png"""
    from mcukit.boards import get_board
    from mcukit.measure.bench import BenchOptions
    from mcukit.measure.bench import bench as run_bench

    to_stdout = json_path is not None and str(json_path) == "-"
    opts = BenchOptions(
        board=get_board(board), runs=runs, inputs=inputs, reference=reference,
        test_data=tuple(str(p) for p in test_data), seed=seed, calibration=str(calibration) if calibration else None,
        port=port, json_path=None if to_stdout or json_path is None else str(json_path),
        invoke_timeout=invoke_timeout,
    )
    with progress_display(not quiet and not to_stdout) as progress:
        result = run_bench(model, opts, progress)
    written = []
    if csv_path is not None:
        from mcukit.report.csv_report import write_layers_csv

        written.append(write_layers_csv(result, csv_path))
    if plot_path is not None:
        from mcukit.report.plots import write_plot

        written.append(write_plot(result, plot_path))
    if html_path is not None:
        from mcukit.report.html import write_html

        written.append(write_html(result, html_path))
    if to_stdout:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    from mcukit.report.table import print_bench

    print_bench(result)
    if opts.json_path:
        written.insert(0, Path(opts.json_path))
    for path in written:
        click.echo(f"wrote {path}")
