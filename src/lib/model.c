/* Model file loader: every byte of the file is checked before anything
 * points into it (doc/model-format.md defines the layout).  The image is
 * kept in one aligned, owned copy; weights, norm vectors and the layer list
 * point into it, so a loaded model is a single immutable object. */
#include "genre/model.h"
#include "genre/sha256.h"

#include "genre/crc32.h"
#include "genre/error.h"
#include "graph_shape.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
/* Weights are used in place, so the host must share the file's byte order. */
#error "genre model files are little-endian; this loader needs a little-endian host"
#endif

enum {
    HEADER_SIZE = 32,
    SECTION_ENTRY_SIZE = 24,
    FRONTEND_FIXED_SIZE_V1 = 40,
    FRONTEND_FIXED_SIZE_V2 = 44,
    LAYER_ENTRY_SIZE = 36,
    NODE_ENTRY_SIZE = 128,
    TENSOR_ENTRY_SIZE = 72,
    TENSOR_NAME_SIZE = 32,
    TENSOR_MAX_DIMS = 4,
    CRC_SIZE = 4,
    ALIGNMENT = 16,
    DTYPE_F32 = 1,
    SECTION_FLAG_REQUIRED = 1,
};

#define ENDIAN_MARKER 0x01020304u
#define ENDIAN_MARKER_SWAPPED 0x04030201u
#define MAX_FILE_SIZE ((size_t)256 << 20)
#define MAX_SECTIONS 64u
#define MAX_LABEL_BYTES 256u
#define MAX_LAYERS 256u
#define MAX_TENSORS 4096u
#define MAX_DIM (1u << 20)

/* The public struct comes first so genre_model_del can recover the owner. */
typedef struct model_owned {
    genre_model pub;
    unsigned char *image;       /* the whole file, ALIGNMENT-aligned */
    genre_layer *layers;
    genre_node *nodes;
    char **labels;
    char *strings;              /* NUL-terminated copies of labels, then meta */
} model_owned;

typedef struct section {
    const unsigned char *data;
    uint64_t offset, size;
    bool present;
} section;

typedef struct tensor_entry {
    uint32_t ndim;
    uint32_t dims[TENSOR_MAX_DIMS];
    uint64_t offset, size;      /* within TDAT */
    char name[TENSOR_NAME_SIZE];
} tensor_entry;

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static float rdf32(const unsigned char *p)
{
    uint32_t bits = rd32(p);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* A section tag made printable for messages (a corrupt tag may hold any byte). */
static void tag_text(const unsigned char *tag, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = (tag[i] >= 0x20 && tag[i] < 0x7f) ? (char)tag[i] : '?';
    out[4] = '\0';
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (extra >= n - i)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += extra + 1;
    }
    return true;
}

static bool all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* ---- header, CRC and section table ---- */

static int check_header(const unsigned char *img, size_t size, char *err, size_t errlen)
{
    if (size >= 8 && memcmp(img, GENRE_MODEL_MAGIC, 8) != 0) {
        genre_set_error(err, errlen, "not a genre model file (no GENREMDL magic)");
        return -1;
    }
    if (size < HEADER_SIZE + CRC_SIZE) {
        genre_set_error(err, errlen, "file too short: %zu bytes, shorter than a model header (%d)",
                        size, HEADER_SIZE + CRC_SIZE);
        return -1;
    }
    uint32_t endian = rd32(img + 12);
    if (endian == ENDIAN_MARKER_SWAPPED) {
        genre_set_error(err, errlen, "big-endian file: model files are little-endian");
        return -1;
    }
    if (endian != ENDIAN_MARKER) {
        genre_set_error(err, errlen, "bad endianness marker 0x%08x", endian);
        return -1;
    }
    uint32_t version = rd32(img + 8);
    if (version < 1 || version > GENRE_MODEL_VERSION) {
        genre_set_error(err, errlen, "format version %u, this build reads 1..%u", version,
                        GENRE_MODEL_VERSION);
        return -1;
    }
    uint32_t header_size = rd32(img + 16);
    if (header_size != HEADER_SIZE) {
        genre_set_error(err, errlen, "header size %u, format version %u has %d", header_size,
                        version, HEADER_SIZE);
        return -1;
    }
    uint64_t total = rd64(img + 24);
    if (total > size) {
        genre_set_error(err, errlen, "truncated: header says %llu bytes, file has %zu",
                        (unsigned long long)total, size);
        return -1;
    }
    if (total < size) {
        genre_set_error(err, errlen, "trailing data: header says %llu bytes, file has %zu",
                        (unsigned long long)total, size);
        return -1;
    }
    uint32_t stored = rd32(img + size - CRC_SIZE);
    uint32_t computed = genre_crc32(0, img, size - CRC_SIZE);
    if (stored != computed) {
        genre_set_error(err, errlen,
                        "CRC mismatch: stored %08x, computed %08x \xe2\x80\x94 file corrupt",
                        stored, computed);
        return -1;
    }
    return 0;
}

enum { SEC_FRNT, SEC_LABL, SEC_LAYR, SEC_GRPH, SEC_TDIR, SEC_TDAT, SEC_META, SEC_COUNT };
static const char *const known_tags[SEC_COUNT] = {"FRNT", "LABL", "LAYR", "GRPH",
                                                  "TDIR", "TDAT", "META"};

