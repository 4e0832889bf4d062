/* Convolution as an implicit matrix product, with its own vector kernels
 * (inside the library and its tests only).
 *
 * A convolution's output value for position p and output channel o is
 *     bias[o] + sum over taps k of weight[o][k] * in[pos(p) + tap_off[k]]
 * where tap_off says where tap k (a kernel offset in time, frequency and
 * input channel) lies from the position's first input value.  Both
 * engines' convolutions have this form: genre_net's NCHW planes (padded so
 * that every tap reads stored values) and genre_graph's frames.  The input
 * is read in place (no im2col matrix); the weights are packed once, at
 * genre_convk_new, into panels of output channels laid out for the
 * instruction set chosen.
 *
 * Instruction sets: the best one the CPU (and the OS) supports is chosen at
 * genre_convk_new -- AVX-512F, AVX2 with FMA, or portable C vector code --
 * so one binary runs everywhere and none of this depends on environment
 * variables.  Tests ask for each available set explicitly.  Every output
 * value is summed over the taps in the same order on every set (one fused
 * multiply-add per tap on AVX2 and AVX-512, which therefore give identical
 * results; the portable code rounds the product separately).
 *
 * Tested by tests/lib/test_conv_kernel.c against a naive sum, for every set
 * this CPU can run. */
#ifndef GENRE_CONV_KERNEL_H
#define GENRE_CONV_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum genre_isa {
    GENRE_ISA_PORTABLE = 0,
    GENRE_ISA_AVX2 = 1,         /* AVX2 + FMA */
    GENRE_ISA_AVX512 = 2,       /* AVX-512F */
    GENRE_ISA_BEST = 3,         /* genre_convk_new: the best this CPU runs */
} genre_isa;

/* The best set this CPU and OS run (checked once per call: cheap). */
genre_isa genre_isa_detect(void);
/* "portable", "avx2", "avx512". */
const char *genre_isa_name(genre_isa isa);
/* The set genre_isa_name names, or GENRE_ISA_BEST for any other string. */
genre_isa genre_isa_parse(const char *name);
/* Whether this build has kernels for isa and this CPU runs them. */
bool genre_isa_available(genre_isa isa);

typedef struct genre_convk genre_convk;

/* Packs weight [out_c][taps] (row-major) and copies bias [out_c].  isa: a
 * set from genre_isa_available, or GENRE_ISA_BEST.  NULL when out of
 * memory or isa is not available.  Free with genre_convk_del. */
genre_convk *genre_convk_new(genre_isa isa, size_t taps, size_t out_c, const float *weight,
                             const float *bias);
void genre_convk_del(genre_convk *k);
genre_isa genre_convk_isa(const genre_convk *k);

/* The positions of one call: a grid of rows x cols, position (r, c)
 * reading from in + r * in_row + c * in_col (plus each tap's offset) and
 * writing channel o to out + r * out_row + c * out_col + o * out_chan. */
typedef struct genre_convk_grid {
    size_t rows, cols;
    ptrdiff_t in_row, in_col;
    ptrdiff_t out_row, out_col, out_chan;
} genre_convk_grid;

/* Every position of grid, tap k reading at the position's input + tap_off[k]
 * (taps offsets), with max(., 0) after the bias when relu.  Reads only what
 * the taps address; allocates nothing; any number of calls may run at once
 * on one plan. */
void genre_convk_run(const genre_convk *k, const float *in, const ptrdiff_t *tap_off,
                     const genre_convk_grid *grid, bool relu, float *out);

#endif
