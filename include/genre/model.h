/* The genre model file: front-end spec, labels, network and weights in one
 * versioned, CRC-checked binary (doc/model-format.md).  Version 1 holds a
 * chain of layers (run by genre/net.h), version 2 a small directed acyclic
 * graph of named nodes (run by genre/graph.h).  The loader
 * checks every size, offset and shape and refuses a bad file with a message
 * that says what is wrong.  A loaded model is immutable and may be shared
 * by threads. */
#ifndef GENRE_MODEL_H
#define GENRE_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "genre/frontend.h"
#include "genre/sha256.h"

#define GENRE_MODEL_MAGIC "GENREMDL"
/* The newest format version this build reads; version 1 files load too. */
#define GENRE_MODEL_VERSION 2u
/* A model has 1 to this many labels: the loader refuses more, and a
 * result can hold every probability in a fixed array. */
#define GENRE_MODEL_MAX_LABELS 1024u

enum genre_layer_type {
    GENRE_LAYER_CONV2D = 1,         /* p: in_c, out_c, kh, kw, pad_h, pad_w; stride 1;
                                       weight [out_c][in_c][kh][kw], bias [out_c] */
    GENRE_LAYER_RELU = 2,
    GENRE_LAYER_MAXPOOL2D = 3,      /* p: kh, kw; stride = kernel, floor */
    GENRE_LAYER_GLOBAL_MEANMAX = 4, /* [C][H][W] -> [2C]: means then maxima */
    GENRE_LAYER_DENSE = 5,          /* p: in, out; weight [out][in], bias [out] */
    GENRE_LAYER_SOFTMAX = 6,
    /* Version 2 (graph nodes only): */
    GENRE_LAYER_SIGMOID = 7,
    GENRE_LAYER_AFFINE = 8,         /* p: channels; y = x * weight[c] + bias[c] per channel
                                       (a batch norm with its statistics frozen) */
    GENRE_LAYER_FREQ_MAX = 9,       /* [T][F][C] -> [T][1][C]: max over frequency */
    GENRE_LAYER_CONCAT = 10,        /* 2..8 inputs joined along the channel axis */
    GENRE_LAYER_ADD = 11,           /* 2 inputs of one shape, summed */
    GENRE_LAYER_TIME_MAXMEAN = 12,  /* [T][1][C] -> [2C]: max and mean over the window's
                                       frames, interleaved (max_0, mean_0, max_1, ...) */
};

#define GENRE_LAYER_PARAMS 6

/* In a version-2 graph, conv2d's p are in_c, out_c, kt, kf, pad_t, pad_f:
 * kt x kf taps over (time, frequency); pad_t zero frames before and
 * kt - 1 - pad_t after ("same" in time, so every frame-domain node has one
 * output frame per input frame and can be computed as frames arrive);
 * pad_f zero bins on each side of the frequency axis. */
#define GENRE_NODE_NAME_SIZE 32
#define GENRE_NODE_MAX_INPUTS 8
#define GENRE_NODE_INPUT (-1)       /* an input index meaning the front-end's frames */

typedef struct genre_node {
    char name[GENRE_NODE_NAME_SIZE];    /* printable ASCII, unique, NUL-terminated */
    uint32_t type;                      /* enum genre_layer_type */
    uint32_t n_inputs;
    int32_t inputs[GENRE_NODE_MAX_INPUTS]; /* node indices or GENRE_NODE_INPUT */
    uint32_t p[GENRE_LAYER_PARAMS];     /* type-specific, as for genre_layer */
    const float *weight;                /* conv2d/dense weight, affine scale; else NULL */
    const float *bias;                  /* conv2d/dense bias, affine shift; else NULL */
    size_t weight_len, bias_len;        /* in floats */
} genre_node;

/* Receives frame t of a tapped node (genre_graph_tap, genre_stream_tap):
 * `frame` holds the node's [f][c] output, valid during the call.  Non-zero
 * stops the computation (the call computing it returns -1). */
typedef int (*genre_node_sink)(void *user, uint64_t t, const float *frame);

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
    uint32_t n_layers;                  /* version 1: the chain; 0 in version 2 */
    const genre_layer *layers;
    uint32_t n_nodes;                   /* version 2: the graph; 0 in version 1 */
    const genre_node *nodes;            /* the last node is the output */
    const char *meta;                   /* provenance, "key=value\n" lines */
    uint32_t crc32;
    /* The model's identity: SHA-256 of the whole file (what sha256sum
     * prints), lowercase hex.  Two files with the same weights but other
     * provenance differ here; a retrained model always does. */
    char sha256[GENRE_SHA256_HEX_SIZE];
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
