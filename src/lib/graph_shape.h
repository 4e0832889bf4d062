/* The one place that decides whether a version-2 graph is well formed:
 * every reference resolves, there is no cycle, every node's input shapes
 * fit its type, every node leads to the output, and the output is a vector
 * of one probability per label.  The model loader calls it so a bad file is
 * refused at load; genre_graph_new calls it again for the shapes and the
 * order it plans with. */
#ifndef GENRE_GRAPH_SHAPE_H
#define GENRE_GRAPH_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genre/model.h"

/* Largest frame (F x C floats) or vector a node may produce. */
#define GENRE_GRAPH_MAX_FRAME_FLOATS ((size_t)1 << 22)

typedef struct genre_node_shape {
    bool frames;        /* one [f][c] frame per input frame; else a vector of c */
    size_t f, c;
} genre_node_shape;

/* n nodes (1..256) on frames of n_mels bands.  order (may be NULL) gets the
 * node indices in an order where every node follows its inputs; shapes
 * (may be NULL) gets each node's output shape.  0, or -1 with a message
 * naming the node. */
int genre_graph_check(const genre_node *nodes, uint32_t n, uint32_t n_mels, uint32_t n_labels,
                      uint32_t *order, genre_node_shape *shapes, char *err, size_t errlen);

#endif
