"""The instruction classifier (the plugin's C, called through ctypes on disassembly strings), the plugin log
parser and the per-core timing model -- no QEMU needed."""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import pytest

from mcukit.errors import UsageError
from mcukit.measure.icount import InstructionCounts, parse_plugin_log
from mcukit.measure.plugin import PLUGIN_SOURCES, build_classifier_library, plugin_source_dir
from mcukit.measure.timing_model import MODELS, estimate_cycles

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs the host C compiler")


class InsnInfo(ctypes.Structure):
    _fields_ = [("cls", ctypes.c_int), ("weight", ctypes.c_int), ("weight_amount", ctypes.c_uint),
                ("is_return", ctypes.c_int), ("load_dest", ctypes.c_int)]


@pytest.fixture(scope="module")
def lib() -> ctypes.CDLL:
    cdll = ctypes.CDLL(str(build_classifier_library()))
    cdll.mk_classify.argtypes = [ctypes.c_char_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint,
                                 ctypes.POINTER(InsnInfo), ctypes.POINTER(InsnInfo)]
    cdll.mk_classify.restype = None
    cdll.mk_class_name.restype = ctypes.c_char_p
    cdll.mk_weight_name.restype = ctypes.c_char_p
    return cdll


def _names(lib: ctypes.CDLL, fn: str) -> list[str]:
    out = []
    for i in range(64):
        name = getattr(lib, fn)(i).decode()
        if name == "?":
            break
        out.append(name)
    return out


def classify(lib: ctypes.CDLL, disas: str, vaddr: int = 0x1000, prev: str | None = None) -> tuple[str, str, int,
                                                                                                   bool]:
    """(class, weight name or "", weight amount, is_return)"""
    p = None
    if prev is not None:
        p = InsnInfo()
        lib.mk_classify(prev.encode(), vaddr - 4, 0, 2, None, ctypes.byref(p))
    out = InsnInfo()
    # encoding 0 / size 2: a 16-bit all-zero halfword (MOVS r0, r0) never matches an encoding rule, so the text decides
    lib.mk_classify(disas.encode(), vaddr, 0, 2, ctypes.byref(p) if p is not None else None, ctypes.byref(out))
    weight = lib.mk_weight_name(out.weight).decode() if out.weight >= 0 else ""
    return lib.mk_class_name(out.cls).decode(), weight, out.weight_amount, bool(out.is_return)


