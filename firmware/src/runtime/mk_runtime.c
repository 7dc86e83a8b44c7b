/* The runtime's protocol loop (docs/protocol.md): handshake, input loading, invoke, outputs, timings, run end, bye.
 * Single-threaded and heap-free: every buffer is static and sized at compile time. */
#include <string.h>

#include "mcukit/mk_hal.h"
#include "mcukit/mk_protocol.h"
#include "mcukit/mk_runtime.h"
#include "mk_sense.h"

/* Inputs whose fill level the runtime tracks; a model with more is refused at HELLO. */
#ifndef MK_MAX_IO
#define MK_MAX_IO 16
#endif

/* A partial frame is dropped after the line has been quiet this long, so a host that vanished mid-frame does not
 * poison the next command. */
#ifndef MK_RX_IDLE_RESET_MS
#define MK_RX_IDLE_RESET_MS 1000u
#endif

#define MK_STR2(x) #x
#define MK_STR(x) MK_STR2(x)

/* Per-chunk header of OUTPUT and SET_INPUT: u8 index, u32 offset. */
#define MK_CHUNK_HEAD 5u
#define MK_LAYER_NAME_MAX 64u

typedef struct {
    mk_frame_decoder rx;
    uint32_t filled[MK_MAX_IO]; /* contiguous bytes written to input i since the last invoke */
    uint32_t invokes;           /* since HELLO */
    uint32_t errors;            /* ERROR records sent since HELLO */
    uint32_t bad_frames;        /* frames rejected since HELLO */
    /* Last command, so a retried INVOKE (same seq) replays its results instead of running the model again on
     * inputs the model may have overwritten. */
    uint8_t have_last;
    uint8_t last_seq;
    uint8_t last_type;
    uint8_t last_invoke_ran; /* the last INVOKE ran the model (so it may be replayed, never re-run) */
    int last_invoke_rc;
    uint32_t last_ticks;
    uint8_t last_flags;
} mk_runtime_state;

static mk_runtime_state mk_rt;

/* Profiler state, written by the hooks the generated model calls. */
static uint32_t mk_layer_ticks[MK_MAX_LAYERS];
static uint32_t mk_layer_start;
static uint8_t mk_profiling;

void mk_profile_layer_begin(int i) {
    (void)i;
    if (mk_profiling) mk_layer_start = mk_hal_counter();
}

void mk_profile_layer_end(int i) {
    if (!mk_profiling || i < 0 || i >= MK_MAX_LAYERS) return;
    /* Unsigned subtraction is right across one counter wrap. */
    mk_layer_ticks[i] += mk_hal_counter() - mk_layer_start;
    mk_sense_between_layers(); /* after the layer's time is taken, before the next layer's starts */
}

/* No marker pin unless the HAL has one (mk_hal.h). Weak, so a HAL's own definition wins at link time. */
#if defined(__GNUC__)
__attribute__((weak)) void mk_hal_marker(int on) { (void)on; }
#endif

/* A plain loop rather than strlen: the runtime only measures short messages, and newlib's word-at-a-time strlen
 * would add about 220 bytes of flash that nothing else in the firmware needs. GCC 12 turns such a loop back into
 * a strlen call unless loop-distribution patterns are off for it. */
