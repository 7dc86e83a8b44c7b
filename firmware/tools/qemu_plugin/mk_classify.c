/* Classify Arm Thumb/Thumb-2/FPU/Helium instructions from their disassembly text for the timing model.
 *
 * Table driven on the mnemonic without its ".w"/".n"/type suffix; instructions inside an IT block carry their
 * condition in the mnemonic ("ldreq"), so a name that is not found is tried again without a condition suffix.
 * Anything not recognised is ordinary ALU work, which is what the remaining Thumb-2 instructions are. */
#include "mk_classify.h"
#include "mk_mve_patterns.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MK_MNEMONIC_MAX 32

static const char *const k_class_names[MK_N_CLASSES] = {
    "alu",         "it",          "system",    "load",        "load_pipelined", "store",     "ldm",
    "ldm_pc",      "stm",         "mul",       "mac",         "mull",           "mlal",      "dsp_mac",
    "dsp_simd",    "div",         "branch",    "branch_back", "branch_fwd",     "table_branch",
    "fpu",         "fpu_mac",     "fpu_div",   "fpu_load",    "fpu_store",      "fpu_ldm",   "fpu_stm",
    "mve_load",    "mve_store",   "mve_mac",   "mve_alu",     "loop_setup",     "loop_end",
};

static const char *const k_weight_names[MK_N_WEIGHTS] = {
    "ldm_regs", "stm_regs", "fpu_ldm_words", "fpu_stm_words", "irq_entries",
};

const char *mk_class_name(int cls) {
    return (cls >= 0 && cls < MK_N_CLASSES) ? k_class_names[cls] : "?";
}

const char *mk_weight_name(int weight) {
    return (weight >= 0 && weight < MK_N_WEIGHTS) ? k_weight_names[weight] : "?";
}

static const char *const k_conds[] = {"eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs",
                                      "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", NULL};

static const char *const k_loads[] = {"ldr",   "ldrb",   "ldrh",   "ldrsb", "ldrsh", "ldrt",  "ldrbt", "ldrht",
                                      "ldrsbt", "ldrsht", "ldrex", "ldrexb", "ldrexh", "lda",  "ldab",  "ldah",
                                      "ldaex", "ldaexb", "ldaexh", NULL};
static const char *const k_stores[] = {"str",   "strb",   "strh",   "strt",  "strbt", "strht", "strex", "strexb",
                                       "strexh", "stl",   "stlb",   "stlh",  "stlex", "stlexb", "stlexh", NULL};
static const char *const k_ldms[] = {"ldm", "ldmia", "ldmfd", "ldmdb", "ldmea", "pop", NULL};
static const char *const k_stms[] = {"stm", "stmia", "stmea", "stmdb", "stmfd", "push", NULL};
static const char *const k_muls[] = {"mul", "muls", NULL};
static const char *const k_macs[] = {"mla", "mls", NULL};
static const char *const k_mulls[] = {"smull", "umull", NULL};
static const char *const k_mlals[] = {"smlal", "umlal", "umaal", NULL};
static const char *const k_divs[] = {"sdiv", "udiv", NULL};
static const char *const k_dsp_macs[] = {
    "smlad",  "smladx", "smlsd",  "smlsdx", "smlald", "smlaldx", "smlsld", "smlsldx", "smlabb", "smlabt",
    "smlatb", "smlatt", "smlawb", "smlawt", "smlalbb", "smlalbt", "smlaltb", "smlaltt", "smuad", "smuadx",
    "smusd",  "smusdx", "smulbb", "smulbt", "smultb", "smultt",  "smulwb", "smulwt",  "smmul",  "smmulr",
    "smmla",  "smmlar", "smmls",  "smmlsr", "usad8",  "usada8",  NULL};
static const char *const k_dsp_simds[] = {
    "sadd16",  "sadd8",   "ssub16",  "ssub8",   "sasx",    "ssax",    "qadd16",  "qadd8",  "qsub16", "qsub8",
    "qasx",    "qsax",    "shadd16", "shadd8",  "shsub16", "shsub8",  "shasx",   "shsax",  "uadd16", "uadd8",
    "usub16",  "usub8",   "uasx",    "usax",    "uqadd16", "uqadd8",  "uqsub16", "uqsub8", "uqasx",  "uqsax",
    "uhadd16", "uhadd8",  "uhsub16", "uhsub8",  "uhasx",   "uhsax",   "qadd",    "qsub",   "qdadd",  "qdsub",
    "sxtb16",  "uxtb16",  "sxtab16", "uxtab16", "sxtab",   "sxtah",   "uxtab",   "uxtah",  "pkhbt",  "pkhtb",
    "sel",     "ssat16",  "usat16",  NULL};
