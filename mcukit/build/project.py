"""The platformio.ini environment section for a board: the one place that knows what PlatformIO needs.

Project templates can render `env_ini(board, ...)` directly, or reproduce its output (documented in
docs/boards.md). For emulated boards the platform is the local mcukit-qemu platform, referenced by an absolute
symlink:// URI, and the firmware tree is passed explicitly so the project does not depend on where it lives.
"""

from __future__ import annotations

from collections.abc import Iterable

from mcukit.boards import Board
from mcukit.paths import data_dir


def env_ini(board: Board, *, env_name: str | None = None, build_flags: Iterable[str] = (),
            mcukit_src: Iterable[str] = (), upload_flags: Iterable[str] = ()) -> str:
    """One `[env:NAME]` section for `board`.

    mcukit_src: firmware/src sub-folders the build compiles in addition to the project's src/ (e.g. "runtime",
    "kernels"); only the mcukit-qemu platform honours it, real boards need those sources in src/ or lib/.
    upload_flags: extra qemu-system-arm arguments for `pio run -t upload` (e.g. "-icount shift=0")."""
    pio = board.platformio
    lines = [f"[env:{env_name or board.env_name}]", f"platform = {pio.platform_spec}", f"board = {pio.board}"]
    if pio.framework:
        lines.append(f"framework = {pio.framework}")
    flags = [*pio.build_flags, *build_flags]
    if not pio.is_local:
        flags.insert(0, f"-I{data_dir('firmware').resolve() / 'include'}")
    if flags:
        lines.append("build_flags =")
        lines += [f"    {flag}" for flag in flags]
    if pio.upload_protocol and not pio.is_local:
        lines.append(f"upload_protocol = {pio.upload_protocol}")
    if pio.is_local:
        lines.append(f"custom_mcukit_firmware = {data_dir('firmware').resolve()}")
        sources = list(mcukit_src)
        if sources:
            lines.append(f"custom_mcukit_src = {' '.join(sources)}")
        uflags = list(upload_flags)
        if uflags:
            lines.append("upload_flags =")
            lines += [f"    {flag}" for flag in uflags]
    if board.serial.baud:
        lines.append(f"monitor_speed = {board.serial.baud}")
    return "\n".join(lines) + "\n"