#if defined(__GNUC__) && !defined(__clang__)
#define MK_NO_LIBCALL_IDIOMS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define MK_NO_LIBCALL_IDIOMS
#endif
MK_NO_LIBCALL_IDIOMS static size_t mk_strlen(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

static void mk_write_str(const char *s) { mk_hal_write((const uint8_t *)s, mk_strlen(s)); }

void mk_log(const char *text) {
    mk_write_str(text);
    mk_write_str("\r\n");
}

/* Every frame the device sends is followed by CRLF so that, in a plain serial monitor, each frame is one short line
 * of noise and text lines always start at the left margin. The host reads the CRLF as an empty text line. */
static void mk_send(uint8_t type, uint8_t seq, const void *head, size_t head_len, const void *body,
                    size_t body_len) {
    mk_frame_write(type, seq, head, head_len, body, body_len);
    mk_write_str("\r\n");
}

static void mk_send_error(uint8_t seq, uint8_t cmd, uint8_t code, uint32_t detail, const char *text) {
    uint8_t head[6];
    head[0] = code;
    head[1] = cmd;
    mk_put_u32(&head[2], detail);
    mk_rt.errors++;
    mk_send(MK_MSG_ERROR, seq, head, sizeof head, text, mk_strlen(text));
}

static size_t mk_str_len_u8(const char *s) {
    const size_t n = s ? mk_strlen(s) : 0;
    return n > 255u ? 255u : n;
}

static void mk_part_str(mk_frame_writer *w, const char *s) {
    uint8_t n = (uint8_t)mk_str_len_u8(s);
    mk_frame_part(w, &n, 1);
    mk_frame_part(w, s, n);
}

static void mk_handle_hello(uint8_t seq) {
    const int n_in = mk_model_num_inputs();
    const int n_out = mk_model_num_outputs();
    const char *board = mk_hal_board_name();
    const char *version = MK_VERSION_STRING;
    const char *hash = mk_model_hash();
    const char *unit = mk_hal_counter_unit();
    mk_sense_hello();
    memset(&mk_rt.filled, 0, sizeof mk_rt.filled);
    mk_rt.invokes = 0;
    mk_rt.errors = 0;
    mk_rt.bad_frames = 0;
    mk_rt.have_last = 0;
    if (n_in < 0 || n_out < 0 || n_in > MK_MAX_IO || n_out > 255) {
        mk_send_error(seq, MK_MSG_HELLO, MK_PERR_INFO_TOO_LARGE, (uint32_t)n_in, "too many model inputs/outputs");
        return;
    }
    const size_t len = 16u + 4u * (size_t)(n_in + n_out) + 4u + mk_str_len_u8(board) + mk_str_len_u8(version) +
                       mk_str_len_u8(hash) + mk_str_len_u8(unit);
    if (len > MK_FRAME_MAX_PAYLOAD) {
        mk_send_error(seq, MK_MSG_HELLO, MK_PERR_INFO_TOO_LARGE, (uint32_t)len, "INFO record larger than a frame");
        return;
    }
    uint8_t fixed[16];
    mk_put_u16(&fixed[0], MK_PROTOCOL_VERSION);
    mk_put_u16(&fixed[2], MK_FRAME_MAX_PAYLOAD);
    mk_put_u32(&fixed[4], mk_model_arena_bytes());
    mk_put_u32(&fixed[8], mk_hal_counter_hz());
    fixed[12] = (uint8_t)n_in;
    fixed[13] = (uint8_t)n_out;
    const int n_layers = mk_model_num_layers();
    mk_put_u16(&fixed[14], (uint32_t)(n_layers < 0 ? 0 : n_layers > 65535 ? 65535 : n_layers));
    mk_frame_writer w;
    mk_frame_begin(&w, MK_MSG_INFO, seq, len);
    mk_frame_part(&w, fixed, sizeof fixed);
    uint8_t b[4];
    for (int i = 0; i < n_in; ++i) {
        mk_put_u32(b, (uint32_t)mk_model_input_bytes(i));
        mk_frame_part(&w, b, 4);
    }
    for (int i = 0; i < n_out; ++i) {
        mk_put_u32(b, (uint32_t)mk_model_output_bytes(i));
        mk_frame_part(&w, b, 4);
    }
    mk_part_str(&w, board);
    mk_part_str(&w, version);
    mk_part_str(&w, hash);
    mk_part_str(&w, unit);
    mk_frame_end(&w);
    mk_write_str("\r\n");
}

static void mk_handle_set_input(uint8_t seq, const uint8_t *p, size_t n) {
    if (n < MK_CHUNK_HEAD) {
        mk_send_error(seq, MK_MSG_SET_INPUT, MK_PERR_BAD_SIZE, (uint32_t)n, "SET_INPUT shorter than its header");
        return;
    }
    const int idx = p[0];
    const uint32_t off = mk_get_u32(&p[1]);
    const uint32_t len = (uint32_t)(n - MK_CHUNK_HEAD);
    if (idx >= mk_model_num_inputs()) {
        mk_send_error(seq, MK_MSG_SET_INPUT, MK_PERR_BAD_SIZE, (uint32_t)idx, "no such input");
        return;
    }
    const uint32_t size = (uint32_t)mk_model_input_bytes(idx);
    if (off > size || len > size - off) {
        mk_send_error(seq, MK_MSG_SET_INPUT, MK_PERR_BAD_SIZE, off, "chunk beyond the end of the input");
        return;
    }
    /* Chunks must arrive in order (a resent chunk overlaps what is there, which is harmless): then "filled equals
     * size" proves every byte of the input was written. */
    if (off > mk_rt.filled[idx]) {
        mk_send_error(seq, MK_MSG_SET_INPUT, MK_PERR_BAD_SIZE, off, "gap before this input chunk");
        return;
    }
    memcpy((uint8_t *)mk_model_input_ptr(idx) + off, &p[MK_CHUNK_HEAD], len);
    if (off + len > mk_rt.filled[idx]) mk_rt.filled[idx] = off + len;
    uint8_t ack[11];
    ack[0] = (uint8_t)idx;
    mk_put_u32(&ack[1], off);
    mk_put_u16(&ack[5], len);
    mk_put_u32(&ack[7], mk_rt.filled[idx]);
    mk_send(MK_MSG_INPUT_ACK, seq, ack, sizeof ack, NULL, 0);
}

/* Outputs, layer times and the TIMING record that closes an invoke's answer; also used to replay it. */
static void mk_send_results(uint8_t seq) {
    uint32_t n_out_frames = 0;
    uint32_t n_layer_frames = 0;
    const size_t chunk = MK_FRAME_MAX_PAYLOAD - MK_CHUNK_HEAD;
    for (int i = 0; i < mk_model_num_outputs(); ++i) {
        const uint8_t *data = (const uint8_t *)mk_model_output_ptr(i);
        const size_t size = mk_model_output_bytes(i);
        size_t off = 0;
        do {
            const size_t n = MK_MIN(chunk, size - off);
            uint8_t head[MK_CHUNK_HEAD];
            head[0] = (uint8_t)i;
            mk_put_u32(&head[1], (uint32_t)off);
            mk_send(MK_MSG_OUTPUT, seq, head, sizeof head, data + off, n);
            n_out_frames++;
            off += n;
        } while (off < size);
    }
    if (mk_rt.last_flags & MK_INVOKE_PROFILE) {
        const int n_layers = MK_MIN(mk_model_num_layers(), MK_MAX_LAYERS);
        for (int i = 0; i < n_layers; ++i) {
            const char *name = mk_model_layer_name(i);
            size_t name_len = mk_str_len_u8(name);
            if (name_len > MK_LAYER_NAME_MAX) name_len = MK_LAYER_NAME_MAX;
            uint8_t head[7];
            mk_put_u16(&head[0], (uint32_t)i);
            mk_put_u32(&head[2], mk_layer_ticks[i]);
            head[6] = (uint8_t)name_len;
            mk_send(MK_MSG_LAYER, seq, head, sizeof head, name, name_len);
            n_layer_frames++;
        }
    }
    mk_sense_send(seq);
    uint8_t t[13];
    mk_put_u32(&t[0], mk_rt.last_ticks);
    mk_put_u32(&t[4], mk_rt.invokes);
    mk_put_u16(&t[8], n_out_frames);
    mk_put_u16(&t[10], n_layer_frames);
    t[12] = mk_rt.last_flags;
    mk_send(MK_MSG_TIMING, seq, t, sizeof t, NULL, 0);
}

static void mk_handle_invoke(uint8_t seq, const uint8_t *p, size_t n, int replay) {
    if (replay) {
        if (mk_rt.last_invoke_rc == 0) {
            mk_send_results(seq);
        } else {
            mk_send_error(seq, MK_MSG_INVOKE, MK_PERR_MODEL, (uint32_t)mk_rt.last_invoke_rc, "model invoke failed");
        }
        return;
    }
    mk_rt.last_invoke_ran = 0;
    if (n != 1) {
        mk_send_error(seq, MK_MSG_INVOKE, MK_PERR_BAD_SIZE, (uint32_t)n, "INVOKE takes one flags byte");
        return;
    }
    for (int i = 0; i < mk_model_num_inputs(); ++i) {
        if (mk_rt.filled[i] != (uint32_t)mk_model_input_bytes(i)) {
            mk_send_error(seq, MK_MSG_INVOKE, MK_PERR_INPUT_INCOMPLETE, (uint32_t)i, "input not fully written");
            return;
        }
    }
    mk_rt.last_flags = (uint8_t)(p[0] & MK_INVOKE_PROFILE);
    memset(mk_layer_ticks, 0, sizeof mk_layer_ticks);
    mk_profiling = (uint8_t)(mk_rt.last_flags & MK_INVOKE_PROFILE);
    /* The marker brackets exactly the timed window; sensor samples sit just outside it (and between layers when
     * profiling, where their time is taken out of the total below). */
    mk_sense_before();
    mk_hal_marker(1);
    const uint32_t t0 = mk_hal_counter();
    const int rc = mk_model_invoke();
    const uint32_t t1 = mk_hal_counter();
    mk_hal_marker(0);
    mk_sense_after();
    mk_profiling = 0;
    mk_rt.last_invoke_ran = 1;
    memset(&mk_rt.filled, 0, sizeof mk_rt.filled);
    mk_rt.invokes++;
    mk_rt.last_invoke_rc = rc;
    mk_rt.last_ticks = t1 - t0 - mk_sense_overhead();
    if (rc != 0) {
        mk_send_error(seq, MK_MSG_INVOKE, MK_PERR_MODEL, (uint32_t)rc, "model invoke failed");
        return;
    }
    mk_send_results(seq);
}

static void mk_handle_frame(const mk_frame_decoder *d) {
    const uint8_t seq = d->seq;
    const uint8_t type = d->type;
    /* Only an INVOKE that ran the model is replayed; one refused before running is simply re-checked. */
    const int replay = mk_rt.have_last && seq == mk_rt.last_seq && type == mk_rt.last_type && mk_rt.last_invoke_ran;
    switch (type) {
    case MK_MSG_HELLO:
        mk_handle_hello(seq);
        break;
    case MK_MSG_SET_INPUT:
        mk_handle_set_input(seq, d->payload, d->len);
        break;
    case MK_MSG_INVOKE:
        mk_handle_invoke(seq, d->payload, d->len, replay);
        break;
    case MK_MSG_END_RUN: {
        uint8_t r[12];
        mk_put_u32(&r[0], mk_rt.invokes);
        mk_put_u32(&r[4], mk_rt.errors);
        mk_put_u32(&r[8], mk_rt.bad_frames);
        mk_send(MK_MSG_RUN_END, seq, r, sizeof r, NULL, 0);
        break;
    }
    case MK_MSG_BYE:
        mk_send(MK_MSG_BYE_ACK, seq, NULL, 0, NULL, 0);
        mk_log("mcukit bye");
        mk_hal_exit(0);
        break;
    default:
        mk_send_error(seq, type, MK_PERR_UNKNOWN_MSG, type, "unknown command");
        break;
    }
    mk_rt.have_last = 1;
    mk_rt.last_seq = seq;
    mk_rt.last_type = type;
}

void mk_runtime_run(void) {
    mk_hal_init();
    mk_frame_decoder_reset(&mk_rt.rx);
    mk_write_str("\r\nmcukit ready proto=" MK_STR(MK_PROTOCOL_VERSION) " board=");
    mk_write_str(mk_hal_board_name());
    mk_write_str(" version=" MK_VERSION_STRING " model=");
    mk_write_str(mk_model_hash());
    mk_write_str("\r\n");
    mk_sense_start();
    uint32_t last_rx = mk_hal_millis();
    for (;;) {
        uint8_t buf[64];
        const size_t n = mk_hal_read(buf, sizeof buf, 100);
        if (n == 0) {
            if (mk_frame_decoder_busy(&mk_rt.rx) && mk_hal_millis() - last_rx > MK_RX_IDLE_RESET_MS) {
                mk_frame_decoder_reset(&mk_rt.rx);
            }
            continue;
        }
        last_rx = mk_hal_millis();
        for (size_t i = 0; i < n; ++i) {
            const mk_frame_event ev = mk_frame_decoder_feed(&mk_rt.rx, buf[i]);
            if (ev == MK_FRAME_READY) {
                mk_handle_frame(&mk_rt.rx);
            } else if (ev == MK_FRAME_BAD_CRC) {
                mk_rt.bad_frames++;
                mk_send_error(mk_rt.rx.seq, mk_rt.rx.type, MK_PERR_BAD_FRAME, 0, "frame CRC mismatch");
            } else if (ev == MK_FRAME_TOO_LONG) {
                mk_rt.bad_frames++;
                mk_send_error(mk_rt.rx.seq, mk_rt.rx.type, MK_PERR_FRAME_TOO_LONG, mk_rt.rx.len,
                              "frame longer than MK_FRAME_MAX_PAYLOAD");
            }
        }
    }
}
