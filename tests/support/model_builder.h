/* Models built in memory for the network tests: a version-1 layer list
 * (test_net) or a version-2 graph (test_graph), its labels, and the weight
 * arrays it owns.  Usage:
 *
 *     test_model t;
 *     test_model_init(&t, 2, n_mels, window_frames, n_labels, "label");
 *     t.nodes[t.model.n_nodes++] = ...;          // or t.layers / n_layers
 *     node->weight = test_model_own(&t, random_floats(...));
 *     ... genre_graph_new(&t.model, ...) ...
 *     test_model_free(&t);                       // the owned arrays
 */
#ifndef GENRE_TEST_MODEL_BUILDER_H
#define GENRE_TEST_MODEL_BUILDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "genre/model.h"

#define TEST_MODEL_MAX_NODES 64     /* layers or graph nodes */
#define TEST_MODEL_MAX_LABELS 16

typedef struct test_model {
    genre_model model;
    genre_layer layers[TEST_MODEL_MAX_NODES];
    genre_node nodes[TEST_MODEL_MAX_NODES];
    const char *labels[TEST_MODEL_MAX_LABELS];
    float *owned[2 * TEST_MODEL_MAX_NODES];
    int n_owned;
} test_model;

/* format_version 1 (layers) or 2 (nodes); every label reads `label`. */
static inline void test_model_init(test_model *t, uint32_t format_version, uint32_t n_mels,
                                   uint32_t window_frames, uint32_t n_labels, const char *label)
{
    memset(t, 0, sizeof *t);
    t->model.format_version = format_version;
    t->model.frontend.n_mels = n_mels;
    t->model.frontend.window_frames = window_frames;
    t->model.n_labels = n_labels;
    t->model.labels = t->labels;
    if (format_version == 1)
        t->model.layers = t->layers;
    else
        t->model.nodes = t->nodes;
    for (uint32_t i = 0; i < n_labels && i < TEST_MODEL_MAX_LABELS; i++)
        t->labels[i] = label;
}

/* t frees v in test_model_free; returns v. */
static inline const float *test_model_own(test_model *t, float *v)
{
    t->owned[t->n_owned++] = v;
    return v;
}

static inline void test_model_free(test_model *t)
{
    for (int i = 0; i < t->n_owned; i++)
        free(t->owned[i]);
    t->n_owned = 0;
}

#endif
