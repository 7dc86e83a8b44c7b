/* mk_icount: a QEMU TCG plugin that counts executed guest instructions exactly, by class, with snapshots at
 * marker addresses, for mcukit's instruction counts and estimated cycles (mcukit/measure/).
 *
 * Counting: each instruction is classified once when QEMU translates it (mk_classify.c) and gets an inline
 * "counter[class] += 1" (plus "weight += n" for register lists). Inline adds run before their instruction and
 * per instruction, not per block, so a block left early (exception, semihosting exit) is still counted exactly.
 * The total is the sum of the classes.
 *
 * Markers (plugin arguments, in order; event id = position among the mark/ret arguments, from 0):
 *   mark=0xADDR        an event just before the instruction at ADDR executes (e.g. a function's entry)
 *   ret=0xLO:0xHI      an event just before any return instruction (BX LR, POP/LDM/LDR loading PC) in [LO, HI)
 * Other arguments:
 *   isr=0xADDR         counts executions of ADDR in the irq_entries weight (exception handler entries, so a
 *                      region that an interrupt ran in can be told apart)
 *   dump=1             prints every translated instruction with its class ("D addr class disassembly")
 * Output (QEMU log: `-d plugin -D file`):
 *   H <version> classes=<name,...> weights=<name,...>     once at start
 *   E <id> <counter...>                                   at each event: all class counters, then all weights
 *   T <counter...>                                        at exit
 * Counters are cumulative since start; the host computes regions as differences between snapshots. A snapshot
 * excludes the marked instruction itself. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mk_classify.h"
#include "mk_qemu_plugin_api.h"

#define MK_ICOUNT_OUTPUT_VERSION 1
#define MK_MAX_MARKERS 512
#define MK_MAX_ISRS 128
#define MK_N_COUNTERS (MK_N_CLASSES + MK_N_WEIGHTS)

MK_QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

typedef struct {
    int is_ret;
    uint64_t lo;
    uint64_t hi;
} mk_marker;

/* One vCPU on every M-profile machine, so plain counters are enough (no per-vCPU split, no atomics). */
static uint64_t s_counters[MK_N_COUNTERS];
static mk_marker s_markers[MK_MAX_MARKERS];
static int s_n_markers;
static uint64_t s_isrs[MK_MAX_ISRS];
static int s_n_isrs;
static int s_dump;

static void print_counters(const char *prefix) {
    /* 20 digits + space per counter */
    char line[32 + MK_N_COUNTERS * 22];
    size_t pos = (size_t)snprintf(line, sizeof line, "%s", prefix);
    for (int i = 0; i < MK_N_COUNTERS && pos < sizeof line; ++i) {
        pos += (size_t)snprintf(line + pos, sizeof line - pos, " %" PRIu64, s_counters[i]);
    }
    if (pos + 2 <= sizeof line) {
        line[pos] = '\n';
        line[pos + 1] = '\0';
    }
    qemu_plugin_outs(line);
}

static void on_marker(unsigned int vcpu_index, void *userdata) {
    char prefix[32];
    (void)vcpu_index;
    snprintf(prefix, sizeof prefix, "E %u", (unsigned)(uintptr_t)userdata);
    print_counters(prefix);
}

static void on_exit(qemu_plugin_id_t id, void *userdata) {
    (void)id;
    (void)userdata;
    print_counters("T");
}