static int cmp_u64_pairs(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Fills sec[] from the table; every range must lie between the table and
 * the CRC, be aligned and overlap no other. */
static int read_sections(const unsigned char *img, size_t size, uint32_t version,
                         section sec[SEC_COUNT], char *err, size_t errlen)
{
    uint32_t count = rd32(img + 20);
    if (count == 0 || count > MAX_SECTIONS) {
        genre_set_error(err, errlen, "section count %u outside 1..%u", count, MAX_SECTIONS);
        return -1;
    }
    uint64_t table_end = HEADER_SIZE + (uint64_t)count * SECTION_ENTRY_SIZE;
    uint64_t data_end = size - CRC_SIZE;
    if (table_end > data_end) {
        genre_set_error(err, errlen, "section table (%u entries) runs past the end of the file",
                        count);
        return -1;
    }
    uint64_t ranges[MAX_SECTIONS][2];
    memset(sec, 0, sizeof(section) * SEC_COUNT);
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *e = img + HEADER_SIZE + (size_t)i * SECTION_ENTRY_SIZE;
        char tag[5];
        tag_text(e, tag);
        uint32_t flags = rd32(e + 4);
        uint64_t off = rd64(e + 8), len = rd64(e + 16);
        if (flags & ~(uint32_t)SECTION_FLAG_REQUIRED) {
            genre_set_error(err, errlen, "section %s has unknown flags 0x%x", tag, flags);
            return -1;
        }
        if (off < table_end || off > data_end || len > data_end - off) {
            genre_set_error(err, errlen,
                            "section %s at offset %llu size %llu lies outside the data area "
                            "%llu..%llu",
                            tag, (unsigned long long)off, (unsigned long long)len,
                            (unsigned long long)table_end, (unsigned long long)data_end);
            return -1;
        }
        if (off % ALIGNMENT) {
            genre_set_error(err, errlen, "section %s offset %llu is not %d-byte aligned", tag,
                            (unsigned long long)off, ALIGNMENT);
            return -1;
        }
        ranges[i][0] = off;
        ranges[i][1] = off + len;
        int which = -1;
        for (int k = 0; k < SEC_COUNT; k++)
            if (memcmp(e, known_tags[k], 4) == 0)
                which = k;
        if (which < 0) {
            if (flags & SECTION_FLAG_REQUIRED) {
                genre_set_error(err, errlen,
                                "section %s is marked required but this build does not know it",
                                tag);
                return -1;
            }
            continue;   /* optional extension from a later writer: skip */
        }
        if (sec[which].present) {
            genre_set_error(err, errlen, "section %s appears twice", tag);
            return -1;
        }
        sec[which] = (section){.data = img + off, .offset = off, .size = len, .present = true};
    }
    qsort(ranges, count, sizeof ranges[0], cmp_u64_pairs);
    for (uint32_t i = 1; i < count; i++) {
        if (ranges[i][0] < ranges[i - 1][1]) {
            genre_set_error(err, errlen, "sections overlap at offset %llu",
                            (unsigned long long)ranges[i][0]);
            return -1;
        }
    }
    /* Version 1 holds a layer chain (LAYR), version 2 a graph (GRPH). */
    int network = version == 1 ? SEC_LAYR : SEC_GRPH, other = version == 1 ? SEC_GRPH : SEC_LAYR;
    for (int k = 0; k < SEC_COUNT; k++) {
        if (k != SEC_META && k != other && !sec[k].present) {
            genre_set_error(err, errlen, "missing section %s", known_tags[k]);
            return -1;
        }
    }
    if (sec[other].present) {
        genre_set_error(err, errlen, "format version %u holds its network in %s; this file also has %s",
                        version, known_tags[network], known_tags[other]);
        return -1;
    }
    return 0;
}

/* ---- FRNT ---- */

static bool power_of_two(uint32_t v)
{
    return v && !(v & (v - 1));
}

static int read_frontend(const section *s, uint32_t version, genre_frontend_spec *fe, char *err,
                         size_t errlen)
{
    const uint64_t fixed = version == 1 ? FRONTEND_FIXED_SIZE_V1 : FRONTEND_FIXED_SIZE_V2;
    if (s->size < fixed) {
        genre_set_error(err, errlen, "FRNT section too small: %llu bytes",
                        (unsigned long long)s->size);
        return -1;
    }
    const unsigned char *p = s->data;
    memset(fe, 0, sizeof *fe);
    fe->sample_rate = rd32(p);
    fe->n_fft = rd32(p + 4);
    fe->hop = rd32(p + 8);
    fe->stft_window = rd32(p + 12);
    fe->n_mels = rd32(p + 16);
    fe->fmin = rdf32(p + 20);
    fe->fmax = rdf32(p + 24);
    fe->mel_scale = rd32(p + 28);
    fe->log_offset = rdf32(p + 32);
    fe->window_frames = rd32(p + 36);
    fe->mel_norm = version == 1 ? GENRE_MEL_NORM_PEAK : rd32(p + 40);

    if (fe->sample_rate < 8000 || fe->sample_rate > 192000) {
        genre_set_error(err, errlen, "front-end sample rate %u outside 8000..192000",
                        fe->sample_rate);
        return -1;
    }
    if (!power_of_two(fe->n_fft) || fe->n_fft < 64 || fe->n_fft > 16384) {
        genre_set_error(err, errlen, "front-end n_fft %u is not a power of two in 64..16384",
                        fe->n_fft);
        return -1;
    }
    if (fe->n_mels < 1 || fe->n_mels > 512) {
        genre_set_error(err, errlen, "front-end n_mels %u outside 1..512", fe->n_mels);
        return -1;
    }
    if (fe->window_frames < 1 || fe->window_frames > 100000) {
        genre_set_error(err, errlen, "front-end window_frames %u outside 1..100000",
                        fe->window_frames);
        return -1;
    }
    uint64_t expect = fixed + 8ull * fe->n_mels;
    if (s->size != expect) {
        genre_set_error(err, errlen, "FRNT section is %llu bytes, %u mel bands need %llu",
                        (unsigned long long)s->size, fe->n_mels, (unsigned long long)expect);
        return -1;
    }
    const float *mean = (const float *)(const void *)(p + fixed);
    const float *std = mean + fe->n_mels;
    fe->norm_mean = mean;
    fe->norm_std = std;
    /* The bounds above are the file format's own (doc/model-format.md,
     * FRNT); everything else about the front-end -- hop, window kind, band,
     * mel scale and normalisation, log offset, normalisation vectors -- is
     * decided by the front-end's own check, in one place, so a model the
     * loader accepts always gets its front-end (issue 14; found by fuzz
     * target model-frontend). */
    return genre_frontend_check_spec(fe, err, errlen);
}

