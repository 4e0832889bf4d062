#include "conv_kernel.h"
#include "conv_kernel_isa.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Output channels in panels of up to GENRE_CONVK_MAX_NV vectors: each
 * panel's weights are [taps][nv * lanes] (zero past out_c), read once per
 * tile of positions while they sit in cache. */
typedef struct panel {
    size_t o0, nv;
    const float *w;
    const float *bias;          /* nv * lanes, zero past out_c */
} panel;

struct genre_convk {
    genre_isa isa;
    const genre_convk_kernels *kern;
    size_t taps, out_c, n_panels;
    panel *panels;
    float *packed;              /* every panel's weights, then its bias */
};

genre_isa genre_isa_detect(void)
{
#if defined(__x86_64__)
    /* libgcc's CPU check also asks the OS whether it saves the registers
     * (XGETBV): a kernel without AVX-512 state gets AVX2 here. */
    if (__builtin_cpu_supports("avx512f"))
        return GENRE_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return GENRE_ISA_AVX2;
#endif
    return GENRE_ISA_PORTABLE;
}

const char *genre_isa_name(genre_isa isa)
{
    switch (isa) {
    case GENRE_ISA_AVX2:
        return "avx2";
    case GENRE_ISA_AVX512:
        return "avx512";
    case GENRE_ISA_PORTABLE:
        return "portable";
    default:
        return "best";
    }
}

genre_isa genre_isa_parse(const char *name)
{
    for (int k = GENRE_ISA_PORTABLE; k < GENRE_ISA_BEST; k++)
        if (strcmp(name, genre_isa_name((genre_isa)k)) == 0)
            return (genre_isa)k;
    return GENRE_ISA_BEST;
}

bool genre_isa_available(genre_isa isa)
{
    return isa <= genre_isa_detect();
}

static const genre_convk_kernels *kernels_for(genre_isa isa)
{
    switch (isa) {
#if defined(__x86_64__)
    case GENRE_ISA_AVX512:
        return &genre_convk_avx512;
    case GENRE_ISA_AVX2:
        return &genre_convk_avx2;
#endif
    case GENRE_ISA_PORTABLE:
        return &genre_convk_portable;
    default:
        return NULL;
    }
}

genre_convk *genre_convk_new(genre_isa isa, size_t taps, size_t out_c, const float *weight,
                             const float *bias)
{
    if (isa == GENRE_ISA_BEST)
        isa = genre_isa_detect();
    if (!genre_isa_available(isa) || !kernels_for(isa) || taps == 0 || out_c == 0)
        return NULL;
    genre_convk *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->isa = isa;
    k->kern = kernels_for(isa);
#if defined(__x86_64__)
    /* Eight or fewer output channels fill an AVX2 vector but only half an
     * AVX-512 one: the AVX2 kernels then do the same work in half the
     * lanes (and sum in the same order, so the results are the same). */
    if (isa == GENRE_ISA_AVX512 && out_c <= genre_convk_avx2.lanes)
        k->kern = &genre_convk_avx2;
#endif
    k->taps = taps;
    k->out_c = out_c;
    const size_t lanes = k->kern->lanes;
    /* Vectors of channels, spread evenly over as few panels as the widest
     * kernel allows: 13 vectors -> 3+3+3+2+2, not 3+3+3+3+1. */
    size_t vectors = (out_c + lanes - 1) / lanes;
    k->n_panels = (vectors + GENRE_CONVK_MAX_NV - 1) / GENRE_CONVK_MAX_NV;
    k->panels = calloc(k->n_panels, sizeof *k->panels);
    size_t floats = vectors * lanes * (taps + 1);
    k->packed = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
    if (!k->panels || !k->packed) {
        genre_convk_del(k);
        return NULL;
    }
    float *dst = k->packed;
    size_t o0 = 0;
    for (size_t q = 0; q < k->n_panels; q++) {
        size_t nv = vectors / k->n_panels + (q < vectors % k->n_panels);
        size_t width = nv * lanes;
        k->panels[q] = (panel){.o0 = o0, .nv = nv, .w = dst, .bias = dst + taps * width};
        for (size_t t = 0; t < taps; t++)
            for (size_t j = 0; j < width; j++)
                *dst++ = o0 + j < out_c ? weight[(o0 + j) * taps + t] : 0.0f;
        for (size_t j = 0; j < width; j++)
            *dst++ = o0 + j < out_c ? bias[o0 + j] : 0.0f;
        o0 += width;
    }
    return k;
}

void genre_convk_del(genre_convk *k)
{
    if (!k)
        return;
    free(k->panels);
    free(k->packed);
    free(k);
}

genre_isa genre_convk_isa(const genre_convk *k)
{
    return k->isa;
}

void genre_convk_run(const genre_convk *k, const float *in, const ptrdiff_t *tap_off,
                     const genre_convk_grid *grid, bool relu, float *out)
{
    const size_t n = grid->rows * grid->cols, lanes = k->kern->lanes;
    /* Channels-last outputs are stored by the kernel itself; others go
     * through a tile and are scattered here. */
    const bool direct = grid->out_chan == 1;
    _Alignas(64) float tile[GENRE_CONVK_MAX_MR * GENRE_CONVK_MAX_NV * GENRE_CONVK_MAX_LANES];
    for (size_t q = 0; q < k->n_panels; q++) {
        const panel *pq = &k->panels[q];
        const size_t mr = k->kern->mr[pq->nv - 1], width = pq->nv * lanes;
        const size_t chans = k->out_c - pq->o0 < width ? k->out_c - pq->o0 : width;
        size_t r = 0, c = 0;        /* the grid position of p0 */
        for (size_t p0 = 0; p0 < n; p0 += mr) {
            const size_t m_end = n - p0 < mr ? n - p0 : mr;
            const float *ap[GENRE_CONVK_MAX_MR];
            float *op[GENRE_CONVK_MAX_MR];
            for (size_t m = 0; m < m_end; m++) {
                ap[m] = in + (ptrdiff_t)r * grid->in_row + (ptrdiff_t)c * grid->in_col;
                op[m] = out + (ptrdiff_t)r * grid->out_row + (ptrdiff_t)c * grid->out_col +
                        (ptrdiff_t)pq->o0 * grid->out_chan;
                if (++c == grid->cols)
                    c = 0, r++;
            }
            /* A short last tile repeats its last position (and stores the
             * same values there again). */
            for (size_t m = m_end; m < mr; m++) {
                ap[m] = ap[m_end - 1];
                op[m] = op[m_end - 1];
            }
            k->kern->micro[pq->nv - 1](ap, tap_off, k->taps, pq->w, pq->bias, relu,
                                       direct ? op : NULL, chans, tile);
            if (direct)
                continue;
            for (size_t m = 0; m < m_end; m++)
                for (size_t j = 0; j < chans; j++)
                    op[m][(ptrdiff_t)j * grid->out_chan] = tile[m * width + j];
        }
    }
}
