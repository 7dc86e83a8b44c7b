"""What counting instructions costs: QEMU wall time with and without the mk_icount plugin, per emulated board.

    .venv/bin/python benchmarks/icount_loops.py [ITERATIONS]

Builds a firmware that runs an inline-assembly multiply-accumulate loop (5 instructions per iteration,
ITERATIONS times, default 20 million) on each emulated board, then runs it in QEMU plain (run_elf) and with
the plugin (count_instructions). Columns: instructions counted, wall seconds plain / counted, their ratio, the
emulation rate with the plugin, and the model's estimated cycles for the loop.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MAIN_C = r"""
#include <stdint.h>
#include "mcukit/mk_hal.h"
#if defined(__ARM_FEATURE_DSP)
#define MK_MAC "smlad r3, r4, ip, r3\n"
#else
#define MK_MAC "mla r3, r4, ip, r3\n"
#endif
#define MK_UNUSED __attribute__((unused))
/* 5 instructions per iteration; the same 8-word window is read over and over */
__attribute__((naked, noinline)) uint32_t mk_bench_loop(MK_UNUSED const uint32_t *a, MK_UNUSED uint32_t n) {
    __asm volatile("push {r4, lr}\n movs r3, #0\n"
                   "1:\n ldr r4, [r0]\n ldr ip, [r0, #4]\n" MK_MAC "subs r1, r1, #1\n bne 1b\n"
                   "mov r0, r3\n pop {r4, pc}\n");
}
static uint32_t s_data[2] = {0x00030002u, 0x00050004u};
int mk_main(void) {
    mk_hal_init();
    volatile uint32_t sink = mk_bench_loop(s_data, MK_ITERATIONS);
    (void)sink;
    return 0;
}
"""

BOARDS = ("qemu-m3", "qemu-m4", "qemu-m7", "qemu-m55")


def main(iterations: int) -> None:
    from mcukit.boards import get_board
    from mcukit.build import build_project, env_ini, prepare_core
    from mcukit.device.qemu import run_elf
    from mcukit.measure import Marker, count_instructions, estimate_cycles

    with tempfile.TemporaryDirectory(prefix="mcukit-bench-icount-") as tmp:
        project = Path(tmp)
        (project / "src").mkdir()
        (project / "src" / "main.c").write_text(MAIN_C, encoding="utf-8")
        flags = ["-Werror", f"-DMK_ITERATIONS={iterations}u"]
        (project / "platformio.ini").write_text("\n".join(env_ini(get_board(b), build_flags=flags)
                                                          for b in BOARDS), encoding="utf-8")
        core = prepare_core()
        markers = (Marker("loop", "mk_bench_loop"), Marker("loop_end", "mk_bench_loop", "return"))
        print(f"{'board':9} {'instructions':>13} {'plain s':>8} {'counted s':>9} {'ratio':>6} {'MIPS':>6} "
              f"{'loop est. cycles':>17}  model")
        for name in BOARDS:
            board = get_board(name)
            fw = build_project(project, board=board, core=core)
            run_elf(board, fw.elf, timeout=600)  # warm the page cache
            t0 = time.monotonic()
            run_elf(board, fw.elf, timeout=600, icount_shift=0)
            plain = time.monotonic() - t0
            t0 = time.monotonic()
            counts = count_instructions(board, fw.elf, markers=markers, timeout=600)
            counted = time.monotonic() - t0
            (loop,) = counts.spans("loop", "loop_end")
            est = estimate_cycles(loop, board.core)
            print(f"{name:9} {counts.total:>13,} {plain:>8.2f} {counted:>9.2f} {counted / plain:>6.2f} "
                  f"{counts.total / counted / 1e6:>6.0f} {est.total:>17,.0f}  {est.model_name}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000)
