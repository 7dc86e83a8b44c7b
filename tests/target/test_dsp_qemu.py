"""The optimized kernels on the emulated boards, bit for bit, over the WHOLE stored sweep that exercises them:
qemu-m4 (Cortex-M4, DSP), qemu-m7 (Cortex-M7, DSP) and qemu-m55 (Cortex-M55, DSP + Helium), each in both rounding
modes, each compared with the reference of its mode (oracle "tflm": double rounding; "litert": single rounding).

One firmware per (board, rounding) (tests/target/dsp_sweep.py) holds every stored single-op model whose lowering
for the board's ISA calls a *_dsp or *_mve kernel (conv, depthwise, fully connected, pools, add, the QUANTIZE/ADD
float-I/O model, tests/data/ops/dsp_special when present: 177 models today), each run on 8 seeded random
inputs, plus the differential self-check of tests/host/dsp_selfcheck.c (random layers, variant vs portable kernel)
with the real DSP and Helium instructions. The firmwares are built in parallel (two at a time) as soon as the
module starts, and cached by content, so a second run only generates the C, hashes it and runs QEMU.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from dsp_sweep import (
    SweepBuild,
    build_sweep,
    check_outputs,
    parse_uart,
    selfcheck_counts,
    selfcheck_kernels,
    sweep_models,
)

from mcukit.boards import get_board
from mcukit.build import PioCore
from mcukit.codegen.ops._isa import MVE_DW3X3_KERNEL, MVE_GEMM_KERNELS
from mcukit.device.qemu import run_elf

pytestmark = pytest.mark.slow

BOARDS = ("qemu-m4", "qemu-m7", "qemu-m55")
ROUNDINGS = ("tflm", "litert")
BUILD_WORKERS = 2
# Op kinds the stored sweep must run through an optimized kernel on every DSP board, so a lowering change that
# silently falls back to the portable kernels fails here. (Kernel names are not pinned: they change as kernels are
# specialised; the test checks whatever the lowerings pick.)
MUST_RUN = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD"}


def _selected(session: pytest.Session) -> list[tuple[str, str]]:
    """(board, rounding) of this module's tests that will run (after -k / deselection), in run order."""
    out = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is not None and item.module.__name__ == __name__ and callspec is not None:
            key = (callspec.params["board_name"], callspec.params["rounding"])
            if key not in out:
                out.append(key)
    return out


@pytest.fixture(scope="module")
def sweep_builds(request: pytest.FixtureRequest, pio_core: PioCore) -> Iterator[dict[tuple[str, str], Future]]:
    """Start every selected (board, rounding) build at once on a small pool; each test waits for its own."""
    pool = ThreadPoolExecutor(max_workers=BUILD_WORKERS, thread_name_prefix="dsp-sweep-build")
    futures = {key: pool.submit(build_sweep, get_board(key[0]), key[1], pio_core)
               for key in _selected(request.session)}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def _nm(build: SweepBuild) -> str:
    return subprocess.run(["arm-none-eabi-nm", str(build.elf)], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("board_name", BOARDS)
def test_variants_bit_exact_on_board(board_name: str, rounding: str, sweep_builds: dict[tuple[str, str], Future],
                                     pio_core: PioCore, capsys: pytest.CaptureFixture[str],
                                     record_property: Any) -> None:
    board = get_board(board_name)
    started = time.monotonic()
    future = sweep_builds.get((board_name, rounding))
    build: SweepBuild = future.result() if future else build_sweep(board, rounding, pio_core)
    waited = time.monotonic() - started

    # Every model that would pick an optimized kernel is in; the firmware really contains those kernels.
    assert build.models == sweep_models(tuple(board.isa.features))
    used = Counter(k for m in build.models for k in m.kernels)
    kinds = {kind for m in build.models for kind in m.kinds}
    assert MUST_RUN <= kinds, f"no optimized kernel for {sorted(MUST_RUN - kinds)} on {board_name}"
    assert any(k.endswith("_mve") for k in used) == board.isa.mve, sorted(used)
    if board.isa.mve:  # the Helium GEMM conv and 3x3 depthwise kernels (tests/data/ops/mve_special) run here
        assert {*MVE_GEMM_KERNELS, MVE_DW3X3_KERNEL} <= set(used), sorted(used)
    symbols = _nm(build)
    missing = [k for k in used if not re.search(rf"\b{k}\b", symbols)]
    assert not missing, f"kernels missing from the {board_name} firmware: {missing}"

    t0 = time.monotonic()
    result = run_elf(board, build.elf, timeout=120)
    run_s = time.monotonic() - t0
    assert result.status == 0, (result.status, result.fault, result.uart[-300:], result.output[-500:])
    transcript = parse_uart(result.uart.decode("latin-1"))
    t0 = time.monotonic()
    failures = check_outputs(build, transcript)
    check_s = time.monotonic() - t0

    counts = selfcheck_counts(transcript)
    outputs = len(transcript.outputs)
    line = (f"dsp sweep {board_name}/{rounding}: {len(build.models)} models x {build.samples} samples "
            f"({outputs} outputs), {len(failures)} mismatching; optimized kernels {dict(sorted(used.items()))}; "
            f"build {'cached' if build.cached else f'{build.build_seconds:.1f} s'} (waited {waited:.1f} s), "
            f"QEMU {run_s:.1f} s, reference+compare {check_s:.1f} s, flash {build.flash_bytes} B, "
            f"RAM {build.ram_bytes} B; self-check runs/fails {transcript.selfcheck[3:]}")
    record_property("dsp_sweep", line)  # in JUnit XML
    with capsys.disabled():  # and on the terminal, also when the test passes
        print(f"\n{line}")
    assert not failures, "\n".join(failures[:40])

    # Self-check: every variant this board has ran on random layers and matched the portable kernel.
    assert transcript.done == "DONE 0", (transcript.done, transcript.selfcheck)
    assert set(counts) == set(selfcheck_kernels()), transcript.selfcheck
    for name, (runs, fails) in counts.items():
        assert fails == 0, (name, counts)
        should_run = not name.endswith("_mve") or board.isa.mve
        assert (runs > 0) == should_run, (name, counts)
