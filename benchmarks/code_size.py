"""Flash of a deployed model, split into weights and runtime code, with a per-component breakdown.

    .venv/bin/python benchmarks/code_size.py [--models ds_cnn,kws] [--boards qemu-m4] [--variant optimized]
                                             [--json out.json]

Every model is built with `build_firmware` exactly as `mcukit deploy` builds it (the optimized lowering for the
board's ISA unless --variant portable), then its ELF is measured. Definitions (docs/memory.md, "Flash"):

  flash          every byte the ELF places in flash: the allocated, non-writable sections (.vectors, .text,
                 .ARM.exidx, .rodata, ...) plus the load image of .data
  weights        what the code generator emits as constant data: constant tensors (weights, biases) and the
                 kernel arrays a lowering precomputes (folded biases, requantization multipliers/shifts, lookup
                 tables); GeneratedModel.weights_bytes, which grows with the model
  runtime code   flash - weights: everything that is not the model's constant data, i.e. the generated model's
                 code and per-layer parameter structs, the kernels it calls, the protocol runtime, the HAL, the
                 vector table, string literals and the C library pieces linked in. The issue's target is
                 runtime code <= 16 KiB (16,384 bytes) for the DS-CNN on qemu-m4.

Breakdown by component, from the symbol table (`arm-none-eabi-nm -S -l`: each symbol's source file from the debug
info) of the flash-resident symbols:
  model     src/model/*.c except the weight arrays (invoke function, parameter structs, I/O tables, layer names)
  weights   src/model/model_weights.c (should equal `weights` above)
  kernels   firmware/src/kernels/**
  runtime   firmware/src/runtime/** and the project's src/main.c
  hal       firmware/src/hal/** (start-up, vector table, UART, SysTick, semihosting, fault report)
  libc      the toolchain's libgcc and newlib (memcpy, memset, ...)
  other     flash bytes no sized symbol covers: merged string literals, alignment padding, .ARM.exidx
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (ROOT, HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

TARGET_BYTES = 16 * 1024
COMPONENTS = ("model", "weights", "kernels", "runtime", "hal", "libc", "other")
SCHEMA = "mcukit.benchmarks.code_size/1"

_SHF_WRITE = 0x1
_SHF_ALLOC = 0x2


def flash_ranges(elf: Path) -> tuple[int, list[tuple[int, int, str]]]:
    """(flash bytes, [(start, end, section)] of the sections whose bytes live in flash)."""
    from elftools.elf.elffile import ELFFile

    total = 0
    ranges = []
    with open(elf, "rb") as fh:
        for sec in ELFFile(fh).iter_sections():
            flags, size = sec["sh_flags"], sec["sh_size"]
            if not flags & _SHF_ALLOC or size == 0:
                continue
            if flags & _SHF_WRITE and sec["sh_type"] == "SHT_NOBITS":
                continue  # .bss, .stack: RAM only
            total += size
            ranges.append((sec["sh_addr"], sec["sh_addr"] + size, sec.name))
    return total, ranges


def component_of(source: str) -> str:
    s = source.replace("\\", "/")
    if "newlib" in s or "libgcc" in s or "/gcc-arm-none-eabi" in s:
        return "libc"
    if "/src/model/model_weights." in s:
        return "weights"
    if "/src/model/" in s:
        return "model"
    if "/src/kernels/" in s:
        return "kernels"
    if "/src/hal/" in s:
        return "hal"
    if "/src/runtime/" in s or s.endswith("/src/main.c"):
        return "runtime"
    return "libc" if not s else "other"


_NM_LINE = re.compile(r"^([0-9a-f]+) ([0-9a-f]+) (\w) (\S+)(?:\t(.*))?$")


def symbols(elf: Path) -> list[tuple[int, int, str, str, str]]:
    """(address, size, type, name, source file) of every sized symbol, from arm-none-eabi-nm."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", "-l", "--defined-only", str(elf)], check=True,
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = _NM_LINE.match(line)
        if m:
            source = re.sub(r":\d+$", "", m.group(5) or "")
            rows.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4), source))
    return rows