static const char *const k_systems[] = {"nop",  "dmb", "dsb", "isb", "cpsid", "cpsie", "mrs", "msr", "wfi",
                                        "wfe",  "sev", "yield", "bkpt", "svc", "udf", "clrex", "csdb", "ssbb",
                                        "pssbb", "sg", "tt", "ttt", "tta", "ttat", NULL};
static const char *const k_loop_setups[] = {"dls", "dlstp", "wls", "wlstp", "lctp", NULL};
static const char *const k_loop_ends[] = {"le", "letp", NULL};

/* Scalar floating point by name (the operands decide between FPU and Helium for the shared names). */
static const char *const k_fpu_macs[] = {"vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms", NULL};
static const char *const k_fpu_divs[] = {"vdiv", "vsqrt", NULL};
static const char *const k_fpu_ldms[] = {"vldm", "vldmia", "vldmdb", "vpop", NULL};
static const char *const k_fpu_stms[] = {"vstm", "vstmia", "vstmdb", "vpush", NULL};
static const char *const k_mve_loads[] = {"vldrb", "vldrh", "vldrw", "vldrd", "vld20", "vld21", "vld40",
                                          "vld41", "vld42", "vld43", NULL};
static const char *const k_mve_stores[] = {"vstrb", "vstrh", "vstrw", "vstrd", "vst20", "vst21", "vst40",
                                           "vst41", "vst42", "vst43", NULL};
/* Helium-only names that may appear without a Q register operand. */
static const char *const k_mve_only[] = {"vpt", "vpsel", NULL};
/* Helium predicate bookkeeping, priced as scalar ALU work. */
static const char *const k_mve_predicate[] = {"vctp", "vpst", "vpnot", NULL};
/* Prefixes of Helium multiplies / multiply-accumulates. */
static const char *const k_mve_mac_prefixes[] = {"vml", "vmul", "vqdm", "vqrdm", "vrml", "vrmul", "vfma", "vfms",
                                                 NULL};

static int in_list(const char *s, const char *const *list) {
    for (; *list != NULL; ++list) {
        if (strcmp(s, *list) == 0) {
            return 1;
        }
    }
    return 0;
}

static int has_prefix_in(const char *s, const char *const *list) {
    for (; *list != NULL; ++list) {
        if (strncmp(s, *list, strlen(*list)) == 0) {
            return 1;
        }
    }
    return 0;
}

static int is_cond(const char *s) {
    return strlen(s) == 2 && in_list(s, k_conds);
}

/* "ldreq" -> "ldr": copies `base` without a trailing condition code into out; 0 if it has none. */
static int strip_cond(const char *base, char *out) {
    size_t n = strlen(base);
    if (n <= 2 || !is_cond(base + n - 2)) {
        return 0;
    }
    memcpy(out, base, n - 2);
    out[n - 2] = '\0';
    return 1;
}

/* Register number of a core register name (r0-r15 and the aliases), or -1. */
static int reg_number(const char *tok, size_t len) {
    static const char *const aliases[] = {"sb", "sl", "fp", "ip", "sp", "lr", "pc"};
    char name[8];
    if (len == 0 || len >= sizeof name) {
        return -1;
    }
    memcpy(name, tok, len);
    name[len] = '\0';
    if (name[0] == 'r' && len >= 2 && len <= 3 && isdigit((unsigned char)name[1]) &&
        (len == 2 || isdigit((unsigned char)name[2]))) {
        int r = atoi(name + 1);
        return r <= 15 ? r : -1;
    }
    for (int i = 0; i < 7; ++i) {
        if (strcmp(name, aliases[i]) == 0) {
            return 9 + i;
        }
    }
    return -1;
}

/* Registers in the first {...} list: the count (a "d" register counts twice when words_per_d is 2) and whether
 * PC is among them. Ranges ("r4-r7", "d8-d15") are expanded. */
