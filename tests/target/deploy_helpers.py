"""Shared pieces for the end-to-end deploy/run/fault tests on emulated boards (tests/target/test_deploy*.py,
test_run*.py, test_faults*.py, test_nano33_project.py).

Import the fixtures into a test module by their function names (`from deploy_helpers import examples_fixture  #
noqa: F401`; the fixture itself is `examples`); this folder is on sys.path because pytest inserts a conftest's folder (rootdir-relative "prepend" import mode).

- Every test runs PlatformIO offline (HTTP(S) proxies pointing at a closed local port, so a download attempt fails
  the build instead of passing unnoticed) and with one MCUKIT_CACHE_DIR per test session, shared by these tests:
  each model/board pair builds once, TensorFlow quantizes each example once.
- `examples`: the three example models, quantized (calibrated on their test sets, as `mcukit deploy --test-data`
  does) with their float Keras outputs and accuracy computed once per session (imports TensorFlow: mark slow).
- `TcpProxy`: a man in the middle between the host and QEMU's serial socket that drops or corrupts chosen bytes, or
  cuts the connection.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EXAMPLE_NAMES = ("kws", "resnet", "autoencoder")

# A port nothing listens on: PlatformIO (and pip, and anything else) must not reach the network in these tests.
_CLOSED = "http://127.0.0.1:9"
OFFLINE_ENV = {
    "HTTP_PROXY": _CLOSED, "HTTPS_PROXY": _CLOSED, "http_proxy": _CLOSED, "https_proxy": _CLOSED, "NO_PROXY": "",
    "no_proxy": "", "PLATFORMIO_DISABLE_UPGRADE_CHECK": "true", "PLATFORMIO_SETTING_ENABLE_TELEMETRY": "no",
}


def require_tools() -> None:
    missing = [tool for tool in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (see scripts/install.sh)")


def harness():
    """tests/host/harness.py (int8_model): importable whether or not tests/host was collected."""
    host = str(ROOT / "tests" / "host")
    if host not in sys.path:
        sys.path.insert(0, host)
    import harness as module

    return module


@pytest.fixture(scope="session", name="deploy_cache")
def deploy_cache_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The MCUKIT_CACHE_DIR of these tests (fresh per session, shared by all of them)."""
    require_tools()
    return tmp_path_factory.mktemp("mcukit-cache")


def environment(cache: Path) -> dict[str, str]:
    return {**OFFLINE_ENV, "MCUKIT_CACHE_DIR": str(cache)}


