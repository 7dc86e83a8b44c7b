"""Run firmware for an emulated board in qemu-system-arm, with its UART on a local TCP socket.

    with QemuSession(get_board("qemu-m4"), elf) as qemu:
        port = qemu.connect(timeout=5)          # pyserial over socket://127.0.0.1:PORT; the guest starts now
        port.write(b"ping")
        ...
        status = qemu.wait(timeout=10)          # the firmware's semihosting exit status

QEMU is started with `-serial tcp:127.0.0.1:PORT,server=on,wait=on,nodelay=on`: it listens before the guest runs
and the guest only starts once the host has connected, so no early output is lost; nodelay avoids a ~40 ms delay
per reply. Semihosting is on, so the firmware's exit code becomes QEMU's exit status. The port is picked by the
kernel (bind to port 0), and if another process takes it before QEMU binds, the session restarts on a new port.
QEMU's own stdout/stderr (including the semihosting console, where the HAL repeats crash reports) go to
temporary files, never to pipes that could fill up and stall the emulator.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcukit.boards import Board
from mcukit.errors import BoardError, DependencyError, DeviceError

if TYPE_CHECKING:
    from typing_extensions import Self

QEMU_BINARY = "qemu-system-arm"
APT_QEMU = "qemu-system-arm"
HARDFAULT_EXIT = 70  # MK_EXIT_HARDFAULT in firmware/include/mcukit/mk_hal.h
_FAULT_RE = re.compile(r"(HARDFAULT|UNEXPECTED EXCEPTION)[^\r\n]*")
_BIND_FAILED = ("Address already in use", "Failed to bind socket")
_ports_lock = threading.Lock()
_ports_in_use: set[int] = set()


def find_qemu() -> str:
    path = shutil.which(QEMU_BINARY)
    if path is None:
        raise DependencyError(
            f"{QEMU_BINARY} is not installed (needed to run emulated boards)",
            f"on Debian/Ubuntu: sudo apt-get install {APT_QEMU}",
        )
    return path


def _free_port(host: str) -> int:
    """A port the kernel considers free right now, not handed to another session of this process."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        with _ports_lock:
            if port not in _ports_in_use:
                _ports_in_use.add(port)
                return port
    raise DeviceError("could not find a free TCP port for QEMU's serial link", "close other emulator sessions")


def _release_port(port: int | None) -> None:
    if port is not None:
        with _ports_lock:
            _ports_in_use.discard(port)


def qemu_command(
    board: Board, elf: Path, serial: str, *, icount_shift: int | None = None, extra_args: tuple[str, ...] = ()
) -> list[str]:
    """The qemu-system-arm command line that runs `elf` on `board` with the UART on the `-serial` spec given."""
    emu = board.emulator
    if emu is None:
        raise BoardError(
            f"board {board.name!r} is not emulated; it cannot run in QEMU",
            "pick a qemu-* board (`mcukit boards`), or flash the real board",
        )
    cmd = [
        find_qemu(),
        "-machine",
        emu.machine,
        "-cpu",
        emu.cpu,
        "-kernel",
        str(elf),
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        serial,
        "-semihosting-config",
        "enable=on,target=native",
    ]
    if icount_shift is not None:
        # Deterministic virtual time: SysTick then counts instructions (2^shift ns each), not host time.
        cmd += ["-icount", f"shift={int(icount_shift)}"]
    return [*cmd, *extra_args]


@dataclass(frozen=True)
class QemuResult:
    status: int
    uart: bytes
    output: str  # QEMU's stdout + stderr (semihosting console, QEMU errors)

    @property
    def fault(self) -> str | None:
        """The HAL's crash report ("HARDFAULT pc=0x... lr=0x..."), if the firmware crashed."""
        for text in (self.uart.decode("latin-1"), self.output):
            match = _FAULT_RE.search(text)
            if match:
                return match.group(0).strip()
        return None


