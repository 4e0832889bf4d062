/* .npy v1.0 writer: magic, version, little-endian u16 header length, a
 * Python-literal dict padded with spaces to a 64-byte boundary and ended by
 * '\n', then the raw data. */
#include "genre/npy.h"
#include "genre/error.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NPY_ALIGN 64
#define NPY_PREFIX 10   /* magic(6) + version(2) + header length(2) */
#define NPY_MAX_DIMS 32

static int host_is_little_endian(void)
{
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

int genre_npy_write_f32(FILE *out, const float *data, const size_t *shape, size_t ndim,
                        char *err, size_t errlen)
{
    if (!out || (!shape && ndim > 0) || ndim > NPY_MAX_DIMS) {
        genre_set_error(err, errlen, "npy: invalid arguments");
        return -1;
    }
    char dict[64 + NPY_MAX_DIMS * 24];
    size_t count = 1;
    int len = snprintf(dict, sizeof dict, "{'descr': '%cf4', 'fortran_order': False, 'shape': (",
                       host_is_little_endian() ? '<' : '>');
    for (size_t i = 0; i < ndim; i++) {
        /* A 1-tuple needs its trailing comma in Python syntax. */
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%zu%s", shape[i],
                        (ndim == 1 || i + 1 < ndim) ? ", " : "");
        if (shape[i] != 0 && count > SIZE_MAX / sizeof(float) / shape[i]) {
            genre_set_error(err, errlen, "npy: array too large");
            return -1;
        }
        count *= shape[i];
    }
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    if (count > 0 && !data) {
        genre_set_error(err, errlen, "npy: no data");
        return -1;
    }
    /* Pad with spaces so that prefix + header (ending in '\n') is aligned. */
    size_t header_len = (size_t)len + 1;
    header_len += (NPY_ALIGN - (NPY_PREFIX + header_len) % NPY_ALIGN) % NPY_ALIGN;
    unsigned char prefix[NPY_PREFIX] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                        (unsigned char)(header_len & 0xff),
                                        (unsigned char)(header_len >> 8)};
    char header[sizeof dict + NPY_ALIGN];
    memcpy(header, dict, (size_t)len);
    memset(header + len, ' ', header_len - (size_t)len - 1);
    header[header_len - 1] = '\n';
    if (fwrite(prefix, 1, sizeof prefix, out) != sizeof prefix ||
        fwrite(header, 1, header_len, out) != header_len ||
        (count > 0 && fwrite(data, sizeof(float), count, out) != count)) {
        genre_set_error(err, errlen, "npy: write failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int genre_npy_save_f32(const char *path, const float *data, const size_t *shape, size_t ndim,
                       char *err, size_t errlen)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        genre_set_error(err, errlen, "%s: out of memory", path);
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        genre_set_error(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    char why[200];
    int rc = genre_npy_write_f32(f, data, shape, ndim, why, sizeof why);
    if (fclose(f) != 0 && rc == 0) {
        snprintf(why, sizeof why, "close failed: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(why, sizeof why, "rename failed: %s", strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        genre_set_error(err, errlen, "%s: %s", path, why);
        remove(tmp);
    }
    free(tmp);
    return rc;
}