/* ---- LABL ---- */

/* Validates the label list and returns the bytes needed for NUL-terminated
 * copies, or -1. */
static long long check_labels(const section *s, uint32_t *n_out, char *err, size_t errlen)
{
    if (s->size < 4) {
        genre_set_error(err, errlen, "LABL section too small");
        return -1;
    }
    uint32_t n = rd32(s->data);
    if (n < 1 || n > GENRE_MODEL_MAX_LABELS) {
        genre_set_error(err, errlen, "label count %u outside 1..%u", n, GENRE_MODEL_MAX_LABELS);
        return -1;
    }
    uint64_t pos = 4;
    long long bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (s->size - pos < 4) {
            genre_set_error(err, errlen, "LABL section ends inside label %u", i);
            return -1;
        }
        uint32_t len = rd32(s->data + pos);
        pos += 4;
        if (len > s->size - pos) {
            genre_set_error(err, errlen, "label %u length %u runs past the LABL section", i, len);
            return -1;
        }
        const unsigned char *name = s->data + pos;
        if (len == 0 || len > MAX_LABEL_BYTES) {
            genre_set_error(err, errlen, "label %u has length %u, need 1..%u", i, len,
                            MAX_LABEL_BYTES);
            return -1;
        }
        if (memchr(name, 0, len)) {
            genre_set_error(err, errlen, "label %u contains a NUL byte", i);
            return -1;
        }
        if (!utf8_valid(name, len)) {
            genre_set_error(err, errlen, "label %u is not valid UTF-8", i);
            return -1;
        }
        for (uint32_t k = 0; k < len; k++) {
            if (name[k] < 0x20 || name[k] == 0x7f) {
                genre_set_error(err, errlen, "label %u contains a control character", i);
                return -1;
            }
        }
        pos += len;
        bytes += (long long)len + 1;
    }
    if (pos != s->size) {
        genre_set_error(err, errlen, "LABL section has %llu bytes after the last label",
                        (unsigned long long)(s->size - pos));
        return -1;
    }
    *n_out = n;
    return bytes;
}

/* Copies the names (already checked) and refuses duplicates. */
static int copy_labels(const section *s, uint32_t n, char **labels, char *strings, char *err,
                       size_t errlen)
{
    uint64_t pos = 4;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = rd32(s->data + pos);
        memcpy(strings, s->data + pos + 4, len);
        strings[len] = '\0';
        labels[i] = strings;
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(labels[k], strings) == 0) {
                genre_set_error(err, errlen, "duplicate label \"%s\" (%u and %u)", strings, k, i);
                return -1;
            }
        }
        strings += len + 1;
        pos += 4 + (uint64_t)len;
    }
    return 0;
}

/* ---- TDIR / TDAT ---- */

static int cmp_tensor_offsets(const void *a, const void *b)
{
    const tensor_entry *const *x = a, *const *y = b;
    return (*x)->offset < (*y)->offset ? -1 : (*x)->offset > (*y)->offset;
}

