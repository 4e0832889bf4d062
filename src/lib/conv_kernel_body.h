/* The micro-kernels, written once and compiled once per instruction set
 * (conv_kernel_portable.c, _avx2.c, _avx512.c).  The includer defines
 *   VEC, LANES                 the vector type and its floats
 *   VZERO(), VLOAD(p), VSTORE(p, v), VBCAST(x), VFMA(a, b, acc) = a * b + acc
 *   VRELU(v)                   v > 0 ? v : 0 per lane (NaN -> 0, as genre_rows_relu)
 *   VSTOREU(p, v), VSTOREN(p, v, n)   unaligned store of all lanes, of the first n
 *   MR1, MR2, MR3              positions per tile for 1, 2, 3 vectors
 *   KERNELS                    the name of the genre_convk_kernels to define
 * Each tile keeps mr x nv accumulators in registers (at most 24 of the
 * 32 AVX-512 registers; 12 of AVX2's 16) and reads, per tap, nv weight
 * vectors and one broadcast input value per position: the input is read
 * in place, in the order the taps come. */
#include "conv_kernel_isa.h"

/* ThreadSanitizer does not follow these reads, as it did not follow
 * OpenBLAS's before them: they read only what the caller's thread made or
 * what a pool task was handed (genre_pool orders both), and instrumenting
 * every broadcast made the TSan suite's networks many times slower.
 * AddressSanitizer does check them. */
#define KERNEL_ATTRS __attribute__((no_sanitize("thread")))

static inline __attribute__((always_inline)) KERNEL_ATTRS void
micro_body(const float *const *ap, const ptrdiff_t *tap_off, size_t taps, const float *panel,
           const float *bias, bool relu, float *const *op, size_t chans, float *tile, const int nv,
           const int mr)
{
    VEC acc[GENRE_CONVK_MAX_MR][GENRE_CONVK_MAX_NV];
#pragma GCC unroll 8
    for (int m = 0; m < mr; m++)
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++)
            acc[m][v] = VZERO();
    for (size_t k = 0; k < taps; k++) {
        const ptrdiff_t o = tap_off[k];
        const float *w = panel + k * (size_t)nv * LANES;
        VEC wv[GENRE_CONVK_MAX_NV];
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++)
            wv[v] = VLOAD(w + v * LANES);
#pragma GCC unroll 8
        for (int m = 0; m < mr; m++) {
            VEC x = VBCAST(ap[m][o]);
#pragma GCC unroll 3
            for (int v = 0; v < nv; v++)
                acc[m][v] = VFMA(x, wv[v], acc[m][v]);
        }
    }
    VEC bv[GENRE_CONVK_MAX_NV];
#pragma GCC unroll 3
    for (int v = 0; v < nv; v++)
        bv[v] = VLOAD(bias + v * LANES);
#pragma GCC unroll 8
    for (int m = 0; m < mr; m++)
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) {
            VEC y = acc[m][v] + bv[v];
            if (relu)
                y = VRELU(y);
            if (!op)
                VSTORE(tile + ((size_t)m * nv + v) * LANES, y);
            else if ((size_t)(v + 1) * LANES <= chans)
                VSTOREU(op[m] + v * LANES, y);
            else if ((size_t)v * LANES < chans)
                VSTOREN(op[m] + v * LANES, y, chans - (size_t)v * LANES);
        }
}

KERNEL_ATTRS static void micro1(const float *const *ap, const ptrdiff_t *tap_off, size_t taps,
                   const float *panel, const float *bias, bool relu, float *const *op,
                   size_t chans, float *tile)
{
    micro_body(ap, tap_off, taps, panel, bias, relu, op, chans, tile, 1, MR1);
}

KERNEL_ATTRS static void micro2(const float *const *ap, const ptrdiff_t *tap_off, size_t taps,
                   const float *panel, const float *bias, bool relu, float *const *op,
                   size_t chans, float *tile)
{
    micro_body(ap, tap_off, taps, panel, bias, relu, op, chans, tile, 2, MR2);
}

KERNEL_ATTRS static void micro3(const float *const *ap, const ptrdiff_t *tap_off, size_t taps,
                   const float *panel, const float *bias, bool relu, float *const *op,
                   size_t chans, float *tile)
{
    micro_body(ap, tap_off, taps, panel, bias, relu, op, chans, tile, 3, MR3);
}

const genre_convk_kernels KERNELS = {
    .lanes = LANES,
    .mr = {MR1, MR2, MR3},
    .micro = {micro1, micro2, micro3},
};
