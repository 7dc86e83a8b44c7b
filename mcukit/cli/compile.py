"""`mcukit compile MODEL -o DIR`: an int8 model as plain C (model.h, model.c, model_weights.c)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("compile")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for the generated C files (created if needed).")
@click.option("--rounding", type=click.Choice(["tflm", "litert"]), default="tflm", show_default=True,
              help="Requantization rounding to match: TFLite Micro (double) or LiteRT reference (single).")
@click.option("--emit-flatbuffer", is_flag=True, help="Also write the .tflite bytes as model_tflite.c/.h.")
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="Calibration data (.npy/.npz) when MODEL is a Keras file that must be quantized first.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of text.")
def compile_cmd(model: Path, out_dir: Path, rounding: str, emit_flatbuffer: bool, calibration: Path | None,
                as_json: bool) -> None:
    """Generate C for MODEL (.tflite, or a Keras .h5/.keras that is quantized first)."""
    from mcukit.codegen.compile import compile_file

    result = compile_file(model, out_dir, rounding=rounding, emit_flatbuffer=emit_flatbuffer,
                          calibration=calibration)
    gen = result.generated
    summary = {
        "model": str(model),
        "output": str(result.directory),
        "sha256": gen.sha256,
        "rounding": gen.rounding,
        "arena_bytes": gen.arena_bytes,
        "naive_arena_bytes": gen.plan.naive_bytes,
        "weights_bytes": gen.weights_bytes,
        "layers": len(gen.layer_names),
        "macs": gen.macs,
        "files": sorted(gen.files),
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{model.name} -> {result.directory}/ ({', '.join(sorted(gen.files))})")
    click.echo(f"  arena   {gen.arena_bytes:>10,} bytes RAM (activations + scratch; {gen.plan.naive_bytes:,} unshared)")
    click.echo(f"  weights {gen.weights_bytes:>10,} bytes flash")
    click.echo(f"  layers  {len(gen.layer_names):>10,}   MACs {gen.macs:,}   rounding {gen.rounding}")
