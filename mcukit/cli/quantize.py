"""`mcukit quantize MODEL`: a Keras model (or SavedModel) as a full-integer int8 .tflite, with a fidelity report."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mcukit.quantize import QuantizeResult


@click.command("quantize")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Where to write the .tflite. Default: <model name>.tflite in the current directory.")
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="Real model inputs: .npy, .npz (array 'x' or the first) or a folder of .npy, shaped "
                   "(N, *input_shape). Without it random inputs are used (and you are warned).")
@click.option("--samples", type=click.IntRange(min=1), default=200, show_default=True,
              help="Calibration samples to use. Samples beyond these (up to 200) are held out for the report; "
                   "with no more than N samples, a fifth is held out.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for choosing samples.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of the table.")
def quantize(model: Path, output: Path | None, calibration: Path | None, samples: int, seed: int,
             as_json: bool) -> None:
    """Quantize MODEL (Keras .h5/.keras or a SavedModel folder) to an int8 .tflite.

    Weights and activations become int8 (input and output too), with batch size 1. The float and int8 models are
    then compared on held-out samples: the largest output error (in output units) and, for classifiers, how often
    both pick the same class. Results are cached, so repeating the command does not load TensorFlow again.

    \b
    Examples:
      mcukit quantize kws.h5 --calibration mfcc.npy      # writes ./kws.tflite
      mcukit quantize saved_model/ -o model.tflite --json
    """
    from mcukit.errors import UsageError
    from mcukit.quantize import quantize_file

    stem = model.resolve().name if model.is_dir() else model.stem
    out = output if output is not None else Path.cwd() / f"{stem}.tflite"
    if out.resolve() == model.resolve():
        raise UsageError(f"the output {out} would overwrite the model itself", "choose another path with -o")
    result = quantize_file(model, calibration=calibration, samples=samples, seed=seed)
    _write(out, result.tflite)
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if as_json:
        summary = {
            "model": str(model),
            "output": str(out),
            "bytes": len(result.tflite),
            "sha256": hashlib.sha256(result.tflite).hexdigest(),
            "cached": result.cached,
            "warnings": list(result.warnings),
            "fidelity": result.fidelity.to_dict(),
        }
        click.echo(json.dumps(summary, indent=2))
        return
    _print_table(model, out, result)


def _write(out: Path, data: bytes) -> None:
    from mcukit.errors import UsageError

    if out.is_dir():
        raise UsageError(f"the output {out} is a folder", "pass a file name with -o, e.g. -o model.tflite")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}", "choose another path with -o") from exc


def _print_table(model: Path, out: Path, result: QuantizeResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    rep = result.fidelity
    cached = " (cached)" if result.cached else ""
    console.print(f"{model} -> [bold]{out}[/bold] ({len(result.tflite):,} bytes, int8){cached}")
    table = Table(title=f"float vs int8 on {rep.samples} {rep.source} samples", title_justify="left")
    table.add_column("output")
    table.add_column("shape")
    table.add_column("max |err|", justify="right")
    table.add_column("mean |err|", justify="right")
    table.add_column("float range", justify="right")
    table.add_column("int8 step", justify="right")
    table.add_column("top-1 agree", justify="right")
    for o in rep.outputs:
        top1 = "-" if o.top1_agreement is None else f"{o.top1_agreement:.1%}"
        table.add_row(o.name, "x".join(map(str, o.shape)), f"{o.max_abs_error:.4g}", f"{o.mean_abs_error:.4g}",
                      f"{o.float_range:.4g}", f"{o.scale:.4g}", top1)
    console.print(table)