@pytest.mark.parametrize(("disas", "expected"), [
    ("adds r0, r0, #1", "alu"),
    ("mov.w r1, #-0x1fff2000", "alu"),
    ("sxtb r0, r1", "alu"),
    ("bics r0, r1", "alu"),  # not a branch, although it starts with b and ends in a condition code
    ("bfi r0, r1, #4, #4", "alu"),
    ("ssat r0, #8, r1", "alu"),
    ("addeq r0, r1", "alu"),
    ("itt eq", "it"),
    ("itete ne", "it"),
    ("dmb ish", "system"),
    ("bkpt #0xab", "system"),
    ("ldr r0, [r1, #4]", "load"),
    ("ldrb.w r3, [r2], #1", "load"),
    ("ldrsh r0, [r1, r2]", "load"),
    ("ldreq r0, [r1]", "load"),  # in an IT block
    ("str r1, [r2]", "store"),
    ("strb r2, [ip, #1]!", "store"),
    ("mul r0, r1, r2", "mul"),
    ("muls r0, r1, r0", "mul"),
    ("mla r3, r4, ip, r3", "mac"),
    ("mls r0, r1, r2, r3", "mac"),
    ("smull r0, r1, r2, r3", "mull"),
    ("umlal r0, r1, r2, r3", "mlal"),
    ("smlad r3, r4, ip, r3", "dsp_mac"),
    ("smlabb r0, r1, r2, r3", "dsp_mac"),
    ("smulbb r0, r1, r2", "dsp_mac"),
    ("sxtb16 r0, r1", "dsp_simd"),
    ("sxtab16 r0, r1, r2, ror #8", "dsp_simd"),
    ("qadd8 r0, r1, r2", "dsp_simd"),
    ("sel r2, r4, ip", "dsp_simd"),
    ("sdiv r0, r1, r2", "div"),
    ("udiv r0, r1, r2", "div"),
    ("b #0x404", "branch"),
    ("b.w #0x514", "branch"),
    ("bl #0x224", "branch"),
    ("blx r3", "branch"),
    ("tbb [pc, r0]", "table_branch"),
    ("tbh [pc, r0, lsl #1]", "table_branch"),
    ("cbz r1, #0x1286", "branch_fwd"),
    ("vadd.f32 s0, s1, s2", "fpu"),
    ("vmov r0, s0", "fpu"),
    ("vmla.f32 s0, s1, s2", "fpu_mac"),
    ("vfma.f32 s0, s1, s2", "fpu_mac"),
    ("vdiv.f32 s0, s1, s2", "fpu_div"),
    ("vsqrt.f32 s0, s1", "fpu_div"),
    ("vldr s0, [r0, #4]", "fpu_load"),
    ("vstr s0, [r0]", "fpu_store"),
    ("vldrb.s8 q0, [r0], #16", "mve_load"),
    ("vldrw.u32 q1, [r1]", "mve_load"),
    ("vstrb.8 q0, [r2]", "mve_store"),
    ("vmladava.s8 r0, q0, q1", "mve_mac"),
    ("vmlava.s8 r0, q0, q1", "mve_mac"),
    ("vmul.i32 q0, q1, q2", "mve_mac"),
    ("vqrdmulh.s32 q0, q1, r2", "mve_mac"),
    ("vadd.i8 q0, q1, q2", "mve_alu"),
    ("vmax.s8 q0, q1, q2", "mve_alu"),
    ("vctp.8 r2", "alu"),  # predicate bookkeeping
    ("vpst", "alu"),
    ("dlstp.8 lr, r2", "loop_setup"),
    ("wls lr, r2, #0x20", "loop_setup"),
    ("letp lr, #-0x10", "loop_end"),
    ("le lr, #-0x10", "loop_end"),
])
def test_classes(lib: ctypes.CDLL, disas: str, expected: str) -> None:
    assert classify(lib, disas)[0] == expected


@pytest.mark.parametrize(("disas", "vaddr", "expected"), [
    ("bne #0x0f00", 0x1000, "branch_back"),
    ("bne #0x1000", 0x1000, "branch_back"),  # a branch to itself
    ("bne #0x1100", 0x1000, "branch_fwd"),
    ("ble #0x0f00", 0x1000, "branch_back"),  # b + le, not bl + e
    ("bls.w #0x2000", 0x1000, "branch_fwd"),
    ("blt #0x0f80", 0x1000, "branch_back"),
])
def test_conditional_branch_direction(lib: ctypes.CDLL, disas: str, vaddr: int, expected: str) -> None:
    assert classify(lib, disas, vaddr)[0] == expected


def test_register_lists_and_returns(lib: ctypes.CDLL) -> None:
    assert classify(lib, "push {r4, r5, r6, r7, lr}") == ("stm", "stm_regs", 5, False)
    assert classify(lib, "push.w {r4-r11, lr}") == ("stm", "stm_regs", 9, False)
    assert classify(lib, "pop {r4, r5}") == ("ldm", "ldm_regs", 2, False)
    assert classify(lib, "pop.w {r4, r5, r6, r7, r8, pc}") == ("ldm_pc", "ldm_regs", 6, True)
    assert classify(lib, "ldm.w sp!, {r4-r7, pc}") == ("ldm_pc", "ldm_regs", 5, True)
    assert classify(lib, "ldr pc, [sp], #4") == ("ldm_pc", "ldm_regs", 1, True)
    assert classify(lib, "ldrd r2, r3, [r1]") == ("ldm", "ldm_regs", 2, False)
    assert classify(lib, "strd r3, r0, [sp]") == ("stm", "stm_regs", 2, False)
    assert classify(lib, "ldmia r0!, {r1, r2, r3}") == ("ldm", "ldm_regs", 3, False)
    assert classify(lib, "bx lr") == ("branch", "", 0, True)
    assert classify(lib, "bx r3") == ("branch", "", 0, False)
    assert classify(lib, "vpush {d8, d9}") == ("fpu_stm", "fpu_stm_words", 4, False)
    assert classify(lib, "vpop {s16, s17, s18}") == ("fpu_ldm", "fpu_ldm_words", 3, False)
    assert classify(lib, "vldmia r0!, {d0-d3}") == ("fpu_ldm", "fpu_ldm_words", 8, False)


