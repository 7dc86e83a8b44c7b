"""Generated C and every portable kernel compile cleanly for each Cortex-M core with arm-none-eabi-gcc.

-Wall -Wextra -Werror -O2, compile only (-c). The dsp/ and mve/ variants are not portable and are not built here.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mcukit.hostbuild import kernel_sources
from mcukit.paths import firmware_include

CORES = {
    "cortex-m0plus": ["-mcpu=cortex-m0plus"],
    "cortex-m3": ["-mcpu=cortex-m3"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard"],
    "cortex-m55": ["-mcpu=cortex-m55", "-mfloat-abi=hard"],
}
CC = "arm-none-eabi-gcc"
FLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-mthumb"]

pytestmark = pytest.mark.skipif(shutil.which(CC) is None, reason=f"{CC} is not installed")


def _generated_dirs(tmp: Path) -> list[tuple[Path, int]]:
    """Folders of generated C (with their MK_SINGLE_ROUNDING) for the synthetic FC graph in both roundings."""
    from test_codegen import _fc_lower, fc_graph

    from mcukit.codegen import ops
    from mcukit.codegen.generate import generate
    from mcukit.codegen.kernel_call import KernelCall, LowerOptions

    table = dict(ops.registry())
    table.setdefault("FULLY_CONNECTED", _fc_lower())
    table.setdefault("RESHAPE", lambda op, g, o: KernelCall("", "", (), (), alias=True))
    saved = ops.registry
    ops.registry = lambda: table  # type: ignore[assignment]
    try:
        out = []
        for rounding, single in (("tflm", 0), ("litert", 1)):
            gen = generate(fc_graph(), LowerOptions(rounding=rounding), emit_flatbuffer=b"TFL3 not a real model")
            d = tmp / rounding
            d.mkdir()
            for name, text in gen.files.items():
                (d / name).write_text(text)
            out.append((d, single))
        return out
    finally:
        ops.registry = saved  # type: ignore[assignment]


def _compile(args: list[str]) -> str | None:
    proc = subprocess.run([CC, *args], capture_output=True, text=True, check=False)
    return None if proc.returncode == 0 else f"{' '.join(args)}\n{proc.stderr}"


@pytest.mark.parametrize("core", sorted(CORES))
def test_kernels_and_generated_model_cross_compile(core, tmp_path):
    inc = f"-I{firmware_include()}"
    jobs: list[list[str]] = []
    for single in (0, 1):
        for i, src in enumerate(kernel_sources()):
            obj = tmp_path / f"k{single}_{i}_{src.stem}.o"
            jobs.append([*FLAGS, *CORES[core], inc, f"-DMK_SINGLE_ROUNDING={single}", "-c", str(src), "-o", str(obj)])
    for d, single in _generated_dirs(tmp_path):
        for src in sorted(d.glob("*.c")):
            obj = d / (src.stem + ".o")
            jobs.append([*FLAGS, *CORES[core], inc, f"-I{d}", f"-DMK_SINGLE_ROUNDING={single}", "-c", str(src),
                         "-o", str(obj)])
            if src.name == "model.c":  # the profiling build too
                jobs.append([*FLAGS, *CORES[core], inc, f"-I{d}", f"-DMK_SINGLE_ROUNDING={single}", "-DMK_PROFILE",
                             "-c", str(src), "-o", str(d / "model_profile.o")])
    with ThreadPoolExecutor(max_workers=4) as pool:
        errors = [e for e in pool.map(_compile, jobs) if e]
    assert not errors, "\n".join(errors[:3])
    assert len(jobs) >= 2 * 4 + 2  # kernels may still be few, but the generated files are always there
