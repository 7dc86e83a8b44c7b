/* Instruction classes for the timing model, decided once per instruction from QEMU's disassembly text (capstone
 * syntax: lower case, "ldr.w r0, [r1, #4]", "bne #0x25a", "push {r4, lr}"). Pure string work, no QEMU types, so
 * the same file is compiled into the plugin and into a small host library the Python tests call. The class names
 * (mk_class_name) are what the plugin prints and what mcukit/measure/timing_model.py prices. */
#ifndef MK_CLASSIFY_H
#define MK_CLASSIFY_H

#include <stdint.h>

/* Executed-instruction classes: every instruction falls in exactly one, so their sum is the instruction count. */
enum mk_class {
    MK_C_ALU = 0,         /* data processing, moves, shifts, compares, extends, bit-field, saturate, PLD, and the
                           * Helium predicate bookkeeping VCTP/VPST/VPNOT */
    MK_C_IT,              /* IT blocks (the TRMs allow folding them into the previous instruction) */
    MK_C_SYSTEM,          /* barriers, MRS/MSR, CPS, WFI/WFE, BKPT, SVC, UDF, NOP */
    MK_C_LOAD,            /* single load (LDR/LDRB/LDRH/LDRS*, exclusive, acquire) */
    MK_C_LOAD_PIPELINED,  /* single load right after a single load whose result its address does not use */
    MK_C_STORE,           /* single store */
    MK_C_LDM,             /* LDM/POP/LDRD not loading PC (registers counted in MK_W_LDM_REGS) */
    MK_C_LDM_PC,          /* LDM/POP/LDR that loads PC: a load and a branch (registers in MK_W_LDM_REGS) */
    MK_C_STM,             /* STM/PUSH/STRD (registers in MK_W_STM_REGS) */
    MK_C_MUL,             /* MUL(S) */
    MK_C_MAC,             /* MLA, MLS */
    MK_C_MULL,            /* SMULL, UMULL */
    MK_C_MLAL,            /* SMLAL, UMLAL, UMAAL */
    MK_C_DSP_MAC,         /* SMLAD/SMLSD/SMLA<x><y>/SMLAW/SMLALD/SMUAD/SMUL<x><y>/SMMUL/SMMLA/USADA8 ... */
    MK_C_DSP_SIMD,        /* SADD16/QADD8/SXTB16/SXTAB16/PKHBT/SEL/SSAT16/QADD ... */
    MK_C_DIV,             /* SDIV, UDIV */
    MK_C_BRANCH,          /* unconditional B/BL/BLX/BX (returns included) */
    MK_C_BRANCH_BACK,     /* conditional branch to a lower address: assumed taken (a loop) */
    MK_C_BRANCH_FWD,      /* conditional branch to a higher address, CBZ/CBNZ: assumed not taken */
    MK_C_TABLE_BRANCH,    /* TBB, TBH */
    MK_C_FPU,             /* scalar floating point: add/mul/move/convert/compare */
    MK_C_FPU_MAC,         /* VMLA/VMLS/VNMLA/VNMLS/VFMA/VFMS/VFNMA/VFNMS */
    MK_C_FPU_DIV,         /* VDIV, VSQRT */
    MK_C_FPU_LOAD,        /* VLDR */
    MK_C_FPU_STORE,       /* VSTR */
    MK_C_FPU_LDM,         /* VLDM/VPOP (words in MK_W_FPU_LDM_WORDS) */
    MK_C_FPU_STM,         /* VSTM/VPUSH (words in MK_W_FPU_STM_WORDS) */
    MK_C_MVE_LOAD,        /* Helium vector loads (VLDRB/H/W, VLD2x/VLD4x) */
    MK_C_MVE_STORE,       /* Helium vector stores */
    MK_C_MVE_MAC,         /* Helium multiplies and multiply-accumulates (VMLADAV, VMLA, VMUL, VQDMULH ...) */
    MK_C_MVE_ALU,         /* other Helium vector operations (VADD, VMAX, VSHL, VPT, VMOVL ...) */
    MK_C_LOOP_SETUP,      /* low-overhead loop start: DLS, DLSTP, WLS, WLSTP, LCTP */
    MK_C_LOOP_END,        /* low-overhead loop end: LE, LETP */
    MK_N_CLASSES
};

/* Weights: counters that add a per-instruction quantity rather than one per instruction. */
enum mk_weight {
    MK_W_LDM_REGS = 0,    /* registers loaded by MK_C_LDM and MK_C_LDM_PC instructions (the N of 1+N) */
    MK_W_STM_REGS,        /* registers stored by MK_C_STM instructions */
    MK_W_FPU_LDM_WORDS,   /* 32-bit words moved by MK_C_FPU_LDM */
    MK_W_FPU_STM_WORDS,   /* 32-bit words moved by MK_C_FPU_STM */
    MK_W_IRQ_ENTRIES,     /* executions of an exception handler's first instruction (set up by the plugin) */
    MK_N_WEIGHTS
};

typedef struct {
    int cls;                 /* enum mk_class */
    int weight;              /* enum mk_weight, or -1 */
    unsigned weight_amount;  /* added to `weight` on each execution */
    int is_return;           /* BX LR, or a POP/LDM/LDR that loads PC */
    int load_dest;           /* destination register number of a single load (0..15), else -1 */
} mk_insn_info;

/* Classify one instruction from its disassembly and its encoding: `encoding` is the first halfword in bits
 * 31..16 and the second in 15..0 for a 32-bit instruction (size 4), the halfword itself for size 2. Helium and
 * low-overhead-loop instructions are recognised from the encoding (QEMU 7.2's disassembler predates them), the
 * rest from the text. `prev` is the instruction executed just before it in the same translation block, or NULL
 * at the start of a block (then nothing is assumed about what ran before). */
void mk_classify(const char *disas, uint64_t vaddr, uint32_t encoding, unsigned size, const mk_insn_info *prev,
                 mk_insn_info *out);

const char *mk_class_name(int cls);
const char *mk_weight_name(int weight);

#endif /* MK_CLASSIFY_H */
