/* The frame-domain kernels behind genre_graph, exposed (inside the library
 * and to its tests only) so each can be checked against a naive reference.
 * A frame-domain tensor is time-major: frame t is [f][c] floats (channels
 * innermost), and frames are stored one after another.  None of these
 * allocates. */
#ifndef GENRE_GRAPH_LAYERS_H
#define GENRE_GRAPH_LAYERS_H

#include "conv_kernel.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A conv over (time, frequency) in the graph's layout. */
typedef struct genre_tconv_shape {
    size_t in_f, in_c;          /* input frame: in_f bins x in_c channels */
    size_t out_c, kt, kf;
    size_t pad_t;               /* frames of context before; kt - 1 - pad_t after */
    size_t pad_f;               /* zero bins on each side */
} genre_tconv_shape;

size_t genre_tconv_out_f(const genre_tconv_shape *s);
/* Taps per output value: kt * kf * in_c. */
size_t genre_tconv_taps(const genre_tconv_shape *s);

/* Frames the conv reads, as a window on an input stream: `frames` points at
 * absolute frame `base`; frames outside [lo, hi) read as zeros (before the
 * stream's start, after its end). */
typedef struct genre_frame_span {
    const float *frames;
    int64_t base, lo, hi;
} genre_frame_span;

/* Re-lays a weight from the file's [out][in][kt][kf] to [out][kt][kf][in],
 * the order of genre_tconv's patches. */
void genre_tconv_relayout(const genre_tconv_shape *s, const float *weight, float *out);

/* A conv ready to run: its shape, its weights packed for the vector
 * kernels (conv_kernel.h) and the taps' offsets in the frames and in a
 * patch row. */
typedef struct genre_tconv_plan {
    genre_tconv_shape s;
    genre_convk *k;
    ptrdiff_t *frame_off;       /* tap (i, j, c) -> i * frame + j * in_c + c */
    ptrdiff_t *staged_off;      /* the same in staged frames (with pad_f zero bins each side) */
} genre_tconv_plan;

/* Plans s with weight in the file's [out][in][kt][kf] order and bias
 * [out_c] (both copied), for isa (or GENRE_ISA_BEST).  0, or -1 when out of
 * memory or isa is not available (*p then needs no free). */
int genre_tconv_plan_init(genre_tconv_plan *p, const genre_tconv_shape *s, const float *weight,
                          const float *bias, genre_isa isa);
void genre_tconv_plan_free(genre_tconv_plan *p);

/* Floats of scratch genre_tconv needs for `rows` rows. */
size_t genre_tconv_scratch_size(const genre_tconv_shape *s, size_t rows);

/* Output frames [t0, t0 + rows): out[(t - t0)][f'][c] = bias[c] + sum over
 * taps of weight * input, zero padded in time and frequency, then
 * max(., 0) when relu.  Rows whose taps all read stored frames read them in
 * place (without frequency padding); the others read frames staged with
 * their zeros in scratch (genre_tconv_scratch_size(s, rows) floats). */
void genre_tconv(const genre_tconv_plan *p, const genre_frame_span *in, int64_t t0, size_t rows,
                 bool relu, float *scratch, float *out);

/* In place on n vectors of c channels: x = relu(x), or x = x * scale + shift. */
void genre_rows_relu(float *x, size_t n, size_t c);
void genre_rows_affine(float *x, size_t n, size_t c, const float *scale, const float *shift);
/* [rows][f][c] -> [rows][c]: max over f. */
void genre_rows_freq_max(const float *in, size_t rows, size_t f, size_t c, float *out);
/* frames [n][c] -> out[2c]: per channel max then mean (double sum), interleaved. */
void genre_frames_time_maxmean(const float *frames, size_t n, size_t c, float *out);
/* out = 1 / (1 + e^-x), element-wise; out may equal in. */
void genre_rows_sigmoid(const float *in, size_t n, float *out);

#endif
