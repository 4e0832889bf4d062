/* The layer kernels behind genre_net, one function per layer type, exposed
 * (inside the library and to its tests only) so each can be checked against
 * a naive reference.  Tensors are dense row-major float arrays: [C][H][W]
 * activations (NCHW, batch 1) or flat vectors.  None of them allocates. */
#ifndef GENRE_NET_LAYERS_H
#define GENRE_NET_LAYERS_H

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
/* Floats of im2col scratch the conv needs (0 when it reads the input directly). */
size_t genre_conv_scratch_size(const genre_conv_shape *s);
/* The same for output rows [oy0, oy0 + rows) only. */
size_t genre_conv_rows_scratch_size(const genre_conv_shape *s, size_t rows);

/* out[out_c][oh][ow] = weight * im2col(in) + bias, optionally followed by
 * ReLU in the same pass.  weight is [out_c][in_c][kh][kw]; col holds
 * genre_conv_scratch_size() floats.  out must not alias in. */
void genre_layer_conv2d(const genre_conv_shape *s, const float *in, const float *weight,
                        const float *bias, bool relu, float *col, float *out);
/* Output rows [oy0, oy1) of every channel of genre_layer_conv2d's result,
 * written in place in the full out; col holds
 * genre_conv_rows_scratch_size(s, oy1 - oy0) floats.  Different row ranges
 * may run at once on different threads (each with its own col). */
void genre_layer_conv2d_rows(const genre_conv_shape *s, const float *in, const float *weight,
                             const float *bias, bool relu, size_t oy0, size_t oy1, float *col,
                             float *out);
/* out[i] = max(in[i], 0); out may equal in. */
void genre_layer_relu(const float *in, size_t n, float *out);
/* Non-overlapping max over kh x kw blocks (stride = kernel, remainder
 * rows/columns dropped): out is [c][h/kh][w/kw]. */
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
