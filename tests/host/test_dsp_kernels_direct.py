"""Differential test of every DSP kernel variant against its portable twin on thousands of random layers.

The stored model sweep (test_dsp_kernels.py) cannot reach every specialised path (no stored model is a 3x3,
depth-multiplier-1 depthwise conv, and few channel counts exercise the 4-wide tails), so tests/host/
dsp_selfcheck.c draws random shapes, strides, paddings, offsets, multipliers and broadcast patterns, runs the
portable kernel and each variant that accepts the shape, and counts differing outputs. The portable kernels are
checked bit for bit against the references by the op sweeps, so equality here is bit-exactness. The same C file
runs on the emulated boards in tests/target/test_dsp_qemu.py (real DSP and Helium instructions there).
"""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import pytest

from mcukit.hostbuild import kernel_archive
from mcukit.paths import firmware_include

SELFCHECK_C = Path(__file__).resolve().parent / "dsp_selfcheck.c"
# Order of the SC_* enum in dsp_selfcheck.c.
KERNELS = ("conv_dsp", "conv_1x1_dsp", "depthwise_dsp", "depthwise_3x3_dsp", "fully_connected_dsp",
           "avg_pool_dsp", "max_pool_dsp", "add_dsp", "conv_mve", "depthwise_mve", "fully_connected_mve",
           "conv_im2col_dsp", "requantize_dsp", "depthwise_3x3_folded_dsp", "requantize_short_dsp",
           "conv_wide_dsp", "add_lut_dsp", "fc_wide_dsp", "conv_wide_w8_dsp", "conv_wino_dsp", "depthwise_3x3_pairs_dsp",
           "depthwise_3x3_pairs_relu_dsp")
HOST_KERNELS = KERNELS[:8] + KERNELS[11:]  # the host has no Helium
TRIALS = 300


@pytest.fixture(scope="module", params=("tflm", "litert"))
def selfcheck(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    rounding = request.param
    archive = kernel_archive(rounding, ("dsp",))
    lib = tmp_path_factory.mktemp(f"selfcheck-{rounding}") / "selfcheck.so"
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
                    f"-DMK_SINGLE_ROUNDING={1 if rounding == 'litert' else 0}", f"-I{firmware_include()}",
                    str(SELFCHECK_C), str(archive), "-o", str(lib)], check=True, capture_output=True, text=True)
    dll = ctypes.CDLL(str(lib))
    dll.mk_dsp_selfcheck.restype = ctypes.c_int32
    dll.mk_dsp_selfcheck.argtypes = [ctypes.c_uint32, ctypes.c_int32]
    return dll


def _counts(dll: ctypes.CDLL, name: str) -> list[int]:
    arr = (ctypes.c_int32 * len(KERNELS)).in_dll(dll, name)
    return list(arr)


@pytest.mark.parametrize("seed", (1, 0xC0FFEE, 20240611))
def test_dsp_variants_equal_portable(selfcheck: ctypes.CDLL, seed: int) -> None:
    fails = selfcheck.mk_dsp_selfcheck(seed, TRIALS)
    runs = dict(zip(KERNELS, _counts(selfcheck, "mk_sc_runs")))
    failed = {k: v for k, v in zip(KERNELS, _counts(selfcheck, "mk_sc_fails")) if v}
    assert fails == 0 and not failed, f"variants differ from the portable kernels: {failed} (runs {runs})"
    # Every host variant must really have run (a generator bug must not turn the test into a no-op).
    for k in HOST_KERNELS:
        assert runs[k] >= TRIALS // 10, (k, runs)