static unsigned count_reglist(const char *ops, unsigned words_per_d, int *has_pc) {
    const char *p = strchr(ops, '{');
    unsigned count = 0;
    *has_pc = 0;
    if (p == NULL) {
        return 0;
    }
    ++p;
    while (*p != '\0' && *p != '}') {
        while (*p == ' ' || *p == ',') {
            ++p;
        }
        const char *start = p;
        while (*p != '\0' && *p != ',' && *p != '}') {
            ++p;
        }
        size_t len = (size_t)(p - start);
        while (len > 0 && start[len - 1] == ' ') {
            --len;
        }
        if (len == 0) {
            continue;
        }
        unsigned per = (start[0] == 'd') ? words_per_d : 1u;
        const char *dash = memchr(start, '-', len);
        if (dash != NULL && isalpha((unsigned char)start[0])) {
            long lo = strtol(start + 1, NULL, 10);
            long hi = strtol(dash + 2, NULL, 10);
            if (hi >= lo) {
                count += per * (unsigned)(hi - lo + 1);
                if (start[0] == 'r' && hi >= 15) {
                    *has_pc = 1;
                }
            }
        } else {
            count += per;
            if (reg_number(start, len) == 15) {
                *has_pc = 1;
            }
        }
    }
    return count;
}

/* Whether the address operand ("[...]") mentions core register `reg`. */
static int address_uses(const char *ops, int reg) {
    const char *p = strchr(ops, '[');
    if (p == NULL || reg < 0) {
        return 0;
    }
    const char *end = strchr(p, ']');
    if (end == NULL) {
        end = p + strlen(p);
    }
    while (p < end) {
        while (p < end && !isalnum((unsigned char)*p)) {
            ++p;
        }
        const char *start = p;
        while (p < end && isalnum((unsigned char)*p)) {
            ++p;
        }
        if (p > start && reg_number(start, (size_t)(p - start)) == reg) {
            return 1;
        }
    }
    return 0;
}

/* First operand's register number ("r3, [r0]" -> 3), or -1. */
static int first_operand_reg(const char *ops) {
    size_t len = 0;
    while (ops[len] != '\0' && ops[len] != ',' && ops[len] != ' ') {
        ++len;
    }
    return reg_number(ops, len);
}

/* Whether any operand is a Helium Q register ("q0".."q7"). */
static int has_q_register(const char *ops) {
    for (const char *p = ops; *p != '\0'; ++p) {
        if (*p == 'q' && (p == ops || !isalnum((unsigned char)p[-1])) && isdigit((unsigned char)p[1]) &&
            !isalnum((unsigned char)p[2])) {
            return 1;
        }
    }
    return 0;
}

/* Branch target "#0x1234" in the operands, or 0 when there is none. */
static uint64_t branch_target(const char *ops) {
    const char *p = strchr(ops, '#');
    return p != NULL ? (uint64_t)strtoull(p + 1, NULL, 0) : 0u;
}

static int is_it(const char *base) {
    size_t n = strlen(base);
    if (n < 2 || n > 5 || base[0] != 'i' || base[1] != 't') {
        return 0;
    }
    for (size_t i = 2; i < n; ++i) {
        if (base[i] != 't' && base[i] != 'e') {
            return 0;
        }
    }
    return 1;
}

static void classify_vector(const char *base, const char *ops, mk_insn_info *out) {
    int has_pc = 0;
    if (in_list(base, k_mve_loads)) {
        out->cls = MK_C_MVE_LOAD;
    } else if (in_list(base, k_mve_stores)) {
        out->cls = MK_C_MVE_STORE;
    } else if (in_list(base, k_mve_predicate)) {
        out->cls = MK_C_ALU;
    } else if (has_q_register(ops) || in_list(base, k_mve_only)) {
        out->cls = has_prefix_in(base, k_mve_mac_prefixes) ? MK_C_MVE_MAC : MK_C_MVE_ALU;
    } else if (strcmp(base, "vldr") == 0) {
        out->cls = MK_C_FPU_LOAD;
    } else if (strcmp(base, "vstr") == 0) {
        out->cls = MK_C_FPU_STORE;
    } else if (in_list(base, k_fpu_ldms)) {
        out->cls = MK_C_FPU_LDM;
        out->weight = MK_W_FPU_LDM_WORDS;
        out->weight_amount = count_reglist(ops, 2u, &has_pc);
    } else if (in_list(base, k_fpu_stms)) {
        out->cls = MK_C_FPU_STM;
        out->weight = MK_W_FPU_STM_WORDS;
        out->weight_amount = count_reglist(ops, 2u, &has_pc);
    } else if (in_list(base, k_fpu_divs)) {
        out->cls = MK_C_FPU_DIV;
    } else if (in_list(base, k_fpu_macs)) {
        out->cls = MK_C_FPU_MAC;
    } else {
        out->cls = MK_C_FPU;
    }
}

