/* The .npy writer (src/lib/npy.c): the header NumPy's format 1.0 defines
 * (magic, version, little-endian length, a dict ending in '\n', the data
 * 64-byte aligned) and the float32 data after it, byte for byte. */
#include "check.h"

#include "genre/npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *written(const float *data, const size_t *shape, size_t ndim, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    char err[128];
    int rc = f ? genre_npy_write_f32(f, data, shape, ndim, err, sizeof err) : -1;
    if (f)
        fclose(f);
    CHECK_MSG(rc == 0, "%s", err);
    return (unsigned char *)buf;
}

int main(void)
{
    const float data[6] = {0.0f, 1.5f, -2.0f, 3.25f, 1e-20f, 7.0f};
    size_t shape[2] = {2, 3}, len = 0;
    unsigned char *b = written(data, shape, 2, &len);
    CHECK(b && len > 10 && memcmp(b, "\x93NUMPY\x01\x00", 8) == 0);
    if (b && len > 10) {
        size_t header = (size_t)b[8] | (size_t)b[9] << 8;
        CHECK_MSG((10 + header) % 64 == 0, "data offset %zu", 10 + header);
        CHECK(b[10 + header - 1] == '\n');
        CHECK(strstr((const char *)b + 10, "'descr': '<f4'") != NULL);
        CHECK(strstr((const char *)b + 10, "'fortran_order': False") != NULL);
        CHECK(strstr((const char *)b + 10, "'shape': (2, 3)") != NULL);
        CHECK(len == 10 + header + sizeof data);
        CHECK(memcmp(b + 10 + header, data, sizeof data) == 0);   /* little-endian host */
    }
    free(b);
    /* One dimension: the tuple needs its trailing comma ("(4, )" is a 1-tuple). */
    size_t one[1] = {4};
    b = written(data, one, 1, &len);
    CHECK(b && strstr((const char *)b + 10, "'shape': (4, )") != NULL);
    free(b);
    /* Zero rows: a valid empty array. */
    size_t none[2] = {0, 96};
    b = written(data, none, 2, &len);
    CHECK(b && strstr((const char *)b + 10, "'shape': (0, 96)") != NULL);
    free(b);
    /* A path that cannot be written: an error, no file. */
    char err[256] = "";
    CHECK(genre_npy_save_f32("/nonexistent-dir/x.npy", data, shape, 2, err, sizeof err) == -1);
    CHECK(err[0] != '\0');
    return check_exit_status("test_npy");
}