static tensor_entry *read_tensors(const section *dir, const section *dat, uint32_t *n_out,
                                  char *err, size_t errlen)
{
    if (dir->size < 4) {
        genre_set_error(err, errlen, "TDIR section too small");
        return NULL;
    }
    uint32_t n = rd32(dir->data);
    if (n > MAX_TENSORS) {
        genre_set_error(err, errlen, "tensor count %u exceeds %u", n, MAX_TENSORS);
        return NULL;
    }
    uint64_t expect = 4 + (uint64_t)n * TENSOR_ENTRY_SIZE;
    if (dir->size != expect) {
        genre_set_error(err, errlen, "TDIR section is %llu bytes, %u tensors need %llu",
                        (unsigned long long)dir->size, n, (unsigned long long)expect);
        return NULL;
    }
    tensor_entry *t = calloc(n ? n : 1, sizeof *t);
    tensor_entry **order = calloc(n ? n : 1, sizeof *order);
    if (!t || !order) {
        free(t);
        free(order);
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *e = dir->data + 4 + (size_t)i * TENSOR_ENTRY_SIZE;
        tensor_entry *te = &t[i];
        order[i] = te;
        if (!memchr(e, 0, TENSOR_NAME_SIZE) || e[0] == 0) {
            genre_set_error(err, errlen, "tensor %u name is empty or not NUL-terminated", i);
            goto fail;
        }
        memcpy(te->name, e, TENSOR_NAME_SIZE);
        /* Names end up in error messages and logs: keep them one printable line. */
        for (const char *c = te->name; *c; c++) {
            if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
                genre_set_error(err, errlen, "tensor %u name has a non-printable byte 0x%02x", i,
                                (unsigned char)*c);
                goto fail;
            }
        }
        uint32_t dtype = rd32(e + 32);
        te->ndim = rd32(e + 36);
        te->offset = rd64(e + 56);
        te->size = rd64(e + 64);
        if (dtype != DTYPE_F32) {
            genre_set_error(err, errlen, "tensor %s has dtype %u, only 1 (f32) is supported",
                            te->name, dtype);
            goto fail;
        }
        if (te->ndim < 1 || te->ndim > TENSOR_MAX_DIMS) {
            genre_set_error(err, errlen, "tensor %s has %u dimensions, need 1..%d", te->name,
                            te->ndim, TENSOR_MAX_DIMS);
            goto fail;
        }
        uint64_t floats = 1;
        for (uint32_t d = 0; d < TENSOR_MAX_DIMS; d++) {
            te->dims[d] = rd32(e + 40 + 4 * d);
            if (d >= te->ndim) {
                if (te->dims[d] != 0) {
                    genre_set_error(err, errlen, "tensor %s: unused dimension %u is %u, not 0",
                                    te->name, d, te->dims[d]);
                    goto fail;
                }
                continue;
            }
            if (te->dims[d] < 1 || te->dims[d] > MAX_DIM) {
                genre_set_error(err, errlen, "tensor %s: dimension %u is %u, need 1..%u",
                                te->name, d, te->dims[d], MAX_DIM);
                goto fail;
            }
            /* 4 dims of up to 2^20 overflow 64 bits; the file cannot hold
             * more than 2^28 bytes anyway. */
            if (__builtin_mul_overflow(floats, te->dims[d], &floats) || floats > (MAX_FILE_SIZE / 4)) {
                genre_set_error(err, errlen, "tensor %s: element count too large", te->name);
                goto fail;
            }
        }
        if (te->size != floats * 4) {
            genre_set_error(err, errlen, "tensor %s: byte size %llu, its dims need %llu",
                            te->name, (unsigned long long)te->size,
                            (unsigned long long)(floats * 4));
            goto fail;
        }
        if (te->offset % ALIGNMENT) {
            genre_set_error(err, errlen, "tensor %s: offset %llu is not %d-byte aligned",
                            te->name, (unsigned long long)te->offset, ALIGNMENT);
            goto fail;
        }
        if (te->offset > dat->size || te->size > dat->size - te->offset) {
            genre_set_error(err, errlen,
                            "tensor %s: offset %llu size %llu lies outside TDAT (%llu bytes)",
                            te->name, (unsigned long long)te->offset,
                            (unsigned long long)te->size, (unsigned long long)dat->size);
            goto fail;
        }
        if (!all_finite((const float *)(const void *)(dat->data + te->offset), floats)) {
            genre_set_error(err, errlen, "tensor %s contains NaN or infinity", te->name);
            goto fail;
        }
    }
    qsort(order, n, sizeof *order, cmp_tensor_offsets);
    for (uint32_t i = 1; i < n; i++) {
        if (order[i]->offset < order[i - 1]->offset + order[i - 1]->size) {
            genre_set_error(err, errlen, "tensors %s and %s overlap", order[i - 1]->name,
                            order[i]->name);
            goto fail;
        }
    }
    free(order);
    *n_out = n;
    return t;
fail:
    free(order);
    free(t);
    return NULL;
}

/* ---- LAYR ---- */

const char *genre_layer_type_name(uint32_t type)
{
    switch (type) {
    case GENRE_LAYER_CONV2D: return "conv2d";
    case GENRE_LAYER_RELU: return "relu";
    case GENRE_LAYER_MAXPOOL2D: return "maxpool2d";
    case GENRE_LAYER_GLOBAL_MEANMAX: return "global_meanmax";
    case GENRE_LAYER_DENSE: return "dense";
    case GENRE_LAYER_SOFTMAX: return "softmax";
    case GENRE_LAYER_SIGMOID: return "sigmoid";
    case GENRE_LAYER_AFFINE: return "affine";
    case GENRE_LAYER_FREQ_MAX: return "freq_max";
    case GENRE_LAYER_CONCAT: return "concat";
    case GENRE_LAYER_ADD: return "add";
    case GENRE_LAYER_TIME_MAXMEAN: return "time_maxmean";
    default: return "unknown";
    }
}

