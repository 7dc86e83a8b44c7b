/* The few declarations of QEMU's TCG plugin API (version 1, as exported by qemu-system-arm 7.2) that mk_icount.c
 * uses. Distributions ship the emulator without the plugin header, so this file declares just what the plugin
 * calls, written from the API's documented behaviour: the functions are resolved at load time from the QEMU binary
 * (`nm -D --defined-only $(which qemu-system-arm) | grep qemu_plugin` lists them). Structures QEMU owns stay
 * opaque; enum values are the ABI and must match QEMU's. */
#ifndef MK_QEMU_PLUGIN_API_H
#define MK_QEMU_PLUGIN_API_H

#include <stddef.h>
#include <stdint.h>

#define MK_QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;

/* Passed to qemu_plugin_install; only its address is used here, so it stays incomplete. */
typedef struct qemu_info_t qemu_info_t;

struct qemu_plugin_tb;
struct qemu_plugin_insn;

/* Whether a callback reads or writes guest registers: these callbacks do neither. */
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0, QEMU_PLUGIN_CB_R_REGS = 1, QEMU_PLUGIN_CB_RW_REGS = 2 };

/* The only inline operation of API version 1: *ptr += imm, emitted into the translated code. */
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
/* The instruction's bytes as fetched (qemu_plugin_insn_size of them). */
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
/* Returns a heap string (GLib allocation, which is the C allocator) the caller frees. */
char *qemu_plugin_insn_disas(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op, void *ptr,
                                                uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
/* Writes to QEMU's log: visible with `-d plugin`, into the file given with `-D`. */
void qemu_plugin_outs(const char *string);

#endif /* MK_QEMU_PLUGIN_API_H */
