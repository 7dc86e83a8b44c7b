"""Board + generated model -> a complete PlatformIO project a user can open, build and edit on their own.

The project copies what it needs (kernels, runtime, the board's HAL) into lib/mcukit, so it does not depend on
where mcukit is installed — except for emulated boards, whose PlatformIO platform ships with mcukit (boards/).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2

from mcukit import __version__
from mcukit.boards import Board
from mcukit.codegen.generate import GeneratedModel
from mcukit.errors import BoardError, UsageError
from mcukit.paths import data_dir

TEMPLATES = ("platformio.ini", "main.c", "library.json", "README.md")


@dataclass(frozen=True)
class Project:
    directory: Path
    board: Board
    env_name: str
    fingerprint: str  # hash of every file in the project: equal fingerprints build equal firmware


def kernel_folders(board: Board) -> tuple[str, ...]:
    """Kernel source folders a board can compile: the portable kernels always, DSP/MVE variants where the ISA
    has them (those files use instructions that fault or do not assemble elsewhere)."""
    folders = ["kernels"]
    if board.isa.dsp:
        folders.append("kernels/dsp")
    if board.isa.mve:
        folders.append("kernels/mve")
    return tuple(folders)


def sensor_flags(board: Board) -> tuple[str, ...]:
    """Build flags for the board's current sensor: -DMK_INA219 and the words the INA219 is programmed with (address,
    configuration, calibration; mcukit.measure.ina219.prepare_for_board with its defaults). Empty without a sensor."""
    if board.current_sensor is None:
        return ()
    from mcukit.measure.ina219 import prepare_for_board

    defines = prepare_for_board(board).c_defines()
    return ("-DMK_INA219", *(f"-D{name}={value}" for name, value in defines.items()))


def _src_filter(board: Board) -> list[str]:
    filters = ["-<*>"]
    filters += [f"+<{folder}/*.c>" for folder in kernel_folders(board)]
    filters.append("+<runtime/*.c>")
    if board.current_sensor is not None:
        filters.append("+<sensors/*.c>")
    if board.emulator is None:
        # The emulated boards' HAL is compiled by the mcukit-qemu platform itself (it owns start-up and linking).
        filters.append(f"+<hal/{board.hal}/*.c>")
        filters.append(f"+<hal/{board.hal}/*.cpp>")
    return filters


def check_fits(generated: GeneratedModel, board: Board) -> None:
    """Fail before building when the planner says the model cannot fit the board."""
    if generated.arena_bytes > board.ram_bytes:
        raise BoardError(
            f"the model needs {generated.arena_bytes:,} bytes of RAM for activations, but {board.name} has "
            f"{board.ram_bytes:,}",
            "pick a board with more RAM, or shrink the model (fewer channels, smaller input)",
        )
    if generated.weights_bytes > board.flash_bytes:
        raise BoardError(
            f"the model's weights take {generated.weights_bytes:,} bytes of flash, but {board.name} has "
            f"{board.flash_bytes:,}",
            "pick a board with more flash, or shrink the model",
        )


def render_project(
    generated: GeneratedModel,
    board: Board,
    out_dir: str | Path,
    *,
    model_name: str = "model",
    profile: bool = False,
    extra_flags: tuple[str, ...] = (),
) -> Project:
    """Write (or refresh) the PlatformIO project for `generated` on `board` into `out_dir`."""
    check_fits(generated, board)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder", "choose another output folder")
    env_name = board.env_name
    ctx = {
        "version": __version__,
        "board": board,
        "env_name": env_name,
        "emulated": board.emulator is not None,
        "platform": board.platformio.platform_spec,
        "model_name": model_name,
        "sha256": generated.sha256,
        "arena_bytes": generated.arena_bytes,
        "weights_bytes": generated.weights_bytes,
        "rounding": generated.rounding,
        "single_rounding": 1 if generated.rounding == "litert" else 0,
        "profile": profile,
        "extra_flags": extra_flags,
        "sensor_flags": sensor_flags(board),
        "src_filter": _src_filter(board),
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates") / "project")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    files: dict[str, str] = {
        "platformio.ini": env.get_template("platformio.ini.j2").render(ctx),
        "src/main.c": env.get_template("main.c.j2").render(ctx),
        "lib/mcukit/library.json": env.get_template("library.json.j2").render(ctx),
        "README.md": env.get_template("README.md.j2").render(ctx),
    }
    for name, text in generated.files.items():
        files[f"src/model/{name}"] = text
    for rel, text in _firmware_files(board).items():
        files[f"lib/mcukit/{rel}"] = text

    _sync(out, files)
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    digest.update(board.platformio.platform_spec.encode())
    local = board.platformio.local_dir
    if local is not None:  # the local platform's builder decides flags and linking: a change must rebuild
        for path in sorted(p for p in local.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(local)).encode() + b"\0" + path.read_bytes() + b"\0")
    return Project(directory=out.resolve(), board=board, env_name=env_name, fingerprint=digest.hexdigest())


def _firmware_files(board: Board) -> dict[str, str]:
    fw = data_dir("firmware")
    wanted = [fw / "include", fw / "src" / "runtime", fw / "src" / "hal" / board.hal]
    wanted += [fw / "src" / folder for folder in kernel_folders(board)]
    if board.current_sensor is not None:
        wanted.append(fw / "src" / "sensors")
    files: dict[str, str] = {}
    for root in wanted:
        if not root.is_dir():
            continue
        # Only the folder's own files for kernels (dsp/ and mve/ are listed separately), everything for the rest.
        paths = root.glob("*") if root.parent.name == "src" and root.name == "kernels" else root.rglob("*")
        for path in sorted(paths):
            if path.is_file() and path.suffix in (".c", ".cpp", ".h", ".S", ".ld"):
                files[str(path.relative_to(fw))] = path.read_text()
    return files


def _sync(out: Path, files: dict[str, str]) -> None:
    """Write files whose content changed (keeping mtimes, so PlatformIO rebuilds only what changed) and remove
    stale generated files under src/model and lib/mcukit."""
    out.mkdir(parents=True, exist_ok=True)
    for managed in ("src/model", "lib/mcukit"):
        root = out / managed
        if root.is_dir():
            for path in root.rglob("*"):
                if path.is_file() and str(path.relative_to(out)) not in files:
                    path.unlink()
    for name, text in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)


def remove_build_output(project: Project) -> None:
    shutil.rmtree(project.directory / ".pio", ignore_errors=True)