def breakdown(elf: Path, top: int = 12) -> dict[str, Any]:
    flash, ranges = flash_ranges(elf)
    by: dict[str, int] = defaultdict(int)
    biggest: list[tuple[int, str, str]] = []
    seen: set[tuple[int, str]] = set()
    for addr, size, _kind, name, source in symbols(elf):
        if not any(lo <= addr < hi for lo, hi, _ in ranges) or (addr, name) in seen:
            continue
        seen.add((addr, name))
        comp = component_of(source)
        by[comp] += size
        if comp != "weights":
            biggest.append((size, name, comp))
    by["other"] = flash - sum(by.values())
    biggest.sort(reverse=True)
    return {"flash_bytes": flash, "components": {c: by.get(c, 0) for c in COMPONENTS},
            "largest_code_symbols": [{"name": n, "bytes": s, "component": c} for s, n, c in biggest[:top]]}


def measure(name: str, board_name: str, variant: str) -> dict[str, Any]:
    import speed_memory

    from mcukit.boards import get_board
    from mcukit.paths import cache_dir
    from mcukit.pipeline.firmware import build_firmware, load_model

    path, calib = speed_memory.model_path(name)
    model = load_model(path, calib)
    board = get_board(board_name)
    target = speed_memory.portable_board(board) if variant == "portable" else board
    folder = cache_dir() / "projects" / f"bench-{model.name}-{model.graph.sha256[:12]}-{board.name}-{variant}"
    built = build_firmware(model, target, project_dir=folder)
    b = breakdown(built.firmware.elf)
    weights = built.generated.weights_bytes
    code = b["flash_bytes"] - weights
    return {"model": name, "board": board_name, "variant": variant, "flash_bytes": b["flash_bytes"],
            "weights_bytes": weights, "runtime_code_bytes": code, "target_bytes": TARGET_BYTES,
            "meets_target": code <= TARGET_BYTES, "components": b["components"],
            "largest_code_symbols": b["largest_code_symbols"],
            "kernels": sorted({c.kernel for c in built.generated.calls if c.kernel and not c.alias})}


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'model':<8} {'board':<9} {'variant':<9} {'flash':>8} {'weights':>8} {'code':>7} {'<=16K':>5}  "
          + " ".join(f"{c:>8}" for c in COMPONENTS))
    for r in rows:
        if "error" in r:
            print(f"{r['model']:<8} {r['board']:<9} {r['variant']:<9} ERROR {r['error']}")
            continue
        comps = " ".join(f"{r['components'][c]:>8,}" for c in COMPONENTS)
        print(f"{r['model']:<8} {r['board']:<9} {r['variant']:<9} {r['flash_bytes']:>8,} {r['weights_bytes']:>8,} "
              f"{r['runtime_code_bytes']:>7,} {'yes' if r['meets_target'] else 'NO':>5}  {comps}")
    for r in rows:
        if "error" in r:
            continue
        print(f"\nlargest code symbols, {r['model']} on {r['board']} ({r['variant']}):")
        for s in r["largest_code_symbols"]:
            print(f"  {s['bytes']:>6,}  {s['component']:<8} {s['name']}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="ds_cnn,kws", help="comma-separated (see benchmarks/speed_memory.py)")
    ap.add_argument("--boards", default="qemu-m4", help="comma-separated board names")
    ap.add_argument("--variant", default="optimized", choices=("optimized", "portable"))
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    from mcukit import __version__

    rows = []
    t0 = time.monotonic()
    for name in args.models.split(","):
        for b in args.boards.split(","):
            try:
                rows.append(measure(name, b, args.variant))
            except Exception as exc:  # noqa: BLE001 - a benchmark reports a failed cell and goes on
                rows.append({"model": name, "board": b, "variant": args.variant,
                             "error": f"{type(exc).__name__}: {exc}"})
    print_rows(rows)
    print(f"\nruntime code = flash - weights (docs/memory.md, 'Flash'); target {TARGET_BYTES:,} bytes; "
          f"{time.monotonic() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"schema": SCHEMA, "mcukit_version": __version__, "results": rows},
                                        indent=1) + "\n")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
