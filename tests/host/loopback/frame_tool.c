/* Test-only: exposes the firmware's CRCs and frame decoder to Python (built with mk_crc.c and mk_frame.c only).
 *   frame_tool crc     < bytes   prints "<crc32 hex> <crc8 hex>" of stdin
 *   frame_tool decode  < stream  feeds stdin byte by byte to the decoder and prints one line per event:
 *                                "F <type> <seq> <len> <crc32 of payload>", "BAD_CRC <type> <seq>", "TOO_LONG" */
#include <stdio.h>
#include <string.h>

#include "mcukit/mk_protocol.h"

/* mk_frame.c's encoder needs a HAL write; this tool never encodes. */
void mk_hal_write(const uint8_t *data, size_t n) { fwrite(data, 1, n, stdout); }

static uint8_t input[1 << 20];
static mk_frame_decoder dec;

int main(int argc, char **argv) {
    const size_t n = fread(input, 1, sizeof input, stdin);
    if (argc > 1 && strcmp(argv[1], "crc") == 0) {
        printf("%08lx %02x\n", (unsigned long)mk_crc32_update(0, input, n), (unsigned)mk_crc8(input, n));
        return 0;
    }
    mk_frame_decoder_reset(&dec);
    for (size_t i = 0; i < n; ++i) {
        const mk_frame_event ev = mk_frame_decoder_feed(&dec, input[i]);
        if (ev == MK_FRAME_READY) {
            printf("F %u %u %u %08lx\n", (unsigned)dec.type, (unsigned)dec.seq, (unsigned)dec.len,
                   (unsigned long)mk_crc32_update(0, dec.payload, dec.len));
        } else if (ev == MK_FRAME_BAD_CRC) {
            printf("BAD_CRC %u %u\n", (unsigned)dec.type, (unsigned)dec.seq);
        } else if (ev == MK_FRAME_TOO_LONG) {
            printf("TOO_LONG\n");
        }
    }
    return 0;
}