/* Tensor t must have exactly the dims given (ndim of them). */
static int expect_dims(const char *layer, const char *role, const tensor_entry *t, uint32_t ndim,
                       const uint32_t *dims, char *err, size_t errlen)
{
    bool ok = t->ndim == ndim;
    for (uint32_t d = 0; ok && d < ndim; d++)
        ok = t->dims[d] == dims[d];
    if (ok)
        return 0;
    char want[64], have[64];
    int w = 0, h = 0;
    for (uint32_t d = 0; d < ndim; d++)
        w += snprintf(want + w, sizeof want - (size_t)w, "[%u]", dims[d]);
    for (uint32_t d = 0; d < t->ndim; d++)
        h += snprintf(have + h, sizeof have - (size_t)h, "[%u]", t->dims[d]);
    genre_set_error(err, errlen, "%s: %s tensor %s is %s, it needs %s", layer, role,
                    t->name, have, want);
    return -1;
}

static int read_layers(const section *s, const section *dat, const tensor_entry *tensors,
                       uint32_t n_tensors, genre_layer *layers, uint32_t n, char *err,
                       size_t errlen)
{
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *e = s->data + 4 + (size_t)i * LAYER_ENTRY_SIZE;
        genre_layer *l = &layers[i];
        memset(l, 0, sizeof *l);
        l->type = rd32(e);
        for (int k = 0; k < GENRE_LAYER_PARAMS; k++)
            l->p[k] = rd32(e + 4 + 4 * k);
        int32_t wi = (int32_t)rd32(e + 28), bi = (int32_t)rd32(e + 32);
        const uint32_t *p = l->p;
        int used_params = 0;
        bool has_tensors = false;
        switch (l->type) {
        case GENRE_LAYER_CONV2D:
            used_params = 6;
            has_tensors = true;
            for (int k = 0; k < 4; k++) {
                if (p[k] < 1 || p[k] > MAX_DIM) {
                    genre_set_error(err, errlen,
                                    "layer %u (conv2d): in_c/out_c/kh/kw = %u/%u/%u/%u, each "
                                    "must be 1..%u",
                                    i, p[0], p[1], p[2], p[3], MAX_DIM);
                    return -1;
                }
            }
            if (p[4] > p[2] || p[5] > p[3]) {
                genre_set_error(err, errlen,
                                "layer %u (conv2d): padding %ux%u larger than kernel %ux%u", i,
                                p[4], p[5], p[2], p[3]);
                return -1;
            }
            break;
        case GENRE_LAYER_MAXPOOL2D:
            used_params = 2;
            if (p[0] < 1 || p[1] < 1 || p[0] > MAX_DIM || p[1] > MAX_DIM) {
                genre_set_error(err, errlen, "layer %u (maxpool2d): kernel %ux%u out of range", i,
                                p[0], p[1]);
                return -1;
            }
            break;
        case GENRE_LAYER_DENSE:
            used_params = 2;
            has_tensors = true;
            if (p[0] < 1 || p[1] < 1 || p[0] > MAX_DIM || p[1] > MAX_DIM) {
                genre_set_error(err, errlen, "layer %u (dense): in/out %u/%u out of range", i,
                                p[0], p[1]);
                return -1;
            }
            break;
        case GENRE_LAYER_RELU:
        case GENRE_LAYER_GLOBAL_MEANMAX:
        case GENRE_LAYER_SOFTMAX:
            break;
        default:
            genre_set_error(err, errlen, "layer %u: unknown layer type %u", i, l->type);
            return -1;
        }
        for (int k = used_params; k < GENRE_LAYER_PARAMS; k++) {
            if (p[k] != 0) {
                genre_set_error(err, errlen, "layer %u (%s): unused parameter %d is %u, not 0", i,
                                genre_layer_type_name(l->type), k, p[k]);
                return -1;
            }
        }
        if (!has_tensors) {
            if (wi != -1 || bi != -1) {
                genre_set_error(err, errlen, "layer %u (%s) takes no tensors but names %d/%d", i,
                                genre_layer_type_name(l->type), wi, bi);
                return -1;
            }
            continue;
        }
        if (wi < 0 || (uint32_t)wi >= n_tensors || bi < 0 || (uint32_t)bi >= n_tensors) {
            genre_set_error(err, errlen,
                            "layer %u (%s): tensor index %d/%d outside 0..%u", i,
                            genre_layer_type_name(l->type), wi, bi, n_tensors ? n_tensors - 1 : 0);
            return -1;
        }
        const tensor_entry *wt = &tensors[wi], *bt = &tensors[bi];
        char where[24];
        snprintf(where, sizeof where, "layer %u", i);
        if (l->type == GENRE_LAYER_CONV2D) {
            uint32_t wd[4] = {p[1], p[0], p[2], p[3]};
            if (expect_dims(where, "weight", wt, 4, wd, err, errlen) ||
                expect_dims(where, "bias", bt, 1, &p[1], err, errlen))
                return -1;
        } else {
            uint32_t wd[2] = {p[1], p[0]};
            if (expect_dims(where, "weight", wt, 2, wd, err, errlen) ||
                expect_dims(where, "bias", bt, 1, &p[1], err, errlen))
                return -1;
        }
        l->weight = (const float *)(const void *)(dat->data + wt->offset);
        l->bias = (const float *)(const void *)(dat->data + bt->offset);
        l->weight_len = (size_t)(wt->size / 4);
        l->bias_len = (size_t)(bt->size / 4);
    }
    return 0;
}

/* ---- GRPH (version 2) ---- */

/* Parameters each node type uses (the rest must be 0) and its input count
 * (0 = 2..GENRE_NODE_MAX_INPUTS); -1 for types a graph cannot hold. */
