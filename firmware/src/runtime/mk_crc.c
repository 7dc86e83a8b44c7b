/* CRCs of the serial protocol. CRC-32 uses a 16-entry (nibble) table: 64 bytes of flash, about twice as fast as the
 * bitwise loop, and input tensors of tens of KB pass through it on every sample. */
#include "mcukit/mk_protocol.h"

/* CRC-32 of each nibble value for the reflected polynomial 0xEDB88320. */
static const uint32_t mk_crc32_nibble[16] = {
    0x00000000U, 0x1DB71064U, 0x3B6E20C8U, 0x26D930ACU, 0x76DC4190U, 0x6B6B51F4U, 0x4DB26158U, 0x5005713CU,
    0xEDB88320U, 0xF00F9344U, 0xD6D6A3E8U, 0xCB61B38CU, 0x9B64C2B0U, 0x86D3D2D4U, 0xA00AE278U, 0xBDBDF21CU,
};

uint32_t mk_crc32_update(uint32_t crc, const uint8_t *data, size_t n) {
    /* Pre/post inversion make chained calls equal one call over the concatenation (zlib's convention). */
    uint32_t c = ~crc;
    for (size_t i = 0; i < n; ++i) {
        c ^= data[i];
        c = (c >> 4) ^ mk_crc32_nibble[c & 0x0Fu];
        c = (c >> 4) ^ mk_crc32_nibble[c & 0x0Fu];
    }
    return ~c;
}

uint8_t mk_crc8(const uint8_t *data, size_t n) {
    /* Only ever run over the 4 header bytes, so the bitwise form costs nothing worth a table. */
    uint8_t c = 0xFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= data[i];
        for (int b = 0; b < 8; ++b) {
            const uint32_t shifted = (uint32_t)c << 1;
            c = (uint8_t)((c & 0x80u) ? (shifted ^ 0x07u) : shifted);
        }
    }
    return c;
}
