/* Protocol framing self-test: the firmware's CRCs, frame encoder and incremental decoder against frames encoded
 * by the host side (mk_golden_frames.h from mcukit/device/framing.py via test/gen_golden.py). The encoder's bytes
 * are captured instead of sent (mk_test_capture_*, which needs -Wl,--wrap=mk_hal_write). */
#include <string.h>

#include "mcukit/mk_hal.h"
#include "mcukit/mk_protocol.h"
#include "mk_golden_frames.h"
#include "mk_test.h"

static const uint8_t k_check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
static mk_frame_decoder s_dec; /* holds a MK_FRAME_MAX_PAYLOAD buffer: static, not on the stack */
static uint8_t s_buf[512];

typedef struct {
    int ready;          /* READY events seen */
    int bad_crc;        /* BAD_CRC events seen */
    int too_long;       /* TOO_LONG events seen */
    size_t ready_at;    /* index of the byte that completed the last READY frame */
} feed_result;

static feed_result feed(const uint8_t *bytes, size_t n) {
    feed_result r = {0, 0, 0, (size_t)-1};
    for (size_t i = 0; i < n; ++i) {
        const mk_frame_event ev = mk_frame_decoder_feed(&s_dec, bytes[i]);
        if (ev == MK_FRAME_READY) {
            r.ready++;
            r.ready_at = i;
        } else if (ev == MK_FRAME_BAD_CRC) {
            r.bad_crc++;
        } else if (ev == MK_FRAME_TOO_LONG) {
            r.too_long++;
        }
    }
    return r;
}

static void crc32_check_value(void) {
    MK_CHECK_EQ(mk_crc32_update(0, k_check, sizeof k_check), MK_GOLDEN_CRC32_CHECK);
    /* Chained over pieces == one call over the whole (the encoder streams payloads piece by piece). */
    const uint32_t part = mk_crc32_update(0, k_check, 4);
    MK_CHECK_EQ(mk_crc32_update(part, k_check + 4, sizeof k_check - 4), MK_GOLDEN_CRC32_CHECK);
    MK_CHECK_EQ(mk_crc32_update(0, k_check, 0), 0);
}

static void crc8_check_value(void) { MK_CHECK_EQ(mk_crc8(k_check, sizeof k_check), MK_GOLDEN_CRC8_CHECK); }

static void encode_matches_host(void) {
    static const uint8_t hello_payload[] = {0x01, 0x00};
    size_t n;

    mk_test_capture_begin(s_buf, sizeof s_buf);
    mk_frame_write(MK_GOLDEN_FRAME_HELLO_TYPE, MK_GOLDEN_FRAME_HELLO_SEQ, hello_payload, sizeof hello_payload,
                   NULL, 0);
    n = mk_test_capture_end();
    if (!MK_CHECK(n > 0 /* capture works: linked with -Wl,--wrap=mk_hal_write */)) return;
    MK_CHECK_EQ(n, sizeof mk_golden_frame_hello);
    MK_CHECK_BYTES(s_buf, mk_golden_frame_hello, sizeof mk_golden_frame_hello);

    /* head + body split, as OUTPUT records stream a tensor after a 5-byte head. */
    mk_test_capture_begin(s_buf, sizeof s_buf);
    mk_frame_write(MK_GOLDEN_FRAME_OUTPUT_TYPE, MK_GOLDEN_FRAME_OUTPUT_SEQ, mk_golden_frame_payload_output, 5,
                   mk_golden_frame_payload_output + 5, MK_GOLDEN_FRAME_OUTPUT_LEN - 5);
    n = mk_test_capture_end();
    MK_CHECK_EQ(n, sizeof mk_golden_frame_output);
    MK_CHECK_BYTES(s_buf, mk_golden_frame_output, sizeof mk_golden_frame_output);

    mk_test_capture_begin(s_buf, sizeof s_buf);
    mk_frame_write(MK_GOLDEN_FRAME_BYE_TYPE, MK_GOLDEN_FRAME_BYE_SEQ, NULL, 0, NULL, 0);
    n = mk_test_capture_end();
    MK_CHECK_EQ(n, sizeof mk_golden_frame_bye);
    MK_CHECK_BYTES(s_buf, mk_golden_frame_bye, sizeof mk_golden_frame_bye);
}

static void decode_host_frames(void) {
    mk_frame_decoder_reset(&s_dec);
    /* Text before a frame (a boot banner) is skipped. */
    static const uint8_t banner[] = "mcukit boot\r\n";
    feed_result r = feed(banner, sizeof banner - 1);
    MK_CHECK_EQ(r.ready + r.bad_crc + r.too_long, 0);

    r = feed(mk_golden_frame_output, sizeof mk_golden_frame_output);
    MK_CHECK_EQ(r.ready, 1);
    MK_CHECK_EQ(r.ready_at, sizeof mk_golden_frame_output - 1); /* complete exactly at the last CRC byte */
    MK_CHECK_EQ(s_dec.type, MK_GOLDEN_FRAME_OUTPUT_TYPE);
    MK_CHECK_EQ(s_dec.seq, MK_GOLDEN_FRAME_OUTPUT_SEQ);
    MK_CHECK_EQ(s_dec.len, MK_GOLDEN_FRAME_OUTPUT_LEN);
    MK_CHECK_BYTES(s_dec.payload, mk_golden_frame_payload_output, MK_GOLDEN_FRAME_OUTPUT_LEN);

    /* Back-to-back frames, including an empty payload. */
    r = feed(mk_golden_frame_hello, sizeof mk_golden_frame_hello);
    MK_CHECK_EQ(r.ready, 1);
    MK_CHECK_EQ(s_dec.type, MK_GOLDEN_FRAME_HELLO_TYPE);
    MK_CHECK_EQ(s_dec.len, MK_GOLDEN_FRAME_HELLO_LEN);
    r = feed(mk_golden_frame_bye, sizeof mk_golden_frame_bye);
    MK_CHECK_EQ(r.ready, 1);
    MK_CHECK_EQ(s_dec.type, MK_GOLDEN_FRAME_BYE_TYPE);
    MK_CHECK_EQ(s_dec.seq, MK_GOLDEN_FRAME_BYE_SEQ);
    MK_CHECK_EQ(s_dec.len, 0);
    MK_CHECK(!mk_frame_decoder_busy(&s_dec));
}