static int node_arity(uint32_t type, int *used_params, bool *has_tensors)
{
    *used_params = 0;
    *has_tensors = false;
    switch (type) {
    case GENRE_LAYER_CONV2D: *used_params = 6; *has_tensors = true; return 1;
    case GENRE_LAYER_DENSE: *used_params = 2; *has_tensors = true; return 1;
    case GENRE_LAYER_AFFINE: *used_params = 1; *has_tensors = true; return 1;
    case GENRE_LAYER_RELU:
    case GENRE_LAYER_SOFTMAX:
    case GENRE_LAYER_SIGMOID:
    case GENRE_LAYER_FREQ_MAX:
    case GENRE_LAYER_TIME_MAXMEAN: return 1;
    case GENRE_LAYER_ADD: return 2;
    case GENRE_LAYER_CONCAT: return 0;
    default: return -1;
    }
}

/* The tensor dims a node's parameters call for. */
static void node_tensor_dims(const genre_node *n, uint32_t *ndim_w, uint32_t wd[4], uint32_t *bd)
{
    const uint32_t *p = n->p;
    if (n->type == GENRE_LAYER_CONV2D) {
        *ndim_w = 4;
        wd[0] = p[1], wd[1] = p[0], wd[2] = p[2], wd[3] = p[3];
        *bd = p[1];
    } else if (n->type == GENRE_LAYER_DENSE) {
        *ndim_w = 2;
        wd[0] = p[1], wd[1] = p[0];
        *bd = p[1];
    } else {
        *ndim_w = 1;
        wd[0] = p[0];
        *bd = p[0];
    }
}

static int read_node(const unsigned char *e, uint32_t i, uint32_t n, const section *dat,
                     const tensor_entry *tensors, uint32_t n_tensors, genre_node *node, char *err,
                     size_t errlen)
{
    memset(node, 0, sizeof *node);
    if (!memchr(e, 0, GENRE_NODE_NAME_SIZE) || e[0] == 0) {
        genre_set_error(err, errlen, "node %u: name is empty or not NUL-terminated", i);
        return -1;
    }
    for (size_t k = 0; k < GENRE_NODE_NAME_SIZE && e[k]; k++) {
        if (e[k] < 0x20 || e[k] > 0x7e) {
            genre_set_error(err, errlen, "node %u: name has a non-printable byte 0x%02x", i, e[k]);
            return -1;
        }
    }
    memcpy(node->name, e, GENRE_NODE_NAME_SIZE);
    for (size_t k = strlen(node->name); k < GENRE_NODE_NAME_SIZE; k++) {
        if (e[k]) {
            genre_set_error(err, errlen, "node %u (%s): name padding is not NUL", i, node->name);
            return -1;
        }
    }
    node->type = rd32(e + 32);
    node->n_inputs = rd32(e + 36);
    const char *name = node->name, *kind = genre_layer_type_name(node->type);
    int used_params;
    bool has_tensors;
    int arity = node_arity(node->type, &used_params, &has_tensors);
    if (arity < 0) {
        genre_set_error(err, errlen, "node %u (%s): type %u (%s) cannot be a graph node", i, name,
                        node->type, kind);
        return -1;
    }
    bool inputs_ok = arity ? node->n_inputs == (uint32_t)arity
                           : node->n_inputs >= 2 && node->n_inputs <= GENRE_NODE_MAX_INPUTS;
    if (!inputs_ok) {
        genre_set_error(err, errlen, "node %u (%s, %s): %u inputs, the type takes %s", i, name,
                        kind, node->n_inputs, arity == 1 ? "1" : arity == 2 ? "2" : "2..8");
        return -1;
    }
    for (uint32_t k = 0; k < GENRE_NODE_MAX_INPUTS; k++) {
        int32_t in = (int32_t)rd32(e + 40 + 4 * k);
        node->inputs[k] = in;
        if (k >= node->n_inputs) {
            if (in != 0) {
                genre_set_error(err, errlen, "node %u (%s): unused input slot %u is %d, not 0", i,
                                name, k, in);
                return -1;
            }
            continue;
        }
        if (in < GENRE_NODE_INPUT || (in >= 0 && (uint32_t)in >= n)) {
            genre_set_error(err, errlen,
                            "node %u (%s): input %u refers to node %d, the graph has nodes "
                            "0..%u (and -1, the frames)",
                            i, name, k, in, n - 1);
            return -1;
        }
        if (in >= 0 && (uint32_t)in == i) {
            genre_set_error(err, errlen, "node %u (%s): input %u is the node itself (a cycle)", i,
                            name, k);
            return -1;
        }
    }
    for (int k = 0; k < GENRE_LAYER_PARAMS; k++) {
        node->p[k] = rd32(e + 72 + 4 * k);
        if (k >= used_params && node->p[k] != 0) {
            genre_set_error(err, errlen, "node %u (%s): unused parameter %d is %u, not 0", i,
                            name, k, node->p[k]);
            return -1;
        }
        if (k < used_params && (node->p[k] > MAX_DIM ||
                                (node->p[k] == 0 && !(node->type == GENRE_LAYER_CONV2D && k >= 4)))) {
            genre_set_error(err, errlen, "node %u (%s, %s): parameter %d is %u, outside %s..%u",
                            i, name, kind, k, node->p[k],
                            node->type == GENRE_LAYER_CONV2D && k >= 4 ? "0" : "1", MAX_DIM);
            return -1;
        }
    }
    for (int k = 104; k < NODE_ENTRY_SIZE; k++) {
        if (e[k]) {
            genre_set_error(err, errlen, "node %u (%s): reserved byte %d is not 0", i, name, k);
            return -1;
        }
    }
    const uint32_t *p = node->p;
    if (node->type == GENRE_LAYER_CONV2D && (p[4] >= p[2] || p[5] >= p[3])) {
        genre_set_error(err, errlen,
                        "node %u (%s, conv2d): padding %u (time) / %u (frequency) must be below "
                        "the kernel %ux%u",
                        i, name, p[4], p[5], p[2], p[3]);
        return -1;
    }
    int32_t wi = (int32_t)rd32(e + 96), bi = (int32_t)rd32(e + 100);
    if (!has_tensors) {
        if (wi != -1 || bi != -1) {
            genre_set_error(err, errlen, "node %u (%s, %s) takes no tensors but names %d/%d", i,
                            name, kind, wi, bi);
            return -1;
        }
        return 0;
    }
    if (wi < 0 || (uint32_t)wi >= n_tensors || bi < 0 || (uint32_t)bi >= n_tensors) {
        genre_set_error(err, errlen, "node %u (%s, %s): tensor index %d/%d outside 0..%u", i, name,
                        kind, wi, bi, n_tensors ? n_tensors - 1 : 0);
        return -1;
    }
    uint32_t ndim_w, wd[4], bd;
    node_tensor_dims(node, &ndim_w, wd, &bd);
    char where[64];
    snprintf(where, sizeof where, "node %u (%s)", i, name);
    if (expect_dims(where, "weight", &tensors[wi], ndim_w, wd, err, errlen) ||
        expect_dims(where, "bias", &tensors[bi], 1, &bd, err, errlen))
        return -1;
    node->weight = (const float *)(const void *)(dat->data + tensors[wi].offset);
    node->bias = (const float *)(const void *)(dat->data + tensors[bi].offset);
    node->weight_len = (size_t)(tensors[wi].size / 4);
    node->bias_len = (size_t)(tensors[bi].size / 4);
    return 0;
}

