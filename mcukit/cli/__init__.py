"""The `mcukit` command group.

Commands live one per module and are imported only when invoked, so `mcukit --help` and `mcukit inspect`
never pay for TensorFlow. Register a new command by adding it to `COMMANDS`.
"""

from __future__ import annotations

import importlib
import logging

import click

from mcukit import __version__

# name -> "module:attribute" (modules under mcukit.cli)
COMMANDS: dict[str, str] = {
    "quantize": "quantize:quantize",
    "inspect": "inspect:inspect",
    "compile": "compile:compile_cmd",
    "boards": "boards:boards",
    "project": "project:project",
    "build": "project:build",
    "flash": "project:flash",
    "run": "run:run",
    "deploy": "deploy:deploy",
    "bench": "bench:bench",
    "test": "test:test",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(f"mcukit.cli.{module}"), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mcukit")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.option("-v", "--verbose", is_flag=True, help="Log what each stage does.")
def cli(debug: bool, verbose: bool) -> None:
    """Take a Keras model to a measured, bit-exact int8 deployment on a Cortex-M board.

    \b
    Typical use:
      mcukit deploy kws.h5 --board nano33  # everything, ending in a bit-exact check
      mcukit boards                        # boards, and what each was verified on
      mcukit quantize kws.h5               # Keras -> int8 .tflite, with a fidelity report
      mcukit inspect kws.tflite            # ops, MACs, params, memory
      mcukit compile kws.tflite -o out     # model -> plain C (no interpreter, no heap)
      mcukit bench kws.tflite --html r.html  # latency, per-layer cost, energy
      mcukit test mcukit.toml --junit r.xml  # CI gate with budgets

    The default board is qemu-m4, an emulated Cortex-M4 that needs no hardware.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