def test_load_pipelining_follows_the_trm_rule(lib: ctypes.CDLL) -> None:
    # independent loads back to back: the second one overlaps
    assert classify(lib, "ldr.w ip, [r1], #4", prev="ldr.w r4, [r0], #4")[0] == "load_pipelined"
    assert classify(lib, "ldrb r2, [r3]", prev="ldr r0, [r1]")[0] == "load_pipelined"
    # the address needs the previous load's result: no overlap
    assert classify(lib, "ldr r1, [r0, #4]", prev="ldr r0, [r2]")[0] == "load"
    assert classify(lib, "ldr r1, [r2, r0]", prev="ldr r0, [r2]")[0] == "load"
    assert classify(lib, "ldr r1, [ip]", prev="ldr ip, [r2]")[0] == "load"
    # only after a load, not after a store or ALU instruction, and never at the start of a block
    assert classify(lib, "ldr r1, [r3]", prev="str r0, [r2]")[0] == "load"
    assert classify(lib, "ldr r1, [r3]", prev="adds r0, #1")[0] == "load"
    assert classify(lib, "ldr r1, [r3]")[0] == "load"


# Armv8.1-M instructions that QEMU 7.2's disassembler shows as ".byte"/"ldc"/"cdp": classified by encoding.
MVE_BY_ENCODING = [
    ("vldrb.s8 q0, [r0], #16", "mve_load"), ("vldrw.u32 q7, [r3]", "mve_load"), ("vldrb.u16 q0, [r0, q1]", "mve_load"),
    ("vld20.8 {q0, q1}, [r0]", "mve_load"), ("vstrb.8 q0, [r0]", "mve_store"), ("vstrw.32 q1, [r2], #16", "mve_store"),
    ("vmladava.s8 r0, q0, q1", "mve_mac"), ("vmladav.s16 r2, q3, q4", "mve_mac"), ("vmlava.u8 r4, q1, q2", "mve_mac"),
    ("vmlaldava.s16 r0, r1, q0, q1", "mve_mac"), ("vmla.s8 q0, q1, r2", "mve_mac"), ("vmul.i32 q0, q1, q2", "mve_mac"),
    ("vmul.i8 q3, q4, r5", "mve_mac"), ("vqdmulh.s32 q0, q1, q2", "mve_mac"), ("vqrdmulh.s32 q0, q1, r2", "mve_mac"),
    ("vmullb.s8 q0, q1, q2", "mve_mac"), ("vfma.f32 q0, q1, q2", "mve_mac"), ("vrmulh.s32 q0, q1, q2", "mve_mac"),
    ("vadd.i8 q0, q1, q2", "mve_alu"), ("vadd.i32 q0, q1, r2", "mve_alu"), ("vsub.i8 q0, q1, q2", "mve_alu"),
    ("vmax.s8 q0, q1, q2", "mve_alu"), ("vmaxv.s8 r0, q1", "mve_alu"), ("vminv.u16 r2, q5", "mve_alu"),
    ("vaddv.s8 r0, q1", "mve_alu"), ("vaddva.s32 r4, q6", "mve_alu"), ("vshl.s32 q0, r2", "mve_alu"),
    ("vshr.s32 q0, q1, #3", "mve_alu"), ("vqmovnb.s32 q0, q1", "mve_alu"), ("vmovlb.s8 q0, q1", "mve_alu"),
    ("vdup.8 q0, r1", "mve_alu"), ("vand q0, q1, q2", "mve_alu"), ("vpsel q0, q1, q2", "mve_alu"),
    ("vpst", "alu"), ("vpnot", "alu"), ("vctp.8 r2", "alu"), ("vctp.32 r3", "alu"),
    ("dlstp.8 lr, r2", "loop_setup"), ("dls lr, r2", "loop_setup"), ("wlstp.8 lr, r2, 9f", "loop_setup"),
    ("wls lr, r3, 9f", "loop_setup"), ("le lr, 0b", "loop_end"), ("letp lr, 0b", "loop_end"), ("lctp", "loop_setup"),
    # ordinary v7-M instructions in nearby encoding spaces stay what they are
    ("vldr s0, [r0, #4]", "fpu_load"), ("vmla.f32 s0, s1, s2", "fpu_mac"), ("bl 0b", "branch"),
]


