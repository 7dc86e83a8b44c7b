"""Concurrent firmware builds sharing one cache (and so one PlatformIO core), starting from an empty cache.

Users build in parallel: `mcukit test --jobs N`, two terminals, two CI jobs on one runner sharing ~/.cache/mcukit,
and two checkouts (git worktrees, or a source tree next to an installed wheel) whose local platform folders differ.
Each test starts worker processes that import mcukit, load a stored single-op model, wait for a common start
signal and then call `build_firmware`, so the builds really overlap, including the first-use setup of the core.

Before mcukit installed the local platform itself, PlatformIO kept ONE link per platform folder name in the core
(`platforms/platform-mcukit-qemu.pio-link`) and every `pio run` from another checkout re-pointed it: the SCons
half of a concurrent build then looked its platform up, found the other checkout's, and failed with
`UnknownPlatform` (or read the link half-written: `InvalidJSONFile`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deploy_helpers import OFFLINE_ENV, require_tools

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "tests" / "data" / "ops"

pytestmark = pytest.mark.slow

# A worker: build each model given on the command line for the board given first (use_cache: "1"/"0" second), after
# the parent says "go".
WORKER = r"""
import json, sys, time
from mcukit.boards import get_board
from mcukit.errors import McukitError
from mcukit.pipeline.firmware import build_firmware, load_model

board = get_board(sys.argv[1])
use_cache = sys.argv[2] == "1"
models = [load_model(path) for path in sys.argv[3:]]
print("ready", flush=True)
sys.stdin.readline()
for model in models:
    start = time.monotonic()
    try:
        built = build_firmware(model, board, use_cache=use_cache)
        result = {"model": model.name, "ok": True, "flash": built.firmware.sizes.flash_bytes}
    except McukitError as err:
        result = {"model": model.name, "ok": False, "error": str(err)}
    result["seconds"] = round(time.monotonic() - start, 2)
    print(json.dumps(result), flush=True)
"""


def _copy_checkout(dest: Path) -> Path:
    """A second copy of the package and its data folders: a second checkout/installation with other paths."""
    ignore = shutil.ignore_patterns("__pycache__", ".pio", "*.pyc")
    for name in ("mcukit", "boards", "firmware", "templates"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


def _run_concurrently(jobs: list[tuple[Path, str, list[Path]]], cache: Path, use_cache: bool = True
                      ) -> list[list[dict]]:
    """Start one worker per (checkout, board, models), release them together, return each one's results."""
    env = {**os.environ, **OFFLINE_ENV, "MCUKIT_CACHE_DIR": str(cache)}
    env.pop("MCUKIT_PIO_CORE_DIR", None)
    procs = []
    for checkout, board, models in jobs:
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, board, "1" if use_cache else "0", *map(str, models)], cwd=checkout,
            env={**env, "PYTHONPATH": str(checkout)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    try:
        for proc in procs:  # imports and model loading done: what follows is only building
            line = proc.stdout.readline()
            assert line.strip() == "ready", proc.stderr.read()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err
            results.append([json.loads(line) for line in out.splitlines() if line.strip()])
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def _assert_all_built(results: list[list[dict]], expected: int) -> None:
    flat = [r for worker in results for r in worker]
    assert len(flat) == expected
    failures = [f"{r['model']}: {r['error']}" for r in flat if not r["ok"]]
    assert not failures, "\n\n".join(failures)
    assert all(r["flash"] > 0 for r in flat)


def test_two_checkouts_build_at_once_from_a_cold_cache(tmp_path: Path) -> None:
    """Two processes from two checkouts share one fresh cache; each builds two models (the first from cold, the
    second with the core warm while the other checkout keeps building). All four builds must succeed, and the
    core must hold one platform link per checkout, each pointing at its own platform folder."""
    require_tools()
    other = _copy_checkout(tmp_path / "other-checkout")
    cache = tmp_path / "cache"
    start = time.monotonic()
    results = _run_concurrently([
        (ROOT, "qemu-m4", [OPS / "relu" / "relu_00.tflite", OPS / "add" / "add_00.tflite"]),
        (other, "qemu-m7", [OPS / "add" / "add_01.tflite", OPS / "relu" / "relu_01.tflite"]),
    ], cache)
    _assert_all_built(results, 4)
    links = sorted((cache / "platformio" / "platforms").glob("*.pio-link"))
    targets = {json.loads(p.read_text())["spec"]["uri"] for p in links}
    assert targets == {f"symlink://{(ROOT / 'boards' / 'platform-mcukit-qemu').resolve()}",
                       f"symlink://{(other / 'boards' / 'platform-mcukit-qemu').resolve()}"}
    assert len(links) == 2
    assert time.monotonic() - start < 300


def test_one_checkout_builds_two_models_and_one_folder_at_once(tmp_path: Path) -> None:
    """Same checkout, fresh cache: two different models at once (both set up the core on first use), then two
    processes building the very same project folder without the firmware cache, so both run `pio run` there
(serialized by the folder's lock; without it one of the two fails at link time, 4 times out of 4)."""
    require_tools()
    cache = tmp_path / "cache"
    results = _run_concurrently([
        (ROOT, "qemu-m4", [OPS / "relu" / "relu_02.tflite"]),
        (ROOT, "qemu-m55", [OPS / "add" / "add_02.tflite"]),
    ], cache)
    _assert_all_built(results, 2)
    same = OPS / "add" / "add_03.tflite"
    results = _run_concurrently([(ROOT, "qemu-m4", [same]), (ROOT, "qemu-m4", [same])], cache, use_cache=False)
    _assert_all_built(results, 2)
