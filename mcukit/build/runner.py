"""Build a PlatformIO project (`pio run`) and turn the outcome into a Firmware value or a clear error."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from mcukit.boards import Board
from mcukit.build.pio import PioCore, ensure_platform_available, prepare_core, run_pio
from mcukit.build.sizes import Sizes, elf_sizes
from mcukit.errors import BoardError, CompileError


@dataclass(frozen=True)
class Firmware:
    elf: Path
    env_name: str
    board: Board | None
    sizes: Sizes
    build_seconds: float
    log: str


# gcc/clang diagnostics ("file:line:col: error: ..."), fatal errors, and the linker's own messages.
_ERROR_RES = [
    re.compile(r"^.*?:\d+(?::\d+)?: (?:fatal )?error: .*$", re.MULTILINE),
    re.compile(r"^.*(?:undefined reference to|multiple definition of) .*$", re.MULTILINE),
    re.compile(r"^.*(?:arm-none-eabi-)?ld(?:\.bfd)?: .*$", re.MULTILINE),
    re.compile(r"^(?:Error|error): .*$", re.MULTILINE),
    re.compile(r"^(?:cc1|cc1plus|collect2|arm-none-eabi-gcc|gcc): (?:fatal )?error: .*$", re.MULTILINE),
    re.compile(r"^\*\*\* .*$", re.MULTILINE),
]
_OVERFLOW_RE = re.compile(r"region [`'](\w+)' overflowed by (\d+) bytes|will not fit in region [`'](\w+)'")
_PIO_SIZE_RE = re.compile(r"Error: The program size \((\d+) bytes\) is greater than maximum allowed \((\d+) bytes\)")


def first_error_line(log: str) -> str | None:
    """The earliest line in a build log that states an error (the first compiler error, usually the cause)."""
    best: tuple[int, str] | None = None
    for regex in _ERROR_RES:
        match = regex.search(log)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), match.group(0).strip())
    return best[1] if best else None


def _raise_for_failure(log: str, project_dir: Path, env_name: str, board: Board | None) -> None:
    where = f"board {board.name!r}" if board else f"environment {env_name!r}"
    overflow = _OVERFLOW_RE.search(log)
    if overflow:
        region = overflow.group(1) or overflow.group(3)
        extra = f" by {overflow.group(2)} bytes" if overflow.group(2) else ""
        raise BoardError(f"the firmware does not fit in the {region} region of {where}{extra}",
                         "use a smaller model, a board with more memory, or a smaller arena")
    too_big = _PIO_SIZE_RE.search(log)
    if too_big:
        raise BoardError(f"the firmware ({too_big.group(1)} bytes) does not fit in {where} "
                         f"({too_big.group(2)} bytes)", "use a smaller model or a board with more flash")
    line = first_error_line(log)
    tail = "\n".join(log.strip().splitlines()[-15:])
    message = f"building {project_dir} for {where} failed: {line}" if line else (
        f"building {project_dir} for {where} failed; last output:\n{tail}")
    raise CompileError(message, f"run `pio run -d {project_dir} -e {env_name} -v` for the full log")


def build_project(project_dir: Path, env_name: str | None = None, *, board: Board | None = None,
                  core: PioCore | None = None, targets: tuple[str, ...] = (), verbose: bool = False,
                  timeout: float = 900.0) -> Firmware:
    """`pio run -d PROJECT -e ENV` with mcukit's prepared core dir; returns the ELF and its sizes.

    env_name defaults to the board's env name. For registry platforms the network check happens first, so an
    offline machine fails at once with a BoardError instead of waiting for a download."""
    project_dir = Path(project_dir).resolve()
    if env_name is None:
        if board is None:
            raise ValueError("build_project needs env_name or board")
        env_name = board.env_name
    if not (project_dir / "platformio.ini").is_file():
        raise CompileError(f"{project_dir} is not a PlatformIO project (no platformio.ini)",
                           "generate one with `mcukit project`")
    core = core or prepare_core()
    if board is not None:
        ensure_platform_available(board, core)
    args = ["run", "-d", str(project_dir), "-e", env_name]
    for target in targets:
        args += ["-t", target]
    if verbose:
        args.append("-v")
    start = time.monotonic()
    proc = run_pio(args, core, timeout=timeout)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        _raise_for_failure(proc.stdout, project_dir, env_name, board)
    elf = project_dir / ".pio" / "build" / env_name / "firmware.elf"
    if not elf.is_file():
        raise CompileError(f"PlatformIO reported success but {elf} does not exist",
                           "check build_dir / the program name in platformio.ini")
    return Firmware(elf=elf, env_name=env_name, board=board, sizes=elf_sizes(elf), build_seconds=seconds,
                    log=proc.stdout)