def test_helium_and_loops_by_encoding(lib: ctypes.CDLL, tmp_path) -> None:
    import re

    if shutil.which("arm-none-eabi-as") is None or shutil.which("arm-none-eabi-objdump") is None:
        pytest.skip("needs the Arm GNU assembler")
    src = tmp_path / "mve.s"
    src.write_text(".syntax unified\n.thumb\n0:\n" + "\n".join(f"{a}\nnop" for a, _ in MVE_BY_ENCODING) + "\n9:\n")
    subprocess.run(["arm-none-eabi-as", "-march=armv8.1-m.main+mve.fp", "-mthumb", str(src), "-o",
                    str(tmp_path / "mve.o")], check=True, capture_output=True)
    dump = subprocess.run(["arm-none-eabi-objdump", "-d", str(tmp_path / "mve.o")], check=True, capture_output=True,
                          text=True).stdout
    words = re.findall(r"^\s+[0-9a-f]+:\s+([0-9a-f]{4}(?: [0-9a-f]{4})?)\s+\t(\S+)", dump, re.MULTILINE)
    codes = [w for w, mnem in words if mnem != "nop"]
    assert len(codes) == len(MVE_BY_ENCODING)
    for (asm, expected), code in zip(MVE_BY_ENCODING, codes, strict=True):
        halves = code.split()
        encoding, size = (int(halves[0] + halves[1], 16), 4) if len(halves) == 2 else (int(halves[0], 16), 2)
        out = InsnInfo()
        # the text QEMU 7.2 gives for most of these; the real text for v7-M and NEON-shaped ones (VDUP, which uses
        # the FPU's coprocessor number and is decoded by QEMU's disassembler)
        known = expected.startswith(("fpu", "branch")) or asm.startswith("vdup")
        text = asm if known else ".byte 0x00, 0x00"
        lib.mk_classify(text.encode(), 0x1000, encoding, size, None, ctypes.byref(out))
        assert lib.mk_class_name(out.cls).decode() == expected, (asm, hex(encoding))


def test_every_class_and_weight_is_priced_by_every_model(lib: ctypes.CDLL) -> None:
    classes, weights = _names(lib, "mk_class_name"), _names(lib, "mk_weight_name")
    assert len(classes) > 20 and "dsp_mac" in classes and "ldm_regs" in weights
    for model in MODELS.values():
        assert set(model.per_class) == set(classes), model.name
        assert set(model.per_weight) == set(weights), model.name
        for cost in (*model.per_class.values(), *model.per_weight.values()):
            assert 0 <= cost.low <= cost.typical <= cost.high


