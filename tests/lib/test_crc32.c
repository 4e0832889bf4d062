/* CRC-32 (src/lib/crc32.c): the standard check value, continuation in
 * pieces, the empty input. */
#include "check.h"

#include "genre/crc32.h"

#include <string.h>

int main(void)
{
    const char *s = "123456789";
    CHECK(genre_crc32(0, s, 9) == 0xCBF43926u);     /* the catalogued check value */
    CHECK(genre_crc32(0, "", 0) == 0);
    uint32_t c = genre_crc32(0, s, 4);
    CHECK(genre_crc32(c, s + 4, 5) == 0xCBF43926u);
    CHECK(genre_crc32(0, "The quick brown fox jumps over the lazy dog", 43) == 0x414FA339u);
    return check_exit_status("test_crc32");
}
