/* Frame encoder and incremental decoder of the serial protocol (format in mk_protocol.h, docs/protocol.md). */
#include "mcukit/mk_hal.h"
#include "mcukit/mk_protocol.h"

#if MK_FRAME_MAX_PAYLOAD < 64 || MK_FRAME_MAX_PAYLOAD > 65535
#error "MK_FRAME_MAX_PAYLOAD must be in 64..65535"
#endif

void mk_frame_begin(mk_frame_writer *w, uint8_t type, uint8_t seq, size_t len) {
    uint8_t hdr[MK_FRAME_HEADER_BYTES];
    hdr[0] = MK_FRAME_SYNC0;
    hdr[1] = MK_FRAME_SYNC1;
    hdr[2] = type;
    hdr[3] = seq;
    mk_put_u16(&hdr[4], (uint32_t)len);
    hdr[6] = mk_crc8(&hdr[2], 4);
    w->crc = mk_crc32_update(0, &hdr[2], 5);
    mk_hal_write(hdr, sizeof hdr);
}

void mk_frame_part(mk_frame_writer *w, const void *data, size_t n) {
    if (n == 0) return;
    w->crc = mk_crc32_update(w->crc, (const uint8_t *)data, n);
    mk_hal_write((const uint8_t *)data, n);
}

void mk_frame_end(mk_frame_writer *w) {
    uint8_t tail[MK_FRAME_CRC_BYTES];
    mk_put_u32(tail, w->crc);
    mk_hal_write(tail, sizeof tail);
}

void mk_frame_write(uint8_t type, uint8_t seq, const void *head, size_t head_len, const void *body,
                    size_t body_len) {
    mk_frame_writer w;
    mk_frame_begin(&w, type, seq, head_len + body_len);
    mk_frame_part(&w, head, head_len);
    mk_frame_part(&w, body, body_len);
    mk_frame_end(&w);
}

enum { ST_HUNT = 0, ST_SYNC1, ST_HEADER, ST_PAYLOAD, ST_CRC };

void mk_frame_decoder_reset(mk_frame_decoder *d) {
    d->state = ST_HUNT;
    d->hdr_fill = 0;
    d->len = 0;
    d->fill = 0;
}

int mk_frame_decoder_busy(const mk_frame_decoder *d) { return d->state != ST_HUNT; }

/* One step of the state machine. A header that fails its check or announces too long a payload returns 1 so the
 * caller re-scans the header bytes: a real frame may start inside a false sync's header. */
static int mk_frame_step(mk_frame_decoder *d, uint8_t byte, mk_frame_event *ev) {
    *ev = MK_FRAME_NONE;
    switch (d->state) {
    case ST_HUNT:
        if (byte == MK_FRAME_SYNC0) d->state = ST_SYNC1;
        return 0;
    case ST_SYNC1:
        if (byte == MK_FRAME_SYNC1) {
            d->state = ST_HEADER;
            d->hdr_fill = 0;
        } else if (byte != MK_FRAME_SYNC0) {
            d->state = ST_HUNT;
        }
        return 0;
    case ST_HEADER:
        d->hdr[d->hdr_fill++] = byte;
        if (d->hdr_fill < sizeof d->hdr) return 0;
        if (mk_crc8(d->hdr, 4) != d->hdr[4]) return 1;
        d->type = d->hdr[0];
        d->seq = d->hdr[1];
        d->len = (uint16_t)mk_get_u16(&d->hdr[2]);
        d->fill = 0;
        if (d->len > MK_FRAME_MAX_PAYLOAD) {
            /* Hunt inside the announced bytes rather than skip them: a valid-looking header with an impossible
             * length is more likely noise than a real frame, and skipping could swallow real frames. */
            *ev = MK_FRAME_TOO_LONG;
            return 1;
        }
        d->state = d->len > 0 ? ST_PAYLOAD : ST_CRC;
        return 0;
    case ST_PAYLOAD:
        d->payload[d->fill++] = byte;
        if (d->fill == d->len) {
            d->state = ST_CRC;
            d->fill = 0;
        }
        return 0;
    case ST_CRC:
        d->crc_bytes[d->fill++] = byte;
        if (d->fill < MK_FRAME_CRC_BYTES) return 0;
        {
            uint32_t crc = mk_crc32_update(0, d->hdr, sizeof d->hdr);
            crc = mk_crc32_update(crc, d->payload, d->len);
            *ev = crc == mk_get_u32(d->crc_bytes) ? MK_FRAME_READY : MK_FRAME_BAD_CRC;
        }
        d->state = ST_HUNT;
        return 0;
    default:
        d->state = ST_HUNT;
        return 0;
    }
}

mk_frame_event mk_frame_decoder_feed(mk_frame_decoder *d, uint8_t byte) {
    mk_frame_event ev;
    if (!mk_frame_step(d, byte, &ev)) return ev;
    /* Rejected header: re-scan its 5 bytes from the hunting state. Five bytes cannot complete a 7-byte header, so
     * the re-scan cannot be rejected again. */
    const mk_frame_event result = ev;
    uint8_t again[sizeof d->hdr];
    for (size_t i = 0; i < sizeof again; ++i) again[i] = d->hdr[i];
    d->state = ST_HUNT;
    for (size_t i = 0; i < sizeof again; ++i) (void)mk_frame_step(d, again[i], &ev);
    return result;
}
