#include "genre/crc32.h"

/* Byte-wise table for the reflected polynomial 0xEDB88320, expanded by the
 * preprocessor at compile time: no run-time initialisation, no mutable
 * state. */
#define P 0xEDB88320u
#define R1(c) (((c) & 1u) ? (((c) >> 1) ^ P) : ((c) >> 1))
#define R8(c) R1(R1(R1(R1(R1(R1(R1(R1(c))))))))
#define T4(n) R8(n##u), R8(n##u + 1u), R8(n##u + 2u), R8(n##u + 3u)
#define T16(n) T4(n), T4(n + 4), T4(n + 8), T4(n + 12)

static const uint32_t crc_table[256] = {
    T16(0),   T16(16),  T16(32),  T16(48),  T16(64),  T16(80),  T16(96),  T16(112),
    T16(128), T16(144), T16(160), T16(176), T16(192), T16(208), T16(224), T16(240),
};

uint32_t genre_crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}
