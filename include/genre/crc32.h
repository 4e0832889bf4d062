/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, the same as zlib's
 * crc32()), used to check model files. */
#ifndef GENRE_CRC32_H
#define GENRE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0. */
uint32_t genre_crc32(uint32_t crc, const void *data, size_t len);

#endif