/* B, BL, BX, BLX, B<cc>, CBZ/CBNZ, TBB/TBH. Returns 1 if `base` is a branch. */
static int classify_branch(const char *base, const char *ops, uint64_t vaddr, mk_insn_info *out) {
    size_t n = strlen(base);
    if (strcmp(base, "cbz") == 0 || strcmp(base, "cbnz") == 0) {
        out->cls = MK_C_BRANCH_FWD; /* CBZ/CBNZ can only branch forwards */
        return 1;
    }
    if (strcmp(base, "tbb") == 0 || strcmp(base, "tbh") == 0) {
        out->cls = MK_C_TABLE_BRANCH;
        return 1;
    }
    if (base[0] != 'b') {
        return 0;
    }
    if (n == 3 && is_cond(base + 1)) { /* b<cc>: checked first, since "ble"/"bls"/"blt" are not "bl" */
        uint64_t target = branch_target(ops);
        out->cls = (target != 0u && target <= vaddr) ? MK_C_BRANCH_BACK : MK_C_BRANCH_FWD;
        return 1;
    }
    char plain[MK_MNEMONIC_MAX];
    const char *name = base;
    if (!(strcmp(base, "b") == 0 || strcmp(base, "bl") == 0 || strcmp(base, "bx") == 0 ||
          strcmp(base, "blx") == 0)) {
        /* BX/BL/BLX made conditional by an IT block: treated as taken, like any unconditional branch */
        if (!strip_cond(base, plain) ||
            !(strcmp(plain, "bl") == 0 || strcmp(plain, "bx") == 0 || strcmp(plain, "blx") == 0)) {
            return 0;
        }
        name = plain;
    }
    out->cls = MK_C_BRANCH;
    if (strcmp(name, "bx") == 0 && first_operand_reg(ops) == 14) {
        out->is_return = 1;
    }
    return 1;
}

static int classify_table(const char *name, const char *ops, const mk_insn_info *prev, mk_insn_info *out) {
    int has_pc = 0;
    if (in_list(name, k_loads)) {
        int dest = first_operand_reg(ops);
        if (dest == 15) { /* LDR PC, [...]: a load that branches (a return when popping) */
            out->cls = MK_C_LDM_PC;
            out->weight = MK_W_LDM_REGS;
            out->weight_amount = 1u;
            out->is_return = 1;
            return 1;
        }
        out->load_dest = dest;
        /* TRM "load/store timings": a load after a load overlaps with it unless its address needs the first
         * load's result. Only within one translation block, where the order of execution is known. */
        if (prev != NULL && (prev->cls == MK_C_LOAD || prev->cls == MK_C_LOAD_PIPELINED) && prev->load_dest >= 0 &&
            !address_uses(ops, prev->load_dest)) {
            out->cls = MK_C_LOAD_PIPELINED;
        } else {
            out->cls = MK_C_LOAD;
        }
        return 1;
    }
    if (in_list(name, k_stores)) {
        out->cls = MK_C_STORE;
        return 1;
    }
    if (strcmp(name, "ldrd") == 0 || in_list(name, k_ldms)) {
        unsigned regs = strcmp(name, "ldrd") == 0 ? 2u : count_reglist(ops, 1u, &has_pc);
        out->cls = has_pc ? MK_C_LDM_PC : MK_C_LDM;
        out->is_return = has_pc;
        out->weight = MK_W_LDM_REGS;
        out->weight_amount = regs;
        return 1;
    }
    if (strcmp(name, "strd") == 0 || in_list(name, k_stms)) {
        out->cls = MK_C_STM;
        out->weight = MK_W_STM_REGS;
        out->weight_amount = strcmp(name, "strd") == 0 ? 2u : count_reglist(ops, 1u, &has_pc);
        return 1;
    }
    static const struct {
        const char *const *names;
        int cls;
    } simple[] = {
        {k_muls, MK_C_MUL},           {k_macs, MK_C_MAC},         {k_mulls, MK_C_MULL},
        {k_mlals, MK_C_MLAL},         {k_divs, MK_C_DIV},         {k_dsp_macs, MK_C_DSP_MAC},
        {k_dsp_simds, MK_C_DSP_SIMD}, {k_systems, MK_C_SYSTEM},   {k_loop_setups, MK_C_LOOP_SETUP},
        {k_loop_ends, MK_C_LOOP_END},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; ++i) {
        if (in_list(name, simple[i].names)) {
            out->cls = simple[i].cls;
            return 1;
        }
    }
    return 0;
}

static int matches(const mk_mve_pattern *table, size_t n, uint32_t encoding) {
    for (size_t i = 0; i < n; ++i) {
        if ((encoding & table[i].mask) == table[i].value) {
            return 1;
        }
    }
    return 0;
}