static int read_nodes(const section *s, const section *dat, const tensor_entry *tensors,
                      uint32_t n_tensors, genre_node *nodes, uint32_t n, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < n; i++) {
        if (read_node(s->data + 4 + (size_t)i * NODE_ENTRY_SIZE, i, n, dat, tensors, n_tensors,
                      &nodes[i], err, errlen))
            return -1;
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(nodes[k].name, nodes[i].name) == 0) {
                genre_set_error(err, errlen, "nodes %u and %u are both named %s", k, i,
                                nodes[i].name);
                return -1;
            }
        }
    }
    return 0;
}

/* Element count of a LAYR or GRPH section, checked against its size. */
static int network_count(const section *s, const char *tag, uint64_t entry, uint32_t max,
                         uint32_t *n_out, char *err, size_t errlen)
{
    const char *what = strcmp(tag, "LAYR") == 0 ? "layer" : "node";
    uint32_t n = s->size >= 4 ? rd32(s->data) : 0;
    if (s->size < 4 || n < 1 || n > max) {
        genre_set_error(err, errlen, "%s count %u outside 1..%u", what, n, max);
        return -1;
    }
    if (s->size != 4 + (uint64_t)n * entry) {
        genre_set_error(err, errlen, "%s section is %llu bytes, %u %ss need %llu", tag,
                        (unsigned long long)s->size, n, what, 4 + (unsigned long long)n * entry);
        return -1;
    }
    *n_out = n;
    return 0;
}

/* ---- putting it together ---- */

static void model_free(model_owned *m)
{
    if (!m)
        return;
    free(m->image);
    free(m->layers);
    free(m->nodes);
    free(m->labels);
    free(m->strings);
    free(m);
}