class QemuSession:
    """One QEMU process running one firmware ELF. Use as a context manager; `kill()` is always safe."""

    def __init__(
        self,
        board: Board,
        elf: Path,
        *,
        icount_shift: int | None = None,
        extra_args: tuple[str, ...] = (),
        host: str = "127.0.0.1",
    ) -> None:
        self.board = board
        self.elf = Path(elf)
        self.icount_shift = icount_shift
        self.extra_args = tuple(extra_args)
        self.host = host
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._serial: Any = None
        self._log_dir: tempfile.TemporaryDirectory[str] | None = None
        if board.emulator is None:
            qemu_command(board, self.elf, "null")  # raises the "not emulated" BoardError
        if not self.elf.is_file():
            raise DeviceError(f"firmware {self.elf} does not exist", "build the project first")

    # ---- lifecycle ----------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.port is None:
            raise DeviceError("the QEMU session is not started", "use `with QemuSession(...)` or call start()")
        return f"socket://{self.host}:{self.port}"

    def start(self) -> Self:
        if self.process is not None:
            return self
        if self._log_dir is None:
            self._log_dir = tempfile.TemporaryDirectory(prefix="mcukit-qemu-")
        self.port = _free_port(self.host)
        serial = f"tcp:{self.host}:{self.port},server=on,wait=on,nodelay=on"
        cmd = qemu_command(self.board, self.elf, serial, icount_shift=self.icount_shift, extra_args=self.extra_args)
        log = Path(self._log_dir.name)
        with open(log / "stdout", "wb") as out, open(log / "stderr", "wb") as err:
            # Own process group, so kill() also stops anything QEMU spawned and a Ctrl-C in the terminal does not
            # leave it orphaned halfway.
            self.process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
            )
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except OSError:
                pass
            self._serial = None
        self.kill()
        if self._log_dir is not None:
            self._log_dir.cleanup()
            self._log_dir = None

    def kill(self) -> None:
        """Stop QEMU (if still running) and reap it."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait(timeout=10)
        _release_port(self.port)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ---- I/O ----------------------------------------------------------------------------------------------------

    @property
    def stdout(self) -> str:
        return self._read_log("stdout")

    @property
    def stderr(self) -> str:
        return self._read_log("stderr")

    def _read_log(self, name: str) -> str:
        if self._log_dir is None:
            return ""
        path = Path(self._log_dir.name) / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def connect(self, timeout: float = 10.0, read_timeout: float | None = 1.0) -> Any:
        """Open the UART with pyserial (`serial.serial_for_url`), retrying until QEMU listens. Returns the port.

        If QEMU could not bind its port (another process took it first) it is restarted on a fresh port.
        Note: pyserial's socket:// read() raises on disconnect and drops bytes it had already collected in that
        call, so read what you expect before the firmware exits (or use open_socket())."""
        import serial

        def opener() -> Any:
            return serial.serial_for_url(self.url, timeout=read_timeout)

        self._serial = self._connect_with_retry(opener, (serial.SerialException, OSError), timeout)
        return self._serial

    def open_socket(self, timeout: float = 10.0) -> socket.socket:
        """Like connect() but returns the plain TCP socket (caller closes it)."""

        def opener() -> socket.socket:
            return socket.create_connection((self.host, self.port), timeout=1.0)

        sock = self._connect_with_retry(opener, (OSError,), timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _connect_with_retry(self, opener: Any, errors: tuple[type[BaseException], ...], timeout: float) -> Any:
        self.start()
        deadline = time.monotonic() + timeout
        restarts = 0
        while True:
            assert self.process is not None
            try:
                return opener()
            except errors:
                pass
            if self.process.poll() is not None:
                err = self.stderr
                if any(text in err for text in _BIND_FAILED) and restarts < 5:
                    restarts += 1
                    _release_port(self.port)
                    self.process = None
                    self.start()
                    continue
                raise DeviceError(f"QEMU exited before accepting a connection (status {self.process.returncode}): "
                                  f"{_last_line(err) or 'no message'}",
                                  f"run the command by hand: {' '.join(self.command_line())}")
            if time.monotonic() > deadline:
                self.kill()
                raise DeviceError(f"QEMU did not open {self.url} within {timeout:.0f} s",
                                  "the machine may be overloaded; retry with a longer timeout")
            time.sleep(0.02)

    def command_line(self) -> list[str]:
        serial = f"tcp:{self.host}:{self.port},server=on,wait=on,nodelay=on"
        return qemu_command(self.board, self.elf, serial, icount_shift=self.icount_shift, extra_args=self.extra_args)

    def wait(self, timeout: float | None = 30.0) -> int:
        """Wait for the firmware to exit and return its status. On timeout QEMU is killed and DeviceError raised."""
        if self.process is None:
            raise DeviceError("the QEMU session is not started", "call start() or connect() first")
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise DeviceError(
                f"the firmware on {self.board.name} did not exit within {timeout:g} s; QEMU was killed",
                "the firmware hangs (an endless loop, or it waits for input that never came)",
            ) from None


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_elf(
    board: Board, elf: Path, *, send: bytes = b"", timeout: float = 30.0, icount_shift: int | None = None,
    extra_args: tuple[str, ...] = (),
) -> QemuResult:
    """Run a firmware to completion: connect, send `send`, collect all UART output until it exits.
    `extra_args` go to qemu-system-arm (e.g. a TCG plugin).

    Raises DeviceError if it does not exit within `timeout` seconds (QEMU is killed)."""
    with QemuSession(board, elf, icount_shift=icount_shift, extra_args=extra_args) as session:
        sock = session.open_socket(timeout=min(timeout, 10.0))
        try:
            if send:
                sock.sendall(send)
            sock.settimeout(0.05)
            received = bytearray()
            deadline = time.monotonic() + timeout
            while True:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    chunk = None
                except OSError:
                    break
                if chunk == b"":
                    break  # QEMU exited and closed the socket: everything it sent has been read
                if chunk:
                    received += chunk
                if time.monotonic() > deadline:
                    session.kill()
                    raise DeviceError(
                        f"the firmware on {board.name} did not exit within {timeout:g} s; QEMU was killed",
                        "the firmware hangs (an endless loop, or it waits for input that never came)",
                    )
        finally:
            sock.close()
        status = session.wait(timeout=5)
        return QemuResult(status=status, uart=bytes(received), output=session.stdout + session.stderr)
