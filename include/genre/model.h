/* The genre model file: front-end spec, labels, layer list and weights in
 * one versioned, CRC-checked binary (doc/model-format.md).  The loader
 * checks every size, offset and shape and refuses a bad file with a message
 * that says what is wrong.  A loaded model is immutable and may be shared
 * by threads. */
#ifndef GENRE_MODEL_H
#define GENRE_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "genre/frontend.h"

#define GENRE_MODEL_MAGIC "GENREMDL"
#define GENRE_MODEL_VERSION 1u

enum genre_layer_type {
    GENRE_LAYER_CONV2D = 1,         /* p: in_c, out_c, kh, kw, pad_h, pad_w; stride 1;
                                       weight [out_c][in_c][kh][kw], bias [out_c] */
    GENRE_LAYER_RELU = 2,
    GENRE_LAYER_MAXPOOL2D = 3,      /* p: kh, kw; stride = kernel, floor */
    GENRE_LAYER_GLOBAL_MEANMAX = 4, /* [C][H][W] -> [2C]: means then maxima */
    GENRE_LAYER_DENSE = 5,          /* p: in, out; weight [out][in], bias [out] */
    GENRE_LAYER_SOFTMAX = 6,
};

#define GENRE_LAYER_PARAMS 6

typedef struct genre_layer {
    uint32_t type;                      /* enum genre_layer_type */
    uint32_t p[GENRE_LAYER_PARAMS];     /* type-specific, see above */
    const float *weight;                /* NULL when the type has none */
    const float *bias;
    size_t weight_len, bias_len;        /* in floats */
} genre_layer;

typedef struct genre_model {
    uint32_t format_version;
    genre_frontend_spec frontend;       /* norm_mean/norm_std point into the model */
    uint32_t n_labels;
    const char *const *labels;          /* n_labels UTF-8 names */
    uint32_t n_layers;
    const genre_layer *layers;
    const char *meta;                   /* provenance, "key=value\n" lines */
    uint32_t crc32;
} genre_model;

genre_model *genre_model_load(const char *path, char *err, size_t errlen);
/* Same checks on a memory image (copied; used by tests and the fuzzer). */
genre_model *genre_model_load_buffer(const void *data, size_t size, char *err, size_t errlen);
/* Value of one provenance key: the first "key=value" line's value, copied
 * NUL-terminated into buf (truncated to buflen-1 bytes); returns buf, or
 * NULL when the key is absent or buf/buflen cannot hold anything. */
const char *genre_model_meta_get(const genre_model *m, const char *key, char *buf, size_t buflen);
/* "conv2d", "relu", ... for a genre_layer_type; "unknown" otherwise. */
const char *genre_layer_type_name(uint32_t type);
/* Index of a label name, or -1. */
int genre_model_label_index(const genre_model *m, const char *name);
void genre_model_del(genre_model *m);

#endif
