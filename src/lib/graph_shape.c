#include "graph_shape.h"

#include "genre/error.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NODES 256u

static genre_node_shape frames_input(uint32_t n_mels)
{
    return (genre_node_shape){.frames = true, .f = n_mels, .c = 1};
}

/* Kahn's algorithm; on a cycle, names a node on it. */
static int topological_order(const genre_node *nodes, uint32_t n, uint32_t *order, char *err,
                             size_t errlen)
{
    uint32_t pending[MAX_NODES], done = 0;
    bool placed[MAX_NODES] = {false};
    for (uint32_t i = 0; i < n; i++) {
        pending[i] = 0;
        for (uint32_t k = 0; k < nodes[i].n_inputs; k++)
            pending[i] += nodes[i].inputs[k] != GENRE_NODE_INPUT;
    }
    while (done < n) {
        uint32_t next = n;
        for (uint32_t i = 0; i < n && next == n; i++)
            if (!placed[i] && pending[i] == 0)
                next = i;
        if (next == n)
            break;
        placed[next] = true;
        order[done++] = next;
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t k = 0; k < nodes[i].n_inputs; k++)
                if (nodes[i].inputs[k] == (int32_t)next)
                    pending[i]--;
    }
    if (done == n)
        return 0;
    /* Every node left has an input that is left too (else it would have
     * been placed): following those from any of them ends up on a cycle
     * within n steps -- name that node, not one that only reads a cycle. */
    uint32_t at = 0;
    while (placed[at])
        at++;
    for (uint32_t step = 0; step < n; step++) {
        for (uint32_t k = 0; k < nodes[at].n_inputs; k++) {
            int32_t src = nodes[at].inputs[k];
            if (src != GENRE_NODE_INPUT && !placed[src]) {
                at = (uint32_t)src;
                break;
            }
        }
    }
    genre_set_error(err, errlen, "node %u (%s) is on a cycle", at, nodes[at].name);
    return -1;
}

static int node_shape(const genre_node *nd, uint32_t i, const genre_node_shape *in, size_t n_in,
                      genre_node_shape *out, char *err, size_t errlen)
{
    const char *kind = genre_layer_type_name(nd->type);
    const uint32_t *p = nd->p;
    const genre_node_shape *a = &in[0];
    bool need_frames = nd->type == GENRE_LAYER_CONV2D || nd->type == GENRE_LAYER_FREQ_MAX ||
                       nd->type == GENRE_LAYER_TIME_MAXMEAN;
    bool need_vector = nd->type == GENRE_LAYER_DENSE || nd->type == GENRE_LAYER_SOFTMAX ||
                       nd->type == GENRE_LAYER_SIGMOID;
    if ((need_frames && !a->frames) || (need_vector && a->frames)) {
        genre_set_error(err, errlen, "node %u (%s, %s) needs %s but gets %s", i, nd->name, kind,
                        need_frames ? "frames" : "a vector", a->frames ? "frames" : "a vector");
        return -1;
    }
    *out = *a;
    switch (nd->type) {
    case GENRE_LAYER_CONV2D: {
        size_t padded = a->f + 2 * (size_t)p[5];
        if (a->c != p[0] || padded < p[3]) {
            genre_set_error(err, errlen,
                            "node %u (%s, conv2d) takes %u channels over at least %u bins, gets "
                            "%zu channels over %zu bins (+%u padding each side)",
                            i, nd->name, p[0], p[3], a->c, a->f, p[5]);
            return -1;
        }
        out->f = padded - p[3] + 1;
        out->c = p[1];
        break;
    }
    case GENRE_LAYER_AFFINE:
        if (a->c != p[0]) {
            genre_set_error(err, errlen, "node %u (%s, affine) has %u channels, its input %zu", i,
                            nd->name, p[0], a->c);
            return -1;
        }
        break;
    case GENRE_LAYER_FREQ_MAX:
        out->f = 1;
        break;
    case GENRE_LAYER_TIME_MAXMEAN:
        if (a->f != 1) {
            genre_set_error(err, errlen,
                            "node %u (%s, time_maxmean) needs one bin per frame, gets %zu (reduce "
                            "the frequency axis first)",
                            i, nd->name, a->f);
            return -1;
        }
        out->frames = false;
        out->f = 1;
        out->c = 2 * a->c;
        break;
    case GENRE_LAYER_DENSE:
        if (a->c != p[0]) {
            genre_set_error(err, errlen, "node %u (%s, dense) takes %u inputs, gets %zu", i,
                            nd->name, p[0], a->c);
            return -1;
        }
        out->c = p[1];
        break;
    case GENRE_LAYER_ADD:
    case GENRE_LAYER_CONCAT:
        out->c = 0;
        for (size_t k = 0; k < n_in; k++) {
            bool same = in[k].frames == a->frames && in[k].f == a->f &&
                        (nd->type == GENRE_LAYER_CONCAT || in[k].c == a->c);
            if (!same) {
                genre_set_error(err, errlen,
                                "node %u (%s, %s): input %zu is %s %zux%zu, input 0 %s %zux%zu", i,
                                nd->name, kind, k, in[k].frames ? "frames" : "a vector", in[k].f,
                                in[k].c, a->frames ? "frames" : "a vector", a->f, a->c);
                return -1;
            }
            out->c += in[k].c;
        }
        if (nd->type == GENRE_LAYER_ADD)
            out->c = a->c;
        break;
    default:    /* relu, softmax, sigmoid keep the shape */
        break;
    }
    if (out->f * out->c > GENRE_GRAPH_MAX_FRAME_FLOATS) {
        genre_set_error(err, errlen, "node %u (%s, %s) output %zux%zu exceeds %zu floats", i,
                        nd->name, kind, out->f, out->c, GENRE_GRAPH_MAX_FRAME_FLOATS);
        return -1;
    }
    return 0;
}

