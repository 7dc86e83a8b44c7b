"""Build the mk_icount QEMU plugin (firmware/tools/qemu_plugin) with the host C compiler, once per source version.

The plugin is C compiled against a small hand-written declaration of QEMU's plugin API (distributions ship the
emulator without its plugin header). The shared library lands in `cache_dir()/qemu-plugin/<hash>/libmkicount.so`,
where the hash covers the sources and the flags, so an edited plugin is rebuilt and an unchanged one never is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mcukit.errors import CompileError, DependencyError
from mcukit.paths import cache_dir, data_dir

PLUGIN_SOURCES = ("mk_icount.c", "mk_classify.c")
PLUGIN_HEADERS = ("mk_classify.h", "mk_mve_patterns.h", "mk_qemu_plugin_api.h")
CFLAGS = ("-std=c99", "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra")


def plugin_source_dir() -> Path:
    return data_dir("firmware") / "tools" / "qemu_plugin"


def find_host_cc() -> str:
    """The host C compiler: $CC if set, else gcc, else cc."""
    for name in (os.environ.get("CC"), "gcc", "cc"):
        if name:
            path = shutil.which(name)
            if path is not None:
                return path
    raise DependencyError(
        "no host C compiler found (gcc is needed to build the QEMU instruction-count plugin)",
        "on Debian/Ubuntu: sudo apt-get install gcc (or set CC to a C compiler)",
    )


def _digest(files: tuple[str, ...], extra: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    src = plugin_source_dir()
    for name in files:
        h.update(name.encode())
        h.update((src / name).read_bytes())
    for item in extra:
        h.update(item.encode())
    return h.hexdigest()[:16]


def _build(sources: tuple[str, ...], lib_name: str, cflags: tuple[str, ...]) -> Path:
    files = (*sources, *PLUGIN_HEADERS)
    missing = [n for n in files if not (plugin_source_dir() / n).is_file()]
    if missing:
        raise CompileError(f"QEMU plugin sources missing from {plugin_source_dir()}: {', '.join(missing)}",
                           "reinstall mcukit")
    out_dir = cache_dir() / "qemu-plugin" / _digest(files, cflags)
    target = out_dir / lib_name
    if target.is_file():
        return target
    cc = find_host_cc()
    out_dir.mkdir(parents=True, exist_ok=True)
    # Build into a temporary name and rename: concurrent builds (parallel tests) never see a half-written library.
    fd, tmp = tempfile.mkstemp(prefix=lib_name + ".", suffix=".tmp", dir=out_dir)
    os.close(fd)
    cmd = [cc, *cflags, *[str(plugin_source_dir() / s) for s in sources], "-o", tmp]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise CompileError(f"building the QEMU plugin failed: {(proc.stderr or proc.stdout).strip()[:2000]}",
                               f"command: {' '.join(cmd)}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def build_plugin() -> Path:
    """Path of libmkicount.so for the current sources, compiling it on first use."""
    return _build(PLUGIN_SOURCES, "libmkicount.so", CFLAGS)


def build_classifier_library() -> Path:
    """The instruction classifier alone as a host shared library (for tests through ctypes; no QEMU symbols)."""
    return _build(("mk_classify.c",), "libmkclassify.so", (*CFLAGS, "-fvisibility=default"))