def test_plugin_compiles_warning_free() -> None:
    src = plugin_source_dir()
    proc = subprocess.run(["gcc", "-std=c99", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-pedantic",
                           *[str(src / s) for s in PLUGIN_SOURCES]], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


# ---- the plugin log -----------------------------------------------------------------------------------------------

LOG = """\
H 1 classes=alu,load,branch weights=ldm_regs,irq_entries
E 0 10 2 1 0 0
E 1 30 12 5 2 0
E 0 40 12 6 2 0
E 1 45 20 7 2 1
T 50 21 8 3 1
"""


def test_parse_plugin_log() -> None:
    classes, weights, events, final = parse_plugin_log(LOG, ["a", "b"])
    assert classes == ("alu", "load", "branch")
    assert weights == ("ldm_regs", "irq_entries")
    assert [e.marker for e in events] == ["a", "b", "a", "b"]
    assert final == (50, 21, 8, 3, 1)
    counts = InstructionCounts(total=79, per_class={}, weights={}, events=tuple(events), class_names=classes,
                               weight_names=weights)
    spans = counts.spans("a", "b")
    assert [s.total for s in spans] == [20 + 10 + 4, 5 + 8 + 1]
    assert spans[1].per_class == {"alu": 5, "load": 8, "branch": 1}
    assert spans[1].interrupts == 1
    with pytest.raises(Exception, match="never followed"):
        InstructionCounts(total=0, per_class={}, weights={}, events=tuple(events[:3]), class_names=classes,
                          weight_names=weights).spans("a", "b")


# ---- the timing model -----------------------------------------------------------------------------------------------

def test_m4_costs_from_the_trm_table() -> None:
    # Cortex-M4 TRM r0p1, instruction set summary (zero wait states), written out independently of the model:
    # 10 ALU x1, 4 LDR x2, 4 pipelined LDR x1, 3 STR x1, one PUSH of 3 registers 1+3, 2 MLA x1, 1 SDIV 2..12,
    # 5 taken backward branches 1+P (P=2 typical), 7 forward not-taken 1, 1 VMLA.F32 x3, 1 VDIV.F32 x14.
    mix = {"alu": 10, "load": 4, "load_pipelined": 4, "store": 3, "stm": 1, "stm_regs": 3, "mac": 2, "div": 1,
           "branch_back": 5, "branch_fwd": 7, "fpu_mac": 1, "fpu_div": 1}
    est = estimate_cycles(mix, "cortex-m4")
    assert est.total == 10 + 8 + 4 + 3 + (1 + 3) + 2 + 7 + 5 * 3 + 7 + 3 + 14
    assert est.per_class["stm"] == 4  # the register count is reported under its instruction class
    assert est.low < est.total < est.high
    assert est.kind == "estimated_cycles" and est.model_name == "cortex-m4/trm-r0p1"


def test_m3_differs_from_m4_where_the_trms_do() -> None:
    mix = {"mac": 10, "mull": 10, "alu": 10}
    m3, m4 = estimate_cycles(mix, "cortex-m3"), estimate_cycles(mix, "cortex-m4")
    assert m4.total == 30
    assert m3.per_class["mac"] == 20  # MLA: 2 cycles on the M3
    assert (m3.low, m3.high) == (10 + 20 + 30, 10 + 20 + 50)  # SMULL/UMULL 3..5


def test_m55_helium_and_m7_dual_issue_are_cheaper_per_instruction() -> None:
    vec = {"mve_load": 2, "mve_mac": 1, "loop_end": 1}
    assert estimate_cycles(vec, "cortex-m55").total == 2 * 1 + 2 + 0
    alu = {"alu": 100}
    assert estimate_cycles(alu, "cortex-m7").total == 50
    assert estimate_cycles(alu, "cortex-m4").total == 100


def test_unknown_core_and_unpriced_class() -> None:
    with pytest.raises(UsageError, match="no timing model"):
        estimate_cycles({"alu": 1}, "cortex-m0plus")
    est = estimate_cycles({"alu": 1, "something_new": 2}, "cortex-m4")
    assert est.unpriced == ("something_new",) and est.total == 3