int genre_graph_check(const genre_node *nodes, uint32_t n, uint32_t n_mels, uint32_t n_labels,
                      uint32_t *order_out, genre_node_shape *shapes_out, char *err, size_t errlen)
{
    if (n < 1 || n > MAX_NODES) {
        genre_set_error(err, errlen, "graph has %u nodes, need 1..%u", n, MAX_NODES);
        return -1;
    }
    uint32_t order[MAX_NODES];
    genre_node_shape shapes[MAX_NODES];
    if (topological_order(nodes, n, order, err, errlen))
        return -1;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = order[k];
        genre_node_shape in[GENRE_NODE_MAX_INPUTS];
        for (uint32_t j = 0; j < nodes[i].n_inputs; j++) {
            int32_t src = nodes[i].inputs[j];
            in[j] = src == GENRE_NODE_INPUT ? frames_input(n_mels) : shapes[src];
        }
        if (node_shape(&nodes[i], i, in, nodes[i].n_inputs, &shapes[i], err, errlen))
            return -1;
    }
    const genre_node *last = &nodes[n - 1];
    if (last->type != GENRE_LAYER_SOFTMAX && last->type != GENRE_LAYER_SIGMOID) {
        genre_set_error(err, errlen, "the output node %u (%s) is %s; it must be softmax or sigmoid",
                        n - 1, last->name, genre_layer_type_name(last->type));
        return -1;
    }
    if (shapes[n - 1].c != n_labels) {
        genre_set_error(err, errlen, "the output node %u (%s) gives %zu values for %u labels",
                        n - 1, last->name, shapes[n - 1].c, n_labels);
        return -1;
    }
    /* Every node must feed the output: walk back from it. */
    bool used[MAX_NODES] = {false};
    used[n - 1] = true;
    for (uint32_t k = n; k-- > 0;) {
        uint32_t i = order[k];
        if (!used[i])
            continue;
        for (uint32_t j = 0; j < nodes[i].n_inputs; j++)
            if (nodes[i].inputs[j] != GENRE_NODE_INPUT)
                used[nodes[i].inputs[j]] = true;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!used[i]) {
            genre_set_error(err, errlen, "node %u (%s) does not lead to the output", i,
                            nodes[i].name);
            return -1;
        }
    }
    if (order_out)
        memcpy(order_out, order, n * sizeof *order);
    if (shapes_out)
        memcpy(shapes_out, shapes, n * sizeof *shapes);
    return 0;
}