/* Armv8.1-M encodings that v7-M leaves undefined, so they are unambiguous on every core here:
 * - low-overhead loops and VCTP share the space of BLX-immediate (hw1 0xF000-0xF07F, hw2 with bit 0 set);
 * - Helium loads/stores are LDC/STC to coprocessors 14/15, other Helium operations CDP-like encodings to
 *   coprocessors 14/15 and the whole 0xEFxx/0xFFxx space (the FPU uses coprocessors 10/11).
 * Returns 1 if the instruction was classified. */
static int classify_encoding(uint32_t encoding, unsigned size, mk_insn_info *out) {
    if (size != 4u) {
        return 0;
    }
    const uint32_t hw1 = encoding >> 16;
    const uint32_t hw2 = encoding & 0xFFFFu;
    const uint32_t coproc = (hw2 >> 8) & 0xFu;
    if ((hw1 & 0xFF80u) == 0xF000u && (hw2 & 1u) != 0u) {
        if (hw2 == 0xE801u) {
            out->cls = MK_C_ALU; /* VCTP: predicate bookkeeping, not a vector operation */
            return 1;
        }
        if (hw2 == 0xE001u) {
            out->cls = MK_C_LOOP_SETUP; /* DLS, DLSTP, LCTP */
            return 1;
        }
        if ((hw2 & 0xF001u) == 0xC001u) {
            out->cls = ((hw1 & 0xFFCFu) == 0xF00Fu) ? MK_C_LOOP_END : MK_C_LOOP_SETUP; /* LE/LETP, WLS/WLSTP */
            return 1;
        }
        return 0;
    }
    if ((hw1 & 0xEE00u) == 0xEC00u && (coproc == 0xEu || coproc == 0xFu) && (hw1 & 0xFFE0u) != 0xEC40u) {
        out->cls = (hw1 & 0x10u) ? MK_C_MVE_LOAD : MK_C_MVE_STORE;
        return 1;
    }
    if (((hw1 & 0xEF00u) == 0xEE00u && (coproc == 0xEu || coproc == 0xFu)) || (hw1 & 0xEF00u) == 0xEF00u) {
        if ((encoding & 0xFFBF1FFFu) == 0xFE310F4Du) {
            out->cls = MK_C_ALU; /* VPST, VPNOT: predicate bookkeeping */
        } else if (matches(k_mve_alu_patterns, sizeof k_mve_alu_patterns / sizeof k_mve_alu_patterns[0], encoding)) {
            out->cls = MK_C_MVE_ALU;
        } else if (matches(k_mve_mac_patterns, sizeof k_mve_mac_patterns / sizeof k_mve_mac_patterns[0],
                           encoding)) {
            out->cls = MK_C_MVE_MAC;
        } else {
            out->cls = MK_C_MVE_ALU;
        }
        return 1;
    }
    return 0;
}

void mk_classify(const char *disas, uint64_t vaddr, uint32_t encoding, unsigned size, const mk_insn_info *prev,
                 mk_insn_info *out) {
    char base[MK_MNEMONIC_MAX];
    char plain[MK_MNEMONIC_MAX];
    size_t n = 0;

    out->cls = MK_C_ALU;
    out->weight = -1;
    out->weight_amount = 0u;
    out->is_return = 0;
    out->load_dest = -1;
    if (classify_encoding(encoding, size, out)) {
        return;
    }
    if (disas == NULL) {
        return;
    }
    while (*disas == ' ' || *disas == '\t') {
        ++disas;
    }
    /* mnemonic up to the first '.', which starts a width (".w") or data type (".s8") suffix */
    while (disas[n] != '\0' && disas[n] != ' ' && disas[n] != '\t' && disas[n] != '.' && n + 1 < sizeof base) {
        base[n] = (char)tolower((unsigned char)disas[n]);
        ++n;
    }
    base[n] = '\0';
    const char *ops = disas + n;
    while (*ops != '\0' && *ops != ' ' && *ops != '\t') {
        ++ops; /* rest of the suffix */
    }
    while (*ops == ' ' || *ops == '\t') {
        ++ops;
    }
    if (n == 0) {
        return;
    }
    if (base[0] == 'v') {
        classify_vector(base, ops, out);
        return;
    }
    if (classify_branch(base, ops, vaddr, out)) {
        return;
    }
    if (is_it(base)) {
        out->cls = MK_C_IT;
        return;
    }
    if (classify_table(base, ops, prev, out)) {
        return;
    }
    if (strip_cond(base, plain) && classify_table(plain, ops, prev, out)) {
        return;
    }
    out->cls = MK_C_ALU;
}
