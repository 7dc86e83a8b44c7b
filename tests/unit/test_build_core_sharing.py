"""What mcukit writes into a shared PlatformIO core, checked without running `pio` (tests/target/
test_build_concurrency.py runs real concurrent builds): one platform link per platform folder, written once and
in a form PlatformIO's own package manager accepts, and shims refreshed without ever removing the toolchain."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import mcukit.boards as boards_module
from mcukit.boards import get_board
from mcukit.build import pio
from mcukit.build.pio import PioCore, ensure_platform_available, link_local_platform, prepare_core
from mcukit.paths import data_dir


def _core(tmp_path: Path) -> PioCore:
    return PioCore(tmp_path / "core", {})


def _board_from_copy(monkeypatch: pytest.MonkeyPatch, root: Path):
    """qemu-m4 as seen from a second checkout whose boards/ folder is `root / "boards"`."""
    shutil.copytree(data_dir("boards") / "platform-mcukit-qemu", root / "boards" / "platform-mcukit-qemu")
    monkeypatch.setattr(boards_module, "data_dir", lambda name: root / name)
    return get_board("qemu-m4")


def _pio_finds(core: PioCore, spec: str) -> Path | None:
    """Where PlatformIO's package manager (as `pio run` and its SCons half use it) finds the platform `spec`."""
    from platformio.package.manager.platform import PlatformPackageManager

    manager = PlatformPackageManager(package_dir=str(core.platforms_dir))
    manager.memcache_reset()
    pkg = manager.get_package(spec)
    return Path(pkg.path) if pkg else None


def test_each_platform_folder_gets_its_own_link_that_platformio_accepts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    core = _core(tmp_path)
    here = get_board("qemu-m4")
    here_link = link_local_platform(here, core)
    here_spec = here.platformio.platform_spec
    there = _board_from_copy(monkeypatch, tmp_path / "other")
    there_link = link_local_platform(there, core)
    there_spec = there.platformio.platform_spec

    assert here_spec != there_spec and here_link != there_link
    assert sorted(core.platforms_dir.iterdir()) == sorted([here_link, there_link])
    assert _pio_finds(core, here_spec) == (data_dir("boards") / "platform-mcukit-qemu").resolve()
    assert _pio_finds(core, there_spec) == (tmp_path / "other" / "boards" / "platform-mcukit-qemu").resolve()


def test_link_is_written_once_and_repaired_when_wrong(tmp_path: Path) -> None:
    core = _core(tmp_path)
    board = get_board("qemu-m4")
    link = link_local_platform(board, core)
    before = link.stat()
    ensure_platform_available(board, core)  # what build_project calls before every `pio run`
    after = link.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    link.write_text("{")  # half-written by an old PlatformIO/mcukit: replaced, not trusted
    link_local_platform(board, core)
    assert json.loads(link.read_text())["spec"]["uri"].startswith("symlink:///")
    assert _pio_finds(core, board.platformio.platform_spec) is not None
    assert not [p for p in core.platforms_dir.iterdir() if p.name.endswith(".tmp")]


def test_refreshing_the_core_never_removes_the_toolchain(tmp_path: Path) -> None:
    core = prepare_core(tmp_path / "core")
    bin_dir = core.packages_dir / pio.TOOLCHAIN_PACKAGE / "bin"
    gcc = bin_dir / "arm-none-eabi-gcc"
    stale = bin_dir / "arm-none-eabi-gone"
    stale.symlink_to(gcc.resolve())
    inode = bin_dir.stat().st_ino
    (core.core_dir / ".mcukit-core").write_text("{}")  # as if another mcukit version had prepared it
    prepare_core(core.core_dir)
    assert bin_dir.stat().st_ino == inode  # the folder was updated in place, not deleted and recreated
    assert gcc.is_symlink() and gcc.resolve().is_file()
    assert not stale.exists() and not stale.is_symlink()


def test_firmware_cache_entry_published_by_racing_writers(tmp_path: Path) -> None:
    """Several writers publish the same fingerprint at once (two project folders, same model and board) while
    readers look it up: no writer fails, a reader sees a complete entry or none, no temporary folder is left."""
    import threading

    from mcukit.pipeline.firmware import _cached_sizes, publish_firmware

    elf = Path(shutil.which("true") or "/bin/true")
    if not elf.is_file() or elf.read_bytes()[:4] != b"\x7fELF":
        pytest.skip("needs an ELF executable to publish")
    entry = tmp_path / "firmware" / "0123abcd"
    errors: list[BaseException] = []
    seen: list[dict | None] = []

    def write(replace: bool) -> None:
        try:
            for _ in range(10):
                publish_firmware(elf, entry, replace=replace)
        except BaseException as err:  # noqa: BLE001 - collected for the assertion below
            errors.append(err)

    def read() -> None:
        try:
            while not writers_done.is_set():
                seen.append(_cached_sizes(entry))
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    writers_done = threading.Event()
    writers = [threading.Thread(target=write, args=(i % 2 == 0,)) for i in range(6)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    writers_done.set()
    for thread in readers:
        thread.join()
    assert not errors, errors
    assert any(s is not None for s in seen)
    assert all(s is None or s["flash_bytes"] > 0 for s in seen)
    assert _cached_sizes(entry) is not None
    assert sorted(p.name for p in entry.parent.iterdir() if p.is_dir()) == [entry.name]
