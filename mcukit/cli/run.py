"""`mcukit run MODEL --board B --input X.npy --output Y.npy`: the board's raw outputs for every sample of X."""

from __future__ import annotations

from pathlib import Path

import click

from mcukit.cli.options import board_option, port_option, progress_display, reference_option


@click.command("run")
@click.argument("model", type=click.Path(path_type=Path))
@board_option
@reference_option
@click.option("-i", "--input", "inputs", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Samples (.npy or .npz x) shaped (N, *input_shape): int8 as the model expects, or float32 "
                   "(quantized with the model's input scale and zero point). Once per model input.")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path),
              help="Where to write the board's outputs: .npy (one output) or .npz (output0, output1, ...).")
@port_option
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="Calibration data when MODEL is a Keras file.")
@click.option("--timeout", "invoke_timeout", type=float, default=20.0, show_default=True,
              help="Seconds an inference may take before the board counts as hung.")
@click.option("--quiet", is_flag=True, help="No progress display.")
def run(model: Path, board: str, reference: str, inputs: tuple[Path, ...], output: Path, port: str | None,
        calibration: Path | None, invoke_timeout: float, quiet: bool) -> None:
    """Run every sample on the board and write its raw outputs (no comparison: see `mcukit deploy` for that).
    Outputs measured before a failure are still written."""
    import numpy as np

    from mcukit.boards import get_board
    from mcukit.pipeline.data import load_samples
    from mcukit.pipeline.deploy import run_outputs
    from mcukit.pipeline.firmware import build_firmware, flash_real_board, load_model
    from mcukit.pipeline.session import open_device

    b = get_board(board)
    loaded = load_model(model, calibration)
    samples = load_samples(loaded.graph, list(inputs))
    rows: list = []

    def write() -> None:
        arrays = run_outputs(loaded.graph, rows)
        output.parent.mkdir(parents=True, exist_ok=True)
        if output.suffix == ".npz" or len(arrays) > 1:
            np.savez(output, **{f"output{k}": a for k, a in enumerate(arrays)})
        else:
            np.save(output, arrays[0])

    with progress_display(not quiet) as progress:
        progress("build", 0, 0)
        built = build_firmware(loaded, b, reference=reference)
        if b.emulator is None:
            progress("flash", 0, 0)
            flash_real_board(built, port)
        try:
            with open_device(b, built.firmware.elf, port=port, expect_model_hash=loaded.graph.sha256,
                             invoke_timeout=invoke_timeout) as session:
                def on_result(r) -> None:
                    rows.append(r)
                    progress("run", len(rows), samples.count)

                session.run_samples((samples.sample(i) for i in range(samples.count)), on_result=on_result)
        finally:
            if rows:
                write()
    click.echo(f"{len(rows)} samples -> {output}")
