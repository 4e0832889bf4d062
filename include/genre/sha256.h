/* SHA-256 (FIPS 180-4), for the model's identity: the sha256 of the model
 * file that genre-classify --json and the daemon's results carry, equal to
 * what `sha256sum` prints.  Tested by frontend-sha256 against FIPS 180-4's
 * examples and Python's hashlib. */
#ifndef GENRE_SHA256_H
#define GENRE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define GENRE_SHA256_SIZE 32
#define GENRE_SHA256_HEX_SIZE (2 * GENRE_SHA256_SIZE + 1)

typedef struct genre_sha256 {
    uint32_t h[8];
    uint64_t length;            /* bytes hashed so far */
    uint8_t block[64];
    size_t fill;                /* bytes waiting in block */
} genre_sha256;

void genre_sha256_init(genre_sha256 *s);
void genre_sha256_update(genre_sha256 *s, const void *data, size_t len);
/* The digest; s must be initialised again before reuse. */
void genre_sha256_final(genre_sha256 *s, uint8_t out[GENRE_SHA256_SIZE]);
/* The digest of data[0..len) as 64 lowercase hex digits and a NUL. */
void genre_sha256_hex(const void *data, size_t len, char out[GENRE_SHA256_HEX_SIZE]);

#endif
