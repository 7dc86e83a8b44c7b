"""`mcukit project`, `mcukit build`, `mcukit flash`: the firmware stages of deploy, one at a time."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mcukit.cli.options import board_option, port_option, reference_option


@click.command("project")
@click.argument("model", type=click.Path(path_type=Path))
@board_option
@reference_option
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for the PlatformIO project (created or refreshed).")
@click.option("--profile", is_flag=True, help="Compile in the per-layer timing hooks.")
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="Calibration data when MODEL is a Keras file.")
def project(model: Path, board: str, reference: str, out_dir: Path, profile: bool, calibration: Path | None) -> None:
    """Write a complete PlatformIO project for MODEL on a board: platformio.ini, src/main.c, the generated model
    in src/model/, and mcukit's kernels, runtime and HAL in lib/mcukit/. Open, build and edit it on your own."""
    from mcukit.boards import get_board
    from mcukit.pipeline.firmware import generate_for, load_model
    from mcukit.project import render_project

    b = get_board(board)
    loaded = load_model(model, calibration)
    generated = generate_for(loaded, b, reference)
    proj = render_project(generated, b, out_dir, model_name=loaded.name, profile=profile)
    click.echo(f"{proj.directory}: PlatformIO project for {b.name} (env {proj.env_name}); "
               f"arena {generated.arena_bytes:,} bytes, weights {generated.weights_bytes:,} bytes")
    click.echo(f"  build: pio run -d {proj.directory}    or: mcukit build {model} --board {b.name}")


@click.command("build")
@click.argument("model", type=click.Path(path_type=Path))
@board_option
@reference_option
@click.option("--profile", is_flag=True, help="Compile in the per-layer timing hooks.")
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="Calibration data when MODEL is a Keras file.")
@click.option("--no-cache", is_flag=True, help="Rebuild even if this exact firmware was built before.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def build(model: Path, board: str, reference: str, profile: bool, calibration: Path | None, no_cache: bool,
          as_json: bool) -> None:
    """Build the firmware for MODEL on a board with PlatformIO. Checks the model fits before building (the memory
    planner knows the exact RAM it needs) and reports flash and RAM use."""
    from mcukit.boards import get_board
    from mcukit.pipeline.firmware import build_firmware, load_model

    b = get_board(board)
    built = build_firmware(load_model(model, calibration), b, reference=reference, profile=profile,
                           use_cache=not no_cache)
    fw = built.firmware
    summary = {"board": b.name, "elf": str(fw.elf), "project": str(built.project.directory), "cached": built.cached,
               "flash_bytes": fw.sizes.flash_bytes, "ram_bytes": fw.sizes.ram_bytes,
               "arena_bytes": built.generated.arena_bytes, "weights_bytes": built.generated.weights_bytes,
               "board_flash_bytes": b.flash_bytes, "board_ram_bytes": b.ram_bytes}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{fw.elf} ({'cached' if built.cached else f'built in {fw.build_seconds:.1f} s'})")
    click.echo(f"  flash {fw.sizes.flash_bytes:>10,} / {b.flash_bytes:,} bytes "
               f"({fw.sizes.flash_bytes / b.flash_bytes:.1%}), weights {built.generated.weights_bytes:,}")
    click.echo(f"  RAM   {fw.sizes.ram_bytes:>10,} / {b.ram_bytes:,} bytes "
               f"({fw.sizes.ram_bytes / b.ram_bytes:.1%}), arena {built.generated.arena_bytes:,}")


@click.command("flash")
@click.argument("model", type=click.Path(path_type=Path))
@board_option
@reference_option
@port_option
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="Calibration data when MODEL is a Keras file.")
def flash(model: Path, board: str, reference: str, port: str | None, calibration: Path | None) -> None:
    """Build (if needed) and flash MODEL's firmware. A real board is uploaded to with PlatformIO (port found by USB
    id unless --port). An emulated board is started in QEMU with its UART on a local TCP socket, and runs until
    Ctrl-C; talk to it with `mcukit run ... --port socket://127.0.0.1:PORT`."""
    import time

    from mcukit.boards import get_board
    from mcukit.device.qemu import QemuSession
    from mcukit.pipeline.firmware import build_firmware, flash_real_board, load_model
    from mcukit.pipeline.session import ICOUNT_SHIFT

    b = get_board(board)
    built = build_firmware(load_model(model, calibration), b, reference=reference)
    if b.emulator is None:
        flash_real_board(built, port)
        click.echo(f"flashed {built.firmware.elf.name} to {b.name}")
        return
    with QemuSession(b, built.firmware.elf, icount_shift=ICOUNT_SHIFT) as qemu:
        qemu.start()
        click.echo(f"{b.name} running {built.firmware.elf} in QEMU; serial link: {qemu.url}  (Ctrl-C to stop)")
        try:
            while qemu.running:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
    click.echo("stopped")
