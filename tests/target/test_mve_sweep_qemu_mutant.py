"""The qemu-m55 sweep can fail on the Helium kernels: the sweep models that run the Helium GEMM conv and 3x3
depthwise kernels, built from a COPY of the firmware tree with kernel lines changed, mismatch the reference,
while the same models built from the real tree match it.

Three mutations, each a slip of the kind the sweep exists to catch: the GEMM group loop's epilogue (mk_mve_gemm.h,
layers whose shifts are all negative) loses the tie fix of the rounding divide for the first pixel of each pair
(negative ties round up instead of away from zero, a rare 1-LSB error); the depthwise kernel's all-negative-shift
epilogue loses the same tie fix; its general epilogue (layers with a shift >= 0: tests/data/ops/mve_special cases
16 and 19) skips the left shift of the second pixel's even channels. The "ONE line" is one line per mutation, all
applied to one copy in a temporary folder; the real kernel files are never touched.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from dsp_sweep import build_sweep, check_outputs, parse_uart, sweep_models

from mcukit.boards import get_board
from mcukit.build import PioCore
from mcukit.codegen.ops._isa import MVE_DW3X3_KERNEL, MVE_GEMM_KERNELS
from mcukit.device.qemu import run_elf
from mcukit.paths import data_dir

pytestmark = pytest.mark.slow

BOARD = "qemu-m55"
ROUNDING = "tflm"
KERNELS = (*MVE_GEMM_KERNELS, MVE_DW3X3_KERNEL)
_DW = Path("src/kernels/mve/mk_depthwise_conv_3x3_s8_mve.c")
MUTATIONS = (  # (file in the firmware tree, original line, mutant)
    # GEMM, the group loop's all-negative-shift epilogue (assembly): the tie fix dropped for row a
    (Path("src/kernels/mve/mk_mve_gemm.h"),
     '#define MK_MVE_GEMM_TIE_FAST_A "vshr.s32 q2, q0, #31\\n\\t" "vadd.i32 q0, q0, q2\\n\\t"\n',
     '#define MK_MVE_GEMM_TIE_FAST_A ""\n'),
    # depthwise, all-negative-shift epilogue (assembly): the tie fix dropped for every accumulator
    (_DW, '#define MK_DW_TIE_FAST(A) "vshr.s32 q4, " A ", #31\\n\\t" "vadd.i32 " A ", " A ", q4\\n\\t"\n',
     '#define MK_DW_TIE_FAST(A) ""\n'),
    # depthwise, general epilogue of pixel pairs: pixel b's even channels lose their left shift
    (_DW, '    "vshl.s32 q2, q2, q4\\n\\t"' + " " * 87 + "\\\n", '    ""' + " " * 112 + "\\\n"),
)


def _mutant_tree(dst: Path) -> Path:
    src = data_dir("firmware")
    tree = dst / "firmware"
    for sub in ("include", "src/kernels", "src/hal/qemu_mps2"):
        shutil.copytree(src / sub, tree / sub)
    for rel, original, mutant in MUTATIONS:
        text = (tree / rel).read_text()
        assert text.count(original) == 1, f"the mutation site in {rel} moved: update MUTATIONS in {__file__}"
        (tree / rel).write_text(text.replace(original, mutant))
    return tree


def test_sweep_catches_helium_kernel_mutations(pio_core: PioCore, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    board = get_board(BOARD)
    models = tuple(m for m in sweep_models(tuple(board.isa.features)) if set(m.kernels) & set(KERNELS))
    assert {k for m in models for k in m.kernels} >= set(KERNELS)
    tree = _mutant_tree(tmp_path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        good_f = pool.submit(build_sweep, board, ROUNDING, pio_core, models=models, selfcheck=None, tag="mve-good")
        bad_f = pool.submit(build_sweep, board, ROUNDING, pio_core, models=models, selfcheck=None, firmware=tree,
                            tag="mve-mutant")
        good, bad = good_f.result(), bad_f.result()
    assert bad.elf != good.elf

    result = run_elf(board, good.elf, timeout=120)
    assert result.status == 0, (result.status, result.fault)
    assert check_outputs(good, parse_uart(result.uart.decode("latin-1"))) == []

    result = run_elf(board, bad.elf, timeout=120)
    assert result.status == 0, (result.status, result.fault)
    failures = check_outputs(bad, parse_uart(result.uart.decode("latin-1")))
    with capsys.disabled():
        print(f"\nmve mutant sweep: {len(models)} models x {bad.samples} samples, {len(failures)} mismatching "
              f"(model, sample, output) triples with the mutated kernels, 0 with the real ones")
    assert all("values differ" in f for f in failures), failures[:3]
    # Both mutated kernels are caught, not only one of them.
    for kernel in (MVE_GEMM_KERNELS, (MVE_DW3X3_KERNEL,)):
        assert any(any(k in f.rsplit("kernels", 1)[1] for k in kernel) for f in failures), (kernel, failures[:5])