/* Takes ownership of img (ALIGNMENT-aligned, size bytes). */
static genre_model *parse_image(unsigned char *img, size_t size, char *err, size_t errlen)
{
    model_owned *m = calloc(1, sizeof *m);
    tensor_entry *tensors = NULL;
    if (!m) {
        free(img);
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    m->image = img;
    section sec[SEC_COUNT];
    if (check_header(img, size, err, errlen))
        goto fail;
    const uint32_t version = rd32(img + 8);
    if (read_sections(img, size, version, sec, err, errlen) ||
        read_frontend(&sec[SEC_FRNT], version, &m->pub.frontend, err, errlen))
        goto fail;

    uint32_t n_labels = 0;
    long long label_bytes = check_labels(&sec[SEC_LABL], &n_labels, err, errlen);
    if (label_bytes < 0)
        goto fail;

    const section *meta = &sec[SEC_META];
    if (meta->present) {
        if (memchr(meta->data, 0, meta->size)) {
            genre_set_error(err, errlen, "META section contains a NUL byte");
            goto fail;
        }
        if (!utf8_valid(meta->data, meta->size)) {
            genre_set_error(err, errlen, "META section is not valid UTF-8");
            goto fail;
        }
    }

    uint32_t n_tensors = 0;
    tensors = read_tensors(&sec[SEC_TDIR], &sec[SEC_TDAT], &n_tensors, err, errlen);
    if (!tensors)
        goto fail;

    uint32_t n_layers = 0, n_nodes = 0;
    if (version == 1 ? network_count(&sec[SEC_LAYR], "LAYR", LAYER_ENTRY_SIZE, MAX_LAYERS,
                                     &n_layers, err, errlen)
                     : network_count(&sec[SEC_GRPH], "GRPH", NODE_ENTRY_SIZE, MAX_LAYERS,
                                     &n_nodes, err, errlen))
        goto fail;

    size_t meta_len = meta->present ? (size_t)meta->size : 0;
    m->layers = calloc(n_layers ? n_layers : 1, sizeof *m->layers);
    m->nodes = calloc(n_nodes ? n_nodes : 1, sizeof *m->nodes);
    m->labels = calloc(n_labels, sizeof *m->labels);
    m->strings = malloc((size_t)label_bytes + meta_len + 1);
    if (!m->layers || !m->nodes || !m->labels || !m->strings) {
        genre_set_error(err, errlen, "out of memory");
        goto fail;
    }
    if (n_layers && read_layers(&sec[SEC_LAYR], &sec[SEC_TDAT], tensors, n_tensors, m->layers,
                                n_layers, err, errlen))
        goto fail;
    if (n_nodes && (read_nodes(&sec[SEC_GRPH], &sec[SEC_TDAT], tensors, n_tensors, m->nodes,
                               n_nodes, err, errlen) ||
                    genre_graph_check(m->nodes, n_nodes, m->pub.frontend.n_mels, n_labels, NULL,
                                      NULL, err, errlen)))
        goto fail;
    if (copy_labels(&sec[SEC_LABL], n_labels, m->labels, m->strings, err, errlen))
        goto fail;
    char *meta_copy = m->strings + label_bytes;
    if (meta_len)
        memcpy(meta_copy, meta->data, meta_len);
    meta_copy[meta_len] = '\0';

    free(tensors);
    m->pub.format_version = version;
    m->pub.n_labels = n_labels;
    m->pub.labels = (const char *const *)m->labels;
    m->pub.n_layers = n_layers;
    m->pub.layers = m->layers;
    m->pub.n_nodes = n_nodes;
    m->pub.nodes = m->nodes;
    m->pub.meta = meta_copy;
    m->pub.crc32 = rd32(img + size - CRC_SIZE);
    genre_sha256_hex(img, size, m->pub.sha256);
    return &m->pub;
fail:
    free(tensors);
    model_free(m);
    return NULL;
}

static unsigned char *alloc_image(size_t size)
{
    /* aligned_alloc wants a multiple of the alignment. */
    size_t rounded = (size + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    return aligned_alloc(ALIGNMENT, rounded ? rounded : ALIGNMENT);
}

genre_model *genre_model_load_buffer(const void *data, size_t size, char *err, size_t errlen)
{
    if (!data && size) {
        genre_set_error(err, errlen, "no data");
        return NULL;
    }
    if (size > MAX_FILE_SIZE) {
        genre_set_error(err, errlen, "model image is %zu bytes, more than the %zu MiB limit", size,
                        MAX_FILE_SIZE >> 20);
        return NULL;
    }
    unsigned char *img = alloc_image(size);
    if (!img) {
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    if (size)
        memcpy(img, data, size);
    return parse_image(img, size, err, errlen);
}

genre_model *genre_model_load(const char *path, char *err, size_t errlen)
{
    char why[256];
    FILE *f = fopen(path, "rb");
    if (!f) {
        genre_set_error(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        genre_set_error(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    if ((unsigned long long)st.st_size > MAX_FILE_SIZE) {
        genre_set_error(err, errlen, "%s: %lld bytes, more than the %zu MiB a model may have",
                        path, (long long)st.st_size, MAX_FILE_SIZE >> 20);
        fclose(f);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *img = alloc_image(size);
    if (!img) {
        genre_set_error(err, errlen, "%s: out of memory", path);
        fclose(f);
        return NULL;
    }
    size_t got = size ? fread(img, 1, size, f) : 0;
    int read_failed = ferror(f);
    fclose(f);
    if (read_failed || got != size) {
        genre_set_error(err, errlen, "%s: read error (%zu of %zu bytes)", path, got, size);
        free(img);
        return NULL;
    }
    genre_model *m = parse_image(img, size, why, sizeof why);
    if (!m)
        genre_set_error(err, errlen, "%s: %s", path, why);
    return m;
}

const char *genre_model_meta_get(const genre_model *m, const char *key, char *buf, size_t buflen)
{
    if (!m || !key || !buf || buflen == 0)
        return NULL;
    size_t klen = strlen(key);
    for (const char *line = m->meta; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > klen && memcmp(line, key, klen) == 0 && line[klen] == '=') {
            size_t vlen = len - klen - 1;
            if (vlen >= buflen)
                vlen = buflen - 1;
            memcpy(buf, line + klen + 1, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        line += len + (end ? 1 : 0);
    }
    return NULL;
}

int genre_model_label_index(const genre_model *m, const char *name)
{
    if (!m || !name)
        return -1;
    for (uint32_t i = 0; i < m->n_labels; i++)
        if (strcmp(m->labels[i], name) == 0)
            return (int)i;
    return -1;
}

void genre_model_del(genre_model *m)
{
    model_free((model_owned *)m);
}