/* The instruction's halfwords, first one in the high bits (Thumb stores each halfword little-endian). */
static uint32_t encoding_of(const struct qemu_plugin_insn *insn) {
    const uint8_t *b = (const uint8_t *)qemu_plugin_insn_data(insn);
    size_t n = qemu_plugin_insn_size(insn);
    if (b == NULL || n < 2u) {
        return 0u;
    }
    uint32_t hw1 = (uint32_t)b[0] | ((uint32_t)b[1] << 8);
    if (n < 4u) {
        return hw1;
    }
    return (hw1 << 16) | (uint32_t)b[2] | ((uint32_t)b[3] << 8);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    size_t n = qemu_plugin_tb_n_insns(tb);
    mk_insn_info prev;
    mk_insn_info info;
    (void)id;
    for (size_t i = 0; i < n; ++i) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        char *disas = qemu_plugin_insn_disas(insn);
        mk_classify(disas, vaddr, encoding_of(insn), (unsigned)qemu_plugin_insn_size(insn), i > 0 ? &prev : NULL,
                    &info);
        if (s_dump) {
            char line[192];
            snprintf(line, sizeof line, "D %08" PRIx64 " %s %s\n", vaddr, mk_class_name(info.cls),
                     disas != NULL ? disas : "?");
            qemu_plugin_outs(line);
        }
        /* Marker callbacks first, so that a snapshot does not include the marked instruction. */
        for (int m = 0; m < s_n_markers; ++m) {
            const mk_marker *mk = &s_markers[m];
            int hit = mk->is_ret ? (info.is_return && vaddr >= mk->lo && vaddr < mk->hi) : (vaddr == mk->lo);
            if (hit) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS,
                                                       (void *)(uintptr_t)m);
            }
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &s_counters[info.cls], 1u);
        if (info.weight >= 0 && info.weight_amount > 0u) {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                       &s_counters[MK_N_CLASSES + info.weight], info.weight_amount);
        }
        for (int k = 0; k < s_n_isrs; ++k) {
            if (s_isrs[k] == vaddr) {
                qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                           &s_counters[MK_N_CLASSES + MK_W_IRQ_ENTRIES], 1u);
                break;
            }
        }
        free(disas);
        prev = info;
    }
}

static int parse_u64(const char *s, uint64_t *out, const char **end) {
    char *e = NULL;
    if (*s == '\0') {
        return 0;
    }
    *out = (uint64_t)strtoull(s, &e, 0);
    if (end != NULL) {
        *end = e;
        return e != s;
    }
    return e != s && *e == '\0';
}

static int parse_arg(const char *arg) {
    const char *eq = strchr(arg, '=');
    const char *value = eq != NULL ? eq + 1 : "";
    size_t key_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    if (key_len == 4 && strncmp(arg, "mark", 4) == 0) {
        if (s_n_markers >= MK_MAX_MARKERS) {
            return 0;
        }
        mk_marker *m = &s_markers[s_n_markers];
        m->is_ret = 0;
        if (!parse_u64(value, &m->lo, NULL)) {
            return 0;
        }
        m->hi = m->lo + 1u;
        s_n_markers++;
        return 1;
    }
    if (key_len == 3 && strncmp(arg, "ret", 3) == 0) {
        if (s_n_markers >= MK_MAX_MARKERS) {
            return 0;
        }
        mk_marker *m = &s_markers[s_n_markers];
        const char *rest = NULL;
        m->is_ret = 1;
        if (!parse_u64(value, &m->lo, &rest) || *rest != ':' || !parse_u64(rest + 1, &m->hi, NULL)) {
            return 0;
        }
        s_n_markers++;
        return 1;
    }
    if (key_len == 3 && strncmp(arg, "isr", 3) == 0) {
        if (s_n_isrs >= MK_MAX_ISRS) {
            return 0;
        }
        return parse_u64(value, &s_isrs[s_n_isrs++], NULL);
    }
    if (key_len == 4 && strncmp(arg, "dump", 4) == 0) {
        s_dump = strcmp(value, "0") != 0 && strcmp(value, "off") != 0;
        return 1;
    }
    return 0;
}

MK_QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                              char **argv) {
    char line[1024];
    size_t pos;
    (void)info;
    for (int i = 0; i < argc; ++i) {
        if (!parse_arg(argv[i])) {
            snprintf(line, sizeof line, "mk_icount: bad argument '%s'\n", argv[i]);
            qemu_plugin_outs(line);
            fputs(line, stderr); /* the log may not be enabled; QEMU refuses to start after a failed install */
            return -1;
        }
    }
    pos = (size_t)snprintf(line, sizeof line, "H %d classes=", MK_ICOUNT_OUTPUT_VERSION);
    for (int c = 0; c < MK_N_CLASSES && pos < sizeof line; ++c) {
        pos += (size_t)snprintf(line + pos, sizeof line - pos, "%s%s", c ? "," : "", mk_class_name(c));
    }
    if (pos < sizeof line) {
        pos += (size_t)snprintf(line + pos, sizeof line - pos, " weights=");
    }
    for (int w = 0; w < MK_N_WEIGHTS && pos < sizeof line; ++w) {
        pos += (size_t)snprintf(line + pos, sizeof line - pos, "%s%s", w ? "," : "", mk_weight_name(w));
    }
    if (pos < sizeof line) {
        snprintf(line + pos, sizeof line - pos, "\n");
    }
    qemu_plugin_outs(line);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_exit, NULL);
    return 0;
}
