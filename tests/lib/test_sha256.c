/* SHA-256 (src/lib/sha256.c) against FIPS 180-4's examples (and the
 * well-known empty-message and million-'a' digests), fed whole and in
 * pieces of every size around the 64-byte block. */
#include "genre/sha256.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

static void hex_of(const uint8_t *d, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < GENRE_SHA256_SIZE; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * GENRE_SHA256_SIZE] = '\0';
}

static void expect(const char *msg, size_t len, const char *want)
{
    char hex[GENRE_SHA256_HEX_SIZE];
    genre_sha256_hex(msg, len, hex);
    CHECK_MSG(strcmp(hex, want) == 0, "%zu bytes: got %s, want %s", len, hex, want);
    /* The same in pieces of 1..130 bytes. */
    for (size_t piece = 1; piece <= 130 && piece < len + 2; piece++) {
        genre_sha256 s;
        uint8_t d[GENRE_SHA256_SIZE];
        genre_sha256_init(&s);
        for (size_t at = 0; at < len; at += piece)
            genre_sha256_update(&s, msg + at, len - at < piece ? len - at : piece);
        genre_sha256_final(&s, d);
        hex_of(d, hex);
        CHECK_MSG(strcmp(hex, want) == 0, "%zu bytes in pieces of %zu: got %s", len, piece, hex);
    }
}

int main(void)
{
    expect("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    expect(four, strlen(four),
           "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    /* Lengths around the padding boundary (55, 56, 63, 64, 65 bytes). */
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    expect(a, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    expect(a, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    expect(a, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    expect(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
    return check_exit_status("test_sha256");
}
