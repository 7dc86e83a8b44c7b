"""Options shared by the board-facing commands, so every command spells them the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from mcukit.boards import DEFAULT_BOARD


def board_option(f: Callable) -> Callable:
    return click.option("-b", "--board", default=DEFAULT_BOARD, show_default=True,
                        help="Board name or alias (see `mcukit boards`).")(f)


def reference_option(f: Callable) -> Callable:
    return click.option("--reference", type=click.Choice(["tflm", "litert"]), default="tflm", show_default=True,
                        help="Oracle the board must match bit for bit: TFLite Micro's host interpreter, or "
                             "ai-edge-litert's reference kernels (the C is generated with that oracle's "
                             "rounding).")(f)


def port_option(f: Callable) -> Callable:
    return click.option("--port", default=None,
                        help="Serial port of a real board (auto-detected by USB id), or socket://HOST:PORT.")(f)


@contextmanager
def progress_display(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress line on stderr: a spinner for open-ended stages, a bar for counted ones."""
    if not enabled:
        yield lambda stage, done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                for other in tasks.values():
                    bar.update(other, visible=False)
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        yield update