@pytest.fixture(name="deploy_env")
def deploy_env_fixture(deploy_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Offline PlatformIO and the session's cache for one test; returns the cache folder."""
    for key, value in environment(deploy_cache).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MCUKIT_PIO_CORE_DIR", raising=False)
    return deploy_cache


# ------------------------------------------------------------------------------------------------- example models


@dataclass(frozen=True)
class Example:
    name: str
    h5: Path
    test_npz: Path
    x: np.ndarray  # float test inputs
    y: np.ndarray | None  # labels, if the test set has them
    tflite: bytes  # the int8 model `mcukit deploy --test-data test_npz` runs
    float_outputs: np.ndarray  # the float Keras model's outputs on x, (N, *output)

    @property
    def float_top1(self) -> float | None:
        if self.y is None:
            return None
        pred = self.float_outputs.reshape(len(self.x), -1).argmax(axis=1)
        return float((pred == self.y.reshape(-1)).mean())


@pytest.fixture(scope="session", name="examples")
def examples_fixture(deploy_cache: Path) -> dict[str, Example]:
    """The example models with their float outputs (TensorFlow, once per session) and their int8 conversion,
    cached in the session's MCUKIT_CACHE_DIR so that `mcukit deploy` processes never import TensorFlow."""
    from mcukit.quantize import quantize_file
    from mcukit.quantize._tf import import_tf
    from mcukit.quantize.load import identify, load

    out: dict[str, Example] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MCUKIT_CACHE_DIR", str(deploy_cache))
        tf = import_tf()
        for name in EXAMPLE_NAMES:
            h5, npz = EXAMPLES / f"{name}.h5", EXAMPLES / f"{name}_test.npz"
            with np.load(npz) as data:
                x = data["x"]
                y = data.get("y")
            model = load(identify(h5), tf)
            float_outputs = model.predict(x)[0]
            tflite = quantize_file(h5, calibration=npz).tflite
            out[name] = Example(name, h5, npz, x, y, tflite, float_outputs)
    return out


def write_tflite(example: Example, folder: Path) -> Path:
    """The example's int8 model as a .tflite named after it (so the model name, and the firmware, match)."""
    path = folder / f"{example.name}.tflite"
    path.write_bytes(example.tflite)
    return path


def int8_inputs(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """Float samples quantized exactly as `mcukit run/deploy` does (for the model's first input)."""
    from mcukit.ir.reader import parse_tflite
    from mcukit.pipeline.data import to_model_inputs

    return to_model_inputs(parse_tflite(tflite), [x]).inputs[0]


# ---------------------------------------------------------------------------------------------------- CLI helper


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str
    seconds: float

    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> CliResult:
    """`mcukit ARGS` in this process through the real entry point (exit code, captured output, wall time)."""
    from mcukit.__main__ import main

    capsys.readouterr()
    start = time.monotonic()
    code = main([str(a) for a in args])
    seconds = time.monotonic() - start
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err, seconds)


def assert_clean_failure(result: CliResult, *needles: str) -> str:
    """Non-zero exit with exactly one one-line `error:` message (plus an optional `fix:` hint), no traceback.
    Returns the message."""
    if os.environ.get("MCUKIT_TEST_SHOW_ERRORS"):  # to read the messages: MCUKIT_TEST_SHOW_ERRORS=1 pytest -s
        sys.__stderr__.write(f"\n[exit {result.code}, {result.seconds:.1f} s] {result.err}")
    assert result.code != 0, result
    assert "Traceback" not in result.err, result.err
    lines = result.error_lines()
    assert len(lines) == 1, result.err
    extra = [line for line in result.err.splitlines() if line.strip() and not line.startswith(("error:", "  fix:"))]
    assert not extra, result.err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


# ------------------------------------------------------------------------------------------------ faulty link


@dataclass
class Direction:
    """Byte offsets (counted from the start of the connection, per direction) to corrupt or to drop."""

    corrupt: frozenset[int] = frozenset()
    drop: frozenset[int] = frozenset()
    cut_after: int | None = None  # close the whole connection once this many bytes went this way
    seen: int = 0
    corrupted: int = 0
    dropped: int = 0

    def apply(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        cut = False
        for b in data:
            pos = self.seen
            self.seen += 1
            if self.cut_after is not None and pos >= self.cut_after:
                cut = True
                break
            if pos in self.drop:
                self.dropped += 1
                continue
            if pos in self.corrupt:
                self.corrupted += 1
                b ^= 0x5A
            out.append(b)
        return bytes(out), cut


@dataclass
class TcpProxy:
    """127.0.0.1:<port> -> 127.0.0.1:<target_port>, one connection, with faults. `down` is device -> host."""

    target_port: int
    down: Direction = field(default_factory=Direction)
    up: Direction = field(default_factory=Direction)
    port: int = 0
    cut: bool = False
    _server: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _sockets: list[socket.socket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def __enter__(self):  # returns self
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(1)
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        for sock in [*self._sockets, *([self._server] if self._server else [])]:
            try:
                sock.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            break
        else:
            return
        deadline = time.monotonic() + 10
        while True:  # QEMU may still be starting
            try:
                device = socket.create_connection(("127.0.0.1", self.target_port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline or self._stop.is_set():
                    client.close()
                    return
                time.sleep(0.02)
        for sock in (client, device):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(0.1)
        self._sockets += [client, device]
        self._spawn(self._pump, device, client, self.down)
        self._spawn(self._pump, client, device, self.up)

    def _pump(self, src: socket.socket, dst: socket.socket, rules: Direction) -> None:
        while not self._stop.is_set():
            try:
                data = src.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            data, cut = rules.apply(data)
            try:
                if data:
                    dst.sendall(data)
            except OSError:
                break
            if cut:
                self.cut = True
                break
        # One side ended (or the link was cut): end both, like a cable pulled out.
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture(name="qemu_for")
def qemu_for_fixture() -> Iterator:
    """`qemu_for(board, elf)` -> a started QemuSession (killed at the end of the test)."""
    from mcukit.device.qemu import QemuSession
    from mcukit.pipeline.session import ICOUNT_SHIFT

    sessions: list[QemuSession] = []

    def start(board, elf):
        session = QemuSession(board, elf, icount_shift=ICOUNT_SHIFT)
        sessions.append(session)
        return session.start()

    yield start
    for session in sessions:
        session.close()


def timed(fn, *args, **kwargs):
    start = time.monotonic()
    value = fn(*args, **kwargs)
    return value, time.monotonic() - start


def cpu_workers() -> int:
    """Parallel emulator runs: at most two (CI has two cores)."""
    return max(1, min(2, os.cpu_count() or 1))