static void round_trip_through_encoder(void) {
    static const uint8_t payload[] = {0xA5, 0x5A, 0x00, 0xFF, 0x10, 0x0A, 0x0D}; /* sync bytes inside payload */
    mk_test_capture_begin(s_buf, sizeof s_buf);
    mk_frame_write(0x42u, 9u, payload, 3, payload + 3, sizeof payload - 3);
    const size_t n = mk_test_capture_end();
    if (!MK_CHECK_EQ(n, MK_FRAME_OVERHEAD + sizeof payload)) return;
    mk_frame_decoder_reset(&s_dec);
    const feed_result r = feed(s_buf, n);
    MK_CHECK_EQ(r.ready, 1);
    MK_CHECK_EQ(s_dec.type, 0x42);
    MK_CHECK_EQ(s_dec.seq, 9);
    MK_CHECK_EQ(s_dec.len, sizeof payload);
    MK_CHECK_BYTES(s_dec.payload, payload, sizeof payload);
}

static void corrupted_payload_rejected(void) {
    /* Every single-bit flip in the payload or the CRC must turn READY into BAD_CRC. */
    const size_t n = sizeof mk_golden_frame_output;
    for (size_t pos = MK_FRAME_HEADER_BYTES; pos < n; pos += 37) {
        memcpy(s_buf, mk_golden_frame_output, n);
        s_buf[pos] ^= (uint8_t)(1u << (pos % 8u));
        mk_frame_decoder_reset(&s_dec);
        const feed_result r = feed(s_buf, n);
        if (!MK_CHECK_EQ(r.ready, 0) || !MK_CHECK_EQ(r.bad_crc, 1)) {
            mk_test_note("flipped_byte", (int64_t)pos);
            return;
        }
    }
    /* The CRC's last byte too. */
    memcpy(s_buf, mk_golden_frame_output, n);
    s_buf[n - 1] ^= 0x80u;
    mk_frame_decoder_reset(&s_dec);
    const feed_result r = feed(s_buf, n);
    MK_CHECK_EQ(r.ready, 0);
    MK_CHECK_EQ(r.bad_crc, 1);
}

static void corrupted_header_rejected_then_resync(void) {
    /* A header byte flipped (the length) fails the CRC-8 header check: no frame, no BAD_CRC either (the header
     * was never trusted). A valid frame right after it must still be found. */
    const size_t n1 = sizeof mk_golden_frame_hello, n2 = sizeof mk_golden_frame_bye;
    memcpy(s_buf, mk_golden_frame_hello, n1);
    s_buf[4] ^= 0x01u;
    memcpy(s_buf + n1, mk_golden_frame_bye, n2);
    mk_frame_decoder_reset(&s_dec);
    const feed_result r = feed(s_buf, n1 + n2);
    MK_CHECK_EQ(r.ready, 1);
    MK_CHECK_EQ(r.bad_crc, 0);
    MK_CHECK_EQ(s_dec.type, MK_GOLDEN_FRAME_BYE_TYPE);
    MK_CHECK_EQ(r.ready_at, n1 + n2 - 1);
}

static void oversized_frame_rejected(void) {
    /* A valid header announcing more than MK_FRAME_MAX_PAYLOAD: TOO_LONG, then the next frame is decoded. */
    const size_t n1 = sizeof mk_golden_header_too_long, n2 = sizeof mk_golden_frame_hello;
    memcpy(s_buf, mk_golden_header_too_long, n1);
    memcpy(s_buf + n1, mk_golden_frame_hello, n2);
    mk_frame_decoder_reset(&s_dec);
    const feed_result r = feed(s_buf, n1 + n2);
    MK_CHECK_EQ(r.too_long, 1);
    MK_CHECK_EQ(r.ready, 1);
    MK_CHECK_EQ(s_dec.type, MK_GOLDEN_FRAME_HELLO_TYPE);
}

static void truncated_frame_not_delivered(void) {
    mk_frame_decoder_reset(&s_dec);
    const feed_result r = feed(mk_golden_frame_output, sizeof mk_golden_frame_output - 1);
    MK_CHECK_EQ(r.ready + r.bad_crc, 0);
    MK_CHECK(mk_frame_decoder_busy(&s_dec));
}

int mk_main(void) {
    mk_hal_init();
    mk_test_begin("framing");
    MK_RUN(crc32_check_value);
    MK_RUN(crc8_check_value);
    MK_RUN(encode_matches_host);
    MK_RUN(decode_host_frames);
    MK_RUN(round_trip_through_encoder);
    MK_RUN(corrupted_payload_rejected);
    MK_RUN(corrupted_header_rejected_then_resync);
    MK_RUN(oversized_frame_rejected);
    MK_RUN(truncated_frame_not_delivered);
    return mk_test_end();
}
