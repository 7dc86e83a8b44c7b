"""Model -> generated C -> PlatformIO project -> firmware ELF, with built firmware cached by content.

A second deploy of the same model on the same board re-renders the project (cheap, no TensorFlow: the quantized
model is cached too), finds its fingerprint in the cache and skips PlatformIO entirely.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from mcukit.boards import Board
from mcukit.build import Firmware, Sizes, build_project, elf_sizes
from mcukit.codegen.compile import model_bytes
from mcukit.codegen.generate import GeneratedModel, generate
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.errors import DeviceError
from mcukit.ir.graph import Graph
from mcukit.ir.reader import parse_tflite
from mcukit.locks import path_lock
from mcukit.paths import cache_dir
from mcukit.project import Project, render_project


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    name: str
    tflite: bytes
    graph: Graph


@dataclass(frozen=True)
class BuiltFirmware:
    model: LoadedModel
    generated: GeneratedModel
    project: Project
    firmware: Firmware
    cached: bool


def load_model(path: str | Path, calibration: str | Path | None = None) -> LoadedModel:
    """A .tflite as it is, or a Keras model quantized to int8 (cached; TensorFlow only on a cache miss)."""
    path = Path(path)
    data = model_bytes(path, calibration)
    name = path.stem
    return LoadedModel(path=path, name=name, tflite=data, graph=parse_tflite(data, name=name))


# Int16 GEMM weights (LowerOptions.wide_weights) double the conv weights' flash, Winograd's (LowerOptions.winograd)
# quadruple those of its layers; each is kept only while all weights stay within this share of the board's flash,
# leaving the rest for code and the application.
WIDE_WEIGHTS_FLASH_SHARE = 0.5


def lower_options(board: Board, reference: str, wide_weights: bool = True, winograd: bool = True) -> LowerOptions:
    return LowerOptions(rounding=reference, isa=board.isa.features, wide_weights=wide_weights, winograd=winograd)


def generate_for(model: LoadedModel, board: Board, reference: str = "tflm", wide_weights: bool | None = None
                 ) -> GeneratedModel:
    """The generated C for `board` (wide_weights=None): the fastest weight forms whose bytes fit comfortably -
    Winograd's and the int16 GEMM weights, else the int16 ones without Winograd, else int8 ones (the smallest if
    none fits). True/False force the int16 (with Winograd) or int8 forms (benchmarks compare them)."""
    if wide_weights is not None:
        return generate(model.graph, lower_options(board, reference, wide_weights), model_name=model.name)
    gen = generate(model.graph, lower_options(board, reference), model_name=model.name)
    for wide, wino in ((True, False), (False, False)):
        if gen.weights_bytes <= WIDE_WEIGHTS_FLASH_SHARE * board.flash_bytes:
            break
        smaller = generate(model.graph, lower_options(board, reference, wide, wino), model_name=model.name)
        if smaller.weights_bytes < gen.weights_bytes:
            gen = smaller
    return gen


def default_project_dir(model: LoadedModel, board: Board, reference: str, profile: bool,
                        extra_flags: tuple[str, ...] = ()) -> Path:
    tag = f"{model.name}-{model.graph.sha256[:12]}-{board.name}-{reference}{'-profile' if profile else ''}"
    if extra_flags:  # a distinct folder, so a build with other flags never rewrites this one's platformio.ini
        tag += "-" + hashlib.sha256("\0".join(extra_flags).encode()).hexdigest()[:8]
    return cache_dir() / "projects" / tag


def build_firmware(
    model: LoadedModel,
    board: Board,
    *,
    reference: str = "tflm",
    profile: bool = False,
    project_dir: str | Path | None = None,
    use_cache: bool = True,
    extra_flags: tuple[str, ...] = (),
    wide_weights: bool | None = None,
) -> BuiltFirmware:
    """extra_flags go into platformio.ini's build_flags (e.g. "-O0"), hence into the project's fingerprint.
    wide_weights: as generate_for (None: decided from the board's flash)."""
    generated = generate_for(model, board, reference, wide_weights)
    out = Path(project_dir) if project_dir else default_project_dir(model, board, reference, profile,
                                                                      tuple(extra_flags))
    with path_lock(out):  # two `pio run` in one folder overwrite each other's objects
        return _build_locked(model, board, generated, out, profile, use_cache, tuple(extra_flags))


def _build_locked(model: LoadedModel, board: Board, generated: GeneratedModel, out: Path, profile: bool,
                  use_cache: bool, extra_flags: tuple[str, ...]) -> BuiltFirmware:
    project = render_project(generated, board, out, model_name=model.name, profile=profile, extra_flags=extra_flags)
    cached_dir = cache_dir() / "firmware" / project.fingerprint
    sizes = _cached_sizes(cached_dir) if use_cache else None
    if sizes is not None:
        fw = Firmware(
            elf=cached_dir / "firmware.elf",
            env_name=project.env_name,
            board=board,
            sizes=Sizes(sizes["flash_bytes"], sizes["ram_bytes"], tuple(tuple(s) for s in sizes["sections"])),
            build_seconds=0.0,
            log="(cached)",
        )
        return BuiltFirmware(model, generated, project, fw, cached=True)
    fw = build_project(project.directory, project.env_name, board=board)
    publish_firmware(fw.elf, cached_dir, replace=not use_cache)
    return BuiltFirmware(model, generated, project, fw, cached=False)


def _cached_sizes(cached_dir: Path) -> dict | None:
    """The cached entry's sizes, or None for a miss (also when another process is replacing the entry)."""
    if not _is_complete(cached_dir):
        return None
    try:
        return json.loads((cached_dir / "sizes.json").read_text())
    except (OSError, ValueError):
        return None


def _is_complete(cached_dir: Path) -> bool:
    return (cached_dir / "firmware.elf").is_file() and (cached_dir / "sizes.json").is_file()


def publish_firmware(elf: Path, cached_dir: Path, replace: bool = False) -> None:
    """Store a built ELF under its fingerprint. Two project folders can hold the same fingerprint (the same model
    and board deployed by two commands at once), so each writer fills a folder of its own and renames it into
    place in one step: readers never see an entry half-written. A complete entry is kept (same fingerprint, same
    firmware) unless `replace` (a build that bypassed the cache refreshes it): then the old entry is renamed away
    first, so a reader at that moment sees a miss, never a mix of two builds."""
    tmp = cached_dir.with_name(f"{cached_dir.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        shutil.copy2(elf, tmp / "firmware.elf")
        sizes = elf_sizes(tmp / "firmware.elf")
        (tmp / "sizes.json").write_text(json.dumps(
            {"flash_bytes": sizes.flash_bytes, "ram_bytes": sizes.ram_bytes, "sections": sizes.sections}))
        if _is_complete(cached_dir) and not replace:
            return
        with path_lock(cached_dir):
            if _is_complete(cached_dir) and not replace:
                return
            old = tmp.with_name(tmp.name + ".old")
            if cached_dir.exists():  # stale, incomplete (an interrupted run) or to be replaced
                cached_dir.rename(old)
            tmp.rename(cached_dir)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def flash_real_board(built: BuiltFirmware, port: str | None = None) -> None:
    """Upload to a real board with PlatformIO (it performs board-specific resets such as the Nano's 1200-baud
    touch). Emulated boards are not flashed: they start with the ELF when a session opens."""
    from mcukit.build import first_error_line, prepare_core
    from mcukit.build.pio import run_pio

    board = built.project.board
    args = ["run", "-d", str(built.project.directory), "-e", built.project.env_name, "-t", "upload"]
    if port:
        args += ["--upload-port", port]
    proc = run_pio(args, prepare_core(), timeout=300)
    if proc.returncode != 0:
        line = first_error_line(proc.stdout) or proc.stdout.strip().splitlines()[-1:]
        raise DeviceError(f"uploading to {board.name} failed: {line}",
                          "check the cable, press reset twice for the bootloader, or pass --port")
