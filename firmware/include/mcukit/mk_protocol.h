/* The mcukit serial protocol, device side: CRCs, frame encoder and incremental frame decoder, message numbers.
 * docs/protocol.md is the specification; mcukit/device/framing.py and protocol.py are the host side and a unit test
 * checks that the numbers below match them.
 *
 * Frame (all integers little-endian):
 *   A5 5A | type u8 | seq u8 | len u16 | hcheck u8 | payload[len] | crc32 u32
 * hcheck = CRC-8 (poly 0x07, init 0xFF) over type..len, so a false sync found in noise is rejected after 7 bytes
 * instead of swallowing up to a maximum-length payload. crc32 = CRC-32 (IEEE 802.3, as zlib) over type..payload.
 * Human-readable text lines may appear between frames; they never contain the byte 0xA5. */
#ifndef MK_PROTOCOL_H
#define MK_PROTOCOL_H

#include "mcukit/mk_types.h"

/* Version of the message set. Bump on any incompatible change; the frame format itself never changes, so every
 * version can at least exchange HELLO/INFO and report a mismatch. */
#ifndef MK_PROTOCOL_VERSION
#define MK_PROTOCOL_VERSION 1
#endif

#define MK_FRAME_SYNC0 0xA5u
#define MK_FRAME_SYNC1 0x5Au
#define MK_FRAME_HEADER_BYTES 7u /* sync(2) type seq len(2) hcheck */
#define MK_FRAME_CRC_BYTES 4u
#define MK_FRAME_OVERHEAD (MK_FRAME_HEADER_BYTES + MK_FRAME_CRC_BYTES)

/* Largest payload this firmware accepts (and sends). Advertised in INFO so the host sizes its chunks; the receive
 * buffer is this big, so small boards can lower it (>= 64). */
#ifndef MK_FRAME_MAX_PAYLOAD
#define MK_FRAME_MAX_PAYLOAD 1024u
#endif

/* Host -> device commands. */
#define MK_MSG_HELLO 0x01u     /* u16 host protocol version                          -> INFO */
#define MK_MSG_SET_INPUT 0x02u /* u8 index, u32 offset, data                         -> INPUT_ACK */
#define MK_MSG_INVOKE 0x03u    /* u8 flags (MK_INVOKE_PROFILE)                       -> OUTPUT*, LAYER*, TIMING */
#define MK_MSG_END_RUN 0x04u   /* empty                                              -> RUN_END */
#define MK_MSG_BYE 0x05u       /* empty                                              -> BYE_ACK, then mk_hal_exit(0) */

/* Device -> host records. */
#define MK_MSG_INFO 0x81u
#define MK_MSG_INPUT_ACK 0x82u /* u8 index, u32 offset, u16 length, u32 bytes filled so far */
#define MK_MSG_OUTPUT 0x83u    /* u8 index, u32 offset, data */
#define MK_MSG_LAYER 0x84u     /* u16 index, u32 ticks, u8 name length, name */
#define MK_MSG_TIMING 0x85u    /* u32 ticks, u32 invoke number, u16 OUTPUT frames, u16 LAYER frames, u8 flags */
#define MK_MSG_RUN_END 0x86u   /* u32 invokes, u32 errors, u32 bad frames (since HELLO) */
#define MK_MSG_BYE_ACK 0x87u   /* empty */
#define MK_MSG_SENSOR 0xA0u    /* reserved: u32 counter, u8 channel, u8 kind, i32 value */
#define MK_MSG_ERROR 0xE0u     /* u8 code, u8 command type, u32 detail, text */

#define MK_INVOKE_PROFILE 0x01u

/* ERROR codes. */
#define MK_PERR_BAD_FRAME 1u        /* CRC mismatch in a frame whose header was valid */
#define MK_PERR_FRAME_TOO_LONG 2u   /* header announces more than MK_FRAME_MAX_PAYLOAD */
#define MK_PERR_UNKNOWN_MSG 3u      /* command type not known to this firmware */
#define MK_PERR_BAD_SIZE 4u         /* payload length, tensor index or offset out of range */
#define MK_PERR_INPUT_INCOMPLETE 5u /* INVOKE before every input byte was written since the last INVOKE */
#define MK_PERR_MODEL 6u            /* mk_model_invoke() returned non-zero; detail = its return value */
#define MK_PERR_INFO_TOO_LARGE 7u   /* the model's INFO record does not fit in one frame */

/* CRC-32 (reflected 0xEDB88320, as zlib). Start with crc = 0 and chain calls over consecutive pieces. */
uint32_t mk_crc32_update(uint32_t crc, const uint8_t *data, size_t n);
/* CRC-8, polynomial 0x07, initial value 0xFF, no reflection. */
uint8_t mk_crc8(const uint8_t *data, size_t n);

/* Streaming frame writer: begin() sends the header for a payload of exactly len bytes, part() sends payload pieces
 * (running the CRC as they go, so no frame-sized transmit buffer exists), end() sends the CRC. */
typedef struct {
    uint32_t crc;
} mk_frame_writer;

void mk_frame_begin(mk_frame_writer *w, uint8_t type, uint8_t seq, size_t len);
void mk_frame_part(mk_frame_writer *w, const void *data, size_t n);
void mk_frame_end(mk_frame_writer *w);

/* One frame whose payload is head followed by body (either may be empty/NULL): the OUTPUT record streams straight
 * from the tensor. head_len + body_len must be <= MK_FRAME_MAX_PAYLOAD. */
void mk_frame_write(uint8_t type, uint8_t seq, const void *head, size_t head_len, const void *body,
                    size_t body_len);

typedef enum {
    MK_FRAME_NONE = 0,          /* byte consumed, no complete frame yet */
    MK_FRAME_READY = 1,         /* a valid frame is in the decoder: type, seq, len, payload */
    MK_FRAME_BAD_CRC = -1,      /* a frame with a valid header failed its CRC; seq/type are the header's */
    MK_FRAME_TOO_LONG = -2,     /* a valid header announced more than MK_FRAME_MAX_PAYLOAD; hunting resumes */
} mk_frame_event;

/* Incremental decoder: feed it bytes one at a time. Bytes outside frames (text, noise) are skipped; after any
 * error it hunts for the next sync. */
typedef struct {
    uint8_t state;
    uint8_t type;
    uint8_t seq;
    uint8_t hdr_fill;
    uint16_t len;
    uint16_t fill;
    uint8_t hdr[5]; /* type seq len(2) hcheck */
    uint8_t crc_bytes[MK_FRAME_CRC_BYTES];
    uint8_t payload[MK_FRAME_MAX_PAYLOAD];
} mk_frame_decoder;

void mk_frame_decoder_reset(mk_frame_decoder *d);
mk_frame_event mk_frame_decoder_feed(mk_frame_decoder *d, uint8_t byte);
/* Non-zero while the decoder is inside a frame (used to drop a partial frame after the line goes quiet). */
int mk_frame_decoder_busy(const mk_frame_decoder *d);

/* Little-endian helpers shared by the runtime's encoders. */
static inline void mk_put_u16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
}
static inline void mk_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)((v >> 24) & 0xFFu);
}
static inline uint32_t mk_get_u16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static inline uint32_t mk_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

#endif /* MK_PROTOCOL_H */
