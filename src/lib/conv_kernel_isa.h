/* What each instruction set's kernels file gives conv_kernel.c: its vector
 * width and one micro-kernel per panel width (1, 2 or 3 vectors of output
 * channels), each computing a tile of mr[] positions at once. */
#ifndef GENRE_CONV_KERNEL_ISA_H
#define GENRE_CONV_KERNEL_ISA_H

#include <stdbool.h>
#include <stddef.h>

#define GENRE_CONVK_MAX_MR 8
#define GENRE_CONVK_MAX_NV 3
#define GENRE_CONVK_MAX_LANES 16

/* The panel's results for mr positions:
 *     y[m][j] = bias[j] + sum over k < taps of ap[m][tap_off[k]] * panel[k][j]
 * for j < nv * lanes, then max(y, 0) when relu; written to op[m][j] for
 * j < chans (op[m] holds channels contiguously), or, when op is NULL, to
 * tile[m][j] for every j.  panel is [taps][nv * lanes] floats, bias
 * nv * lanes and tile mr * nv * lanes, all aligned to 64 bytes. */
typedef void (*genre_convk_micro)(const float *const *ap, const ptrdiff_t *tap_off, size_t taps,
                                  const float *panel, const float *bias, bool relu,
                                  float *const *op, size_t chans, float *tile);

typedef struct genre_convk_kernels {
    size_t lanes;
    size_t mr[GENRE_CONVK_MAX_NV];              /* positions per tile, by nv - 1 */
    genre_convk_micro micro[GENRE_CONVK_MAX_NV];
} genre_convk_kernels;

extern const genre_convk_kernels genre_convk_portable;
#if defined(__x86_64__)
extern const genre_convk_kernels genre_convk_avx2;
extern const genre_convk_kernels genre_convk_avx512;
#endif

#endif
