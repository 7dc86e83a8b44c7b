"""pytest plugin (entry point `pytest11`): write your own hardware-in-the-loop tests against a flashed board.

    def test_kws_wakes_up(mcukit_device):
        with mcukit_device("models/kws.tflite") as dev:      # built, flashed (real boards), handshaken
            result = dev.run_sample([my_int8_input])
            assert result.outputs[0][3] > 100

Options: `--mcukit-board NAME` (default qemu-m4, or $MCUKIT_BOARD) and `--mcukit-port PORT` (a path,
usb:VVVV:PPPP, serial:NUMBER, socket://...; default: found by the board's USB ids). Emulated boards need no port:
each `mcukit_device(...)` starts its own QEMU, so tests can run in parallel.

Fixtures: `mcukit_board` (the Board), `mcukit_port` (the chosen port or None), `mcukit_firmware(model, ...)`
(a BuiltFirmware, cached by content) and `mcukit_device(model, ...)` (a context manager giving a
mcukit.device.operations.DeviceSession). This module imports nothing heavy until a fixture is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mcukit.boards import Board
    from mcukit.device.operations import DeviceSession
    from mcukit.pipeline.firmware import BuiltFirmware


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mcukit", "mcukit hardware-in-the-loop")
    group.addoption("--mcukit-board", default=None,
                    help="Board for the mcukit_* fixtures (default: $MCUKIT_BOARD or qemu-m4; `mcukit boards`).")
    group.addoption("--mcukit-port", default=None,
                    help="Serial port of a real board: path, usb:VVVV:PPPP, serial:NUMBER or socket://HOST:PORT "
                         "(default: found by the board's USB ids).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mcukit_hw: needs a real board (selected with --mcukit-board)")


@pytest.fixture(scope="session")
def mcukit_board(request: pytest.FixtureRequest) -> Board:
    """The board chosen with --mcukit-board (or $MCUKIT_BOARD, else the default emulated Cortex-M4)."""
    from mcukit.boards import get_board
    from mcukit.errors import McukitError

    name = request.config.getoption("mcukit_board") or os.environ.get("MCUKIT_BOARD") or None
    try:
        return get_board(name)
    except McukitError as err:
        raise pytest.UsageError(f"--mcukit-board: {err}") from err


@pytest.fixture(scope="session")
def mcukit_port(request: pytest.FixtureRequest, mcukit_board: Board) -> str | None:
    """The real board's serial port (None for emulated boards without --mcukit-port)."""
    text = request.config.getoption("mcukit_port") or os.environ.get("MCUKIT_PORT") or None
    if mcukit_board.emulated and not text:
        return None
    from mcukit.errors import McukitError
    from mcukit.hil.ports import parse_selector, select_port

    try:
        return select_port(mcukit_board, parse_selector(text), wait=10.0)
    except McukitError as err:
        pytest.skip(f"{mcukit_board.name} not reachable: {err}")


@pytest.fixture(scope="session")
def mcukit_firmware(mcukit_board: Board) -> Callable[..., BuiltFirmware]:
    """Factory: mcukit_firmware(model_path, reference="tflm", calibration=None, build_flags=()) -> BuiltFirmware,
    built for the session's board (cached by content, so repeated calls are cheap)."""
    from mcukit.pipeline.firmware import build_firmware, load_model

    def build(model: str | Path, *, reference: str = "tflm", calibration: str | Path | None = None,
              build_flags: tuple[str, ...] = ()) -> BuiltFirmware:
        return build_firmware(load_model(model, calibration), mcukit_board, reference=reference,
                              extra_flags=tuple(build_flags))

    return build


@pytest.fixture
def mcukit_device(mcukit_board: Board, mcukit_port: str | None,
                  mcukit_firmware: Callable[..., BuiltFirmware]) -> Iterator[Callable[..., Any]]:
    """Factory: mcukit_device(model_path, **build_options, invoke_timeout=20.0) -> a context manager yielding a
    handshaken DeviceSession running that model (flashed first on a real board). Sessions still open when the
    test ends are closed."""
    from mcukit.pipeline.firmware import flash_real_board
    from mcukit.pipeline.session import open_device

    stack = ExitStack()

    def device(model: str | Path, *, invoke_timeout: float = 20.0,
               **build_options: Any) -> AbstractContextManager[DeviceSession]:
        built = mcukit_firmware(model, **build_options)
        if not mcukit_board.emulated:
            flash_real_board(built, mcukit_port)
        cm = open_device(mcukit_board, built.firmware.elf, port=mcukit_port,
                         expect_model_hash=built.model.graph.sha256, invoke_timeout=invoke_timeout)
        return _Tracked(cm, stack)

    with stack:
        yield device


class _Tracked(AbstractContextManager):
    """Enter the session through the fixture's ExitStack, so a test that forgets `with` still gets it closed."""

    def __init__(self, cm: AbstractContextManager, stack: ExitStack) -> None:
        self.cm, self.stack = cm, stack
        self.inner: ExitStack | None = None

    def __enter__(self) -> DeviceSession:
        self.inner = ExitStack()
        self.stack.push(self.inner)
        return self.inner.enter_context(self.cm)

    def __exit__(self, *exc: object) -> bool | None:
        assert self.inner is not None
        return self.inner.__exit__(*exc)
