/* The layer kernels behind genre_net, one function per layer type, exposed
 * (inside the library and to its tests only) so each can be checked against
 * a naive reference.  Tensors are dense row-major float arrays: [H][W][C]
 * activations (channels last, batch 1: the vector kernels store a position's
 * channels together and pooling runs along them) or flat vectors.  The
 * model file's order is PyTorch's [C][H][W]; genre_net converts where a
 * layer reads that order (a dense layer on an image).  None of them
 * allocates. */
#ifndef GENRE_NET_LAYERS_H
#define GENRE_NET_LAYERS_H

#include "conv_kernel.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct genre_conv_shape {
    size_t in_c, h, w;          /* input */
    size_t out_c, kh, kw;       /* kernel */
    size_t pad_h, pad_w;        /* zero padding on each side */
} genre_conv_shape;

/* Output height/width: h + 2*pad_h - kh + 1 (stride 1). */
size_t genre_conv_out_h(const genre_conv_shape *s);
size_t genre_conv_out_w(const genre_conv_shape *s);

/* A conv layer ready to run: its weights packed for the vector kernels
 * (conv_kernel.h) and its taps' offsets in the zero-padded input. */
typedef struct genre_conv_plan {
    genre_conv_shape s;
    genre_convk *k;
    ptrdiff_t *tap_off;         /* tap (c, i, j) -> (i * wp + j) * in_c + c */
} genre_conv_plan;

/* Plans s with weight [out_c][in_c][kh][kw] and bias [out_c] (copied) for
 * isa (or GENRE_ISA_BEST).  0, or -1 when out of memory or isa is not
 * available (*p then needs no free). */
int genre_conv_plan_init(genre_conv_plan *p, const genre_conv_shape *s, const float *weight,
                         const float *bias, genre_isa isa);
void genre_conv_plan_free(genre_conv_plan *p);

/* Floats of the zero-padded copy of the input a padded conv reads
 * ((h + 2 pad_h) x (w + 2 pad_w) x in_c); 0 without padding. */
size_t genre_conv_padded_size(const genre_conv_shape *s);
/* What the conv's rows read: in itself, or for a padded conv its
 * zero-padded copy, written to padded (genre_conv_padded_size floats). */
const float *genre_conv_source(const genre_conv_shape *s, const float *in, float *padded);

/* out[oh][ow][out_c] = bias + weight * input, optionally followed by ReLU
 * in the same pass.  padded holds genre_conv_padded_size() floats of
 * scratch.  out must not alias in. */
void genre_layer_conv2d(const genre_conv_plan *p, const float *in, bool relu, float *padded,
                        float *out);
/* Output rows [oy0, oy1) of every channel of genre_layer_conv2d's result,
 * written in place in the full out, reading src (genre_conv_source).  Different row
 * ranges may run at once on different threads. */
void genre_layer_conv2d_rows(const genre_conv_plan *p, const float *src, bool relu, size_t oy0,
                             size_t oy1, float *out);
/* [h][w][c] -> [c][h][w], the model file's order. */
void genre_layer_to_chw(const float *in, size_t c, size_t h, size_t w, float *out);
/* A conv followed by a kh x kw max-pool, for pooled output rows [py0, py1):
 * conv rows [py0 * kh, py1 * kh) go to scratch ((py1 - py0) * kh * ow *
 * out_c floats), are pooled, and land in place in the full pooled output
 * out ([oh / kh][ow / kw][out_c]).  The same values as genre_layer_conv2d
 * then genre_layer_maxpool2d, without the conv's whole output in memory.
 * Different row ranges may run at once (each with its own scratch). */
void genre_layer_conv2d_pool_rows(const genre_conv_plan *p, const float *src, bool relu, size_t kh,
                                  size_t kw, size_t py0, size_t py1, float *scratch, float *out);
/* out[i] = max(in[i], 0); out may equal in. */
void genre_layer_relu(const float *in, size_t n, float *out);
/* Non-overlapping max over kh x kw blocks (stride = kernel, remainder
 * rows/columns dropped): out is [h/kh][w/kw][c]. */
void genre_layer_maxpool2d(const float *in, size_t c, size_t h, size_t w, size_t kh, size_t kw,
                           float *out);
/* out[0..c) = per-channel means, out[c..2c) = per-channel maxima. */
void genre_layer_global_meanmax(const float *in, size_t c, size_t h, size_t w, float *out);
/* out = weight[n_out][n_in] * in + bias; out must not alias in. */
void genre_layer_dense(const float *in, size_t n_in, const float *weight, const float *bias,
                       size_t n_out, float *out);
/* Max-subtracted softmax; out may equal in. */
void genre_layer_softmax(const float *in, size_t n, float *out);

#endif
