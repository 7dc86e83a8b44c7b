"""The QEMU sweep can fail: the full qemu-m4 sweep firmware built from a COPY of the firmware tree with ONE constant
changed in the DSP requantization mismatches the reference, while the same firmware from the real tree (the
build test_dsp_qemu.py makes, reused from the content cache) matches it.

The mutation makes mk_dsp_requantize (the double-rounding requantization of the DSP conv, depthwise and fully
connected kernels) round negative ties down instead of up: it changes a result only when the rounding divide
lands exactly on a half, i.e. the kind of rare 1-LSB slip the sweep exists to catch. It is applied to a copy in a
temporary folder; the real kernel files are never touched.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from dsp_sweep import build_sweep, check_outputs, parse_uart, selfcheck_counts

from mcukit.boards import get_board
from mcukit.build import PioCore
from mcukit.device.qemu import run_elf
from mcukit.paths import data_dir

pytestmark = pytest.mark.slow

BOARD = "qemu-m4"
ROUNDING = "tflm"  # mk_dsp_requantize is the double-rounding (TFLM) path
HEADER = Path("include") / "mcukit" / "mk_kernels_dsp.h"
ORIGINAL = "const int32_t threshold = (mask >> 1) + (h < 0 ? 1 : 0);"
MUTANT = "const int32_t threshold = (mask >> 1) + (h < 0 ? 0 : 0);"


def _mutant_tree(dst: Path) -> Path:
    src = data_dir("firmware")
    tree = dst / "firmware"
    for sub in ("include", "src/kernels", "src/hal/qemu_mps2"):
        shutil.copytree(src / sub, tree / sub)
    header = tree / HEADER
    text = header.read_text()
    assert text.count(ORIGINAL) == 1, f"the mutation site moved: update ORIGINAL in {__file__}"
    header.write_text(text.replace(ORIGINAL, MUTANT))
    return tree


def test_sweep_catches_a_one_constant_kernel_mutation(pio_core: PioCore, tmp_path: Path) -> None:
    board = get_board(BOARD)
    tree = _mutant_tree(tmp_path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        good_f = pool.submit(build_sweep, board, ROUNDING, pio_core)
        bad_f = pool.submit(build_sweep, board, ROUNDING, pio_core, firmware=tree, tag="mutant")
        good, bad = good_f.result(), bad_f.result()
    assert bad.elf != good.elf and bad.models == good.models

    result = run_elf(board, good.elf, timeout=120)
    assert result.status == 0, (result.status, result.fault)
    assert check_outputs(good, parse_uart(result.uart.decode("latin-1"))) == []

    result = run_elf(board, bad.elf, timeout=120)
    assert result.status == 0, (result.status, result.fault)
    transcript = parse_uart(result.uart.decode("latin-1"))
    failures = check_outputs(bad, transcript)
    assert failures, ("the sweep did not notice a mutated requantization (if no DSP kernel calls mk_dsp_requantize "
                      "any more, move the mutation to the requantization they use)")
    # The mismatches are value slips in the outputs of the mutated kernels, not a broken transcript...
    assert all("values differ" in f for f in failures), failures[:3]
    assert all("_dsp" in f.rsplit("kernels", 1)[1] for f in failures), failures[:3]
    # ...and the on-target self-check (mk_dsp_requantize vs mk_requantize on edge values) sees it too.
    assert selfcheck_counts(transcript)["requant_dsp"][1] > 0, transcript.selfcheck
    assert transcript.done != "DONE 0"
