"""Regenerate mk_mve_patterns.h: mask/value pairs of the Helium (MVE) multiply and multiply-accumulate encodings.

    python3 gen_mve_patterns.py > mk_mve_patterns.h

QEMU 7.2's disassembler predates Armv8.1-M and prints Helium instructions as ".byte"/"ldc"/"cdp", so mk_classify.c
recognises them from their encoding. Each instruction form below is assembled with arm-none-eabi-as
(-march=armv8.1-m.main+mve.fp) with several register choices; the bits common to all of them form the pattern.
A few non-multiplying forms whose encodings overlap a multiply pattern are listed first as "alu" patterns.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

S, U = ("s8", "s16", "s32"), ("u8", "u16", "u32")
# Register choices in which every bit of every register field is 0 once and 1 once, so that only the opcode bits
# stay constant across the variants of a form.
RDA = ((0, 0, 0), (14, 7, 7), (10, 5, 2))  # even Rda, Qn, Qm
PAIR = ((0, 1, 0, 0), (6, 11, 7, 7), (10, 7, 5, 2), (12, 3, 2, 5))  # RdaLo, RdaHi, Qn, Qm
QQR = ((0, 0, 0), (7, 7, 14), (5, 2, 11))  # Qd, Qn, Rm
QQQ = ((0, 0, 0), (7, 7, 7), (5, 2, 3))  # Qd, Qn, Qm


def mac_groups() -> dict[str, list[str]]:
    g: dict[str, list[str]] = {}
    for a in ("", "a"):
        for x in ("", "x"):
            for t in S:
                g[f"vmladav{a}{x}.{t}"] = [f"vmladav{a}{x}.{t} r{r}, q{n}, q{m}" for r, n, m in RDA]
                g[f"vmlsdav{a}{x}.{t}"] = [f"vmlsdav{a}{x}.{t} r{r}, q{n}, q{m}" for r, n, m in RDA]
            for t in ("s16", "s32"):
                for op in ("vmlaldav", "vmlsldav"):
                    g[f"{op}{a}{x}.{t}"] = [f"{op}{a}{x}.{t} r{lo}, r{hi}, q{n}, q{m}" for lo, hi, n, m in PAIR]
        for t in U:
            g[f"vmladav{a}.{t}"] = [f"vmladav{a}.{t} r{r}, q{n}, q{m}" for r, n, m in RDA]
        for t in ("u16", "u32"):
            g[f"vmlaldav{a}.{t}"] = [f"vmlaldav{a}.{t} r{lo}, r{hi}, q{n}, q{m}" for lo, hi, n, m in PAIR]
        ops = ("vrmlaldavh", "vrmlaldavhx", "vrmlsldavh", "vrmlsldavhx") if not a else ("vrmlaldavh", "vrmlsldavh")
        for op in ops:
            g[f"{op}{a}.s32"] = [f"{op}{a}.s32 r{lo}, r{hi}, q{n}, q{m}" for lo, hi, n, m in PAIR]
        g[f"vrmlaldavh{a}.u32"] = [f"vrmlaldavh{a}.u32 r{lo}, r{hi}, q{n}, q{m}" for lo, hi, n, m in PAIR]
    for op in ("vmla", "vmlas"):
        for t in S + U:
            g[f"{op}.{t}"] = [f"{op}.{t} q{d}, q{n}, r{r}" for d, n, r in QQR]
    for t in ("i8", "i16", "i32"):
        g[f"vmul.{t} qr"] = [f"vmul.{t} q{d}, q{n}, r{r}" for d, n, r in QQR]
        g[f"vmul.{t}"] = [f"vmul.{t} q{d}, q{n}, q{m}" for d, n, m in QQQ]
    for op in ("vqdmulh", "vqrdmulh", "vqdmlah", "vqrdmlah", "vqdmlash", "vqrdmlash"):
        for t in S:
            g[f"{op}.{t} qr"] = [f"{op}.{t} q{d}, q{n}, r{r}" for d, n, r in QQR]
    for op in ("vqdmulh", "vqrdmulh"):
        for t in S:
            g[f"{op}.{t}"] = [f"{op}.{t} q{d}, q{n}, q{m}" for d, n, m in QQQ]
    for op in ("vmullb", "vmullt", "vmulh", "vrmulh"):
        for t in S + U:
            g[f"{op}.{t}"] = [f"{op}.{t} q{d}, q{n}, q{m}" for d, n, m in QQQ]
    for op in ("vqdmladh", "vqdmladhx", "vqrdmladh", "vqrdmladhx", "vqdmlsdh", "vqrdmlsdh", "vqdmlsdhx",
               "vqrdmlsdhx"):
        for t in S:
            g[f"{op}.{t}"] = [f"{op}.{t} q{d}, q{n}, q{m}" for d, n, m in QQQ]
    for op in ("vqdmullb", "vqdmullt"):
        for t in ("s16", "s32"):
            g[f"{op}.{t}"] = [f"{op}.{t} q{d}, q{n}, q{m}" for d, n, m in QQQ]
            g[f"{op}.{t} qr"] = [f"{op}.{t} q{d}, q{n}, r{m}" for d, n, m in QQQ]
    for t in ("f32", "f16"):
        for op in ("vfma", "vfms", "vmul"):
            g[f"{op}.{t}"] = [f"{op}.{t} q{d}, q{n}, q{m}" for d, n, m in QQQ]
        for op in ("vfma", "vfmas", "vmul"):
            g[f"{op}.{t} qr"] = [f"{op}.{t} q{d}, q{n}, r{m}" for d, n, m in QQQ]
        for op in ("vcmul", "vcmla"):
            g[f"{op}.{t}"] = [f"{op}.{t} q{d}, q{n}, q{m}, #90" for d, n, m in QQQ]
    return g


def alu_groups() -> dict[str, list[str]]:
    g: dict[str, list[str]] = {}
    for op in ("vmaxv", "vminv"):
        for t in S + U:
            g[f"{op}.{t}"] = [f"{op}.{t} r{r}, q{n}" for r, n, _ in RDA]
    for op in ("vmaxav", "vminav"):
        for t in S:
            g[f"{op}.{t}"] = [f"{op}.{t} r{r}, q{n}" for r, n, _ in RDA]
    return g


def encodings(lines: list[str]) -> list[int]:
    with tempfile.TemporaryDirectory() as tmp:
        src, obj = Path(tmp) / "f.s", Path(tmp) / "f.o"
        src.write_text(".syntax unified\n.thumb\n" + "\n".join(lines) + "\n")
        subprocess.run(["arm-none-eabi-as", "-march=armv8.1-m.main+mve.fp", "-mthumb", str(src), "-o", str(obj)],
                       check=True)
        dump = subprocess.run(["arm-none-eabi-objdump", "-d", str(obj)], check=True, capture_output=True,
                              text=True).stdout
    return [int(m.group(1) + m.group(2), 16)
            for m in re.finditer(r"^\s+[0-9a-f]+:\s+([0-9a-f]{4}) ([0-9a-f]{4})\s", dump, re.MULTILINE)]


def patterns(groups: dict[str, list[str]]) -> list[tuple[int, int, str]]:
    forms = [f for v in groups.values() for f in v]
    codes = encodings(forms)
    assert len(codes) == len(forms), "every form must assemble to one 32-bit instruction"
    out: dict[tuple[int, int], list[str]] = {}
    i = 0
    for name, variants in groups.items():
        group = codes[i : i + len(variants)]
        i += len(variants)
        ones, anys = 0xFFFFFFFF, 0
        for c in group:
            ones &= c
            anys |= c
        mask = ~(ones ^ anys) & 0xFFFFFFFF
        out.setdefault((mask, ones & mask), []).append(name)
    return [(m, v, ", ".join(names)) for (m, v), names in out.items()]


def main() -> None:
    w = sys.stdout.write
    w("/* Generated by gen_mve_patterns.py from arm-none-eabi-as encodings; do not edit. */\n")
    w("#ifndef MK_MVE_PATTERNS_H\n#define MK_MVE_PATTERNS_H\n\n#include <stdint.h>\n\n")
    w("typedef struct {\n    uint32_t mask;\n    uint32_t value;\n} mk_mve_pattern;\n\n")
    for table, groups in (("k_mve_alu_patterns", alu_groups()), ("k_mve_mac_patterns", mac_groups())):
        w(f"static const mk_mve_pattern {table}[] = {{\n")
        for mask, value, names in patterns(groups):
            w(f"    {{0x{mask:08x}u, 0x{value:08x}u}}, /* {names} */\n")
        w("};\n\n")
    w("#endif /* MK_MVE_PATTERNS_H */\n")


if __name__ == "__main__":
    main()
