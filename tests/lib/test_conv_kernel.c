/* src/lib/conv_kernel.c: every instruction set this CPU runs against a
 * naive double-precision sum, over shapes that exercise short tiles,
 * partial panels, strided and channel-major outputs, negative offsets and
 * the fused ReLU; AVX2 and AVX-512 give identical floats. */
#include "check.h"
#include "conv_kernel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct rng {
    uint64_t s;
} rng;

static float frand(rng *r)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((r->s >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}

static size_t irange(rng *r, size_t lo, size_t hi)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (size_t)(r->s >> 33) % (hi - lo + 1);
}

typedef struct shape {
    size_t taps, out_c, rows, cols;
    bool channel_major;     /* out[o][r][c] (genre_net) rather than out[r][c][o] */
} shape;

/* Runs one shape on isa; returns the output (caller frees) after checking
 * it against the naive sum. */
static float *run_case(rng *r, const shape *s, genre_isa isa, bool relu, uint64_t seed)
{
    rng w = {seed};
    /* Input: a plane with a margin before and after, taps spread over it
     * (some before the position: negative offsets). */
    const ptrdiff_t in_col = (ptrdiff_t)irange(&w, 1, 3), in_row = in_col * (ptrdiff_t)s->cols + 5;
    const ptrdiff_t margin = 64;
    ptrdiff_t *off = malloc(s->taps * sizeof *off);
    for (size_t k = 0; k < s->taps; k++)
        off[k] = (ptrdiff_t)irange(&w, 0, 2 * margin) - margin;
    size_t n_in = (size_t)(in_row * (ptrdiff_t)s->rows + 2 * margin + 8);
    float *in = malloc(n_in * sizeof *in), *weight = malloc(s->taps * s->out_c * sizeof *weight);
    float *bias = malloc(s->out_c * sizeof *bias);
    for (size_t i = 0; i < n_in; i++)
        in[i] = frand(&w);
    for (size_t i = 0; i < s->taps * s->out_c; i++)
        weight[i] = frand(&w);
    for (size_t i = 0; i < s->out_c; i++)
        bias[i] = frand(&w);
    const float *origin = in + margin;

    genre_convk_grid g = {.rows = s->rows, .cols = s->cols, .in_row = in_row, .in_col = in_col};
    const size_t n_out = s->rows * s->cols * s->out_c + 3;
    if (s->channel_major) {
        g.out_col = 1;
        g.out_row = (ptrdiff_t)s->cols;
        g.out_chan = (ptrdiff_t)(s->rows * s->cols);
    } else {
        g.out_chan = 1;
        g.out_col = (ptrdiff_t)s->out_c;
        g.out_row = (ptrdiff_t)(s->cols * s->out_c);
    }
    float *out = malloc(n_out * sizeof *out);
    for (size_t i = 0; i < n_out; i++)
        out[i] = 1234.5f;   /* what the kernel must not touch stays */
    genre_convk *k = genre_convk_new(isa, s->taps, s->out_c, weight, bias);
    CHECK_MSG(k != NULL && genre_convk_isa(k) == isa, "%s: genre_convk_new", genre_isa_name(isa));
    if (!k)
        goto done;
    genre_convk_run(k, origin, off, &g, relu, out);
    double worst = 0.0;
    for (size_t rr = 0; rr < s->rows; rr++)
        for (size_t c = 0; c < s->cols; c++)
            for (size_t o = 0; o < s->out_c; o++) {
                const float *a = origin + (ptrdiff_t)rr * in_row + (ptrdiff_t)c * in_col;
                double sum = bias[o], mag = fabs(bias[o]);
                for (size_t t = 0; t < s->taps; t++) {
                    sum += (double)weight[o * s->taps + t] * a[off[t]];
                    mag += fabs((double)weight[o * s->taps + t] * a[off[t]]);
                }
                if (relu && sum < 0)
                    sum = 0;
                float got = out[rr * (size_t)g.out_row + c * (size_t)g.out_col + o * (size_t)g.out_chan];
                double e = fabs(got - sum) / (mag + 1e-30);
                worst = e > worst ? e : worst;
            }
    CHECK_MSG(worst <= 1e-6, "%s taps %zu out_c %zu grid %zux%zu %s%s: relative error %.3g",
              genre_isa_name(isa), s->taps, s->out_c, s->rows, s->cols,
              s->channel_major ? "channel-major" : "channels-last", relu ? " relu" : "", worst);
    CHECK_MSG(out[n_out - 1] == 1234.5f && out[n_out - 3] == 1234.5f,
              "%s: wrote past the output", genre_isa_name(isa));
    genre_convk_del(k);
done:
    (void)r;
    free(off);
    free(in);
    free(weight);
    free(bias);
    return out;
}

int main(void)
{
    rng r = {42};
    printf("this CPU: %s\n", genre_isa_name(genre_isa_detect()));
    CHECK(genre_isa_available(GENRE_ISA_PORTABLE));
    CHECK(genre_isa_available(genre_isa_detect()));
    shape fixed[] = {
        {1, 1, 1, 1, false},        /* the smallest */
        {9, 8, 7, 13, true},        /* genre_net's first layer, half a vector */
        {72, 16, 5, 11, true},
        {288, 96, 3, 12, true},
        {266, 204, 4, 59, false},   /* musicnn's timbral branch: 13 vectors */
        {128, 51, 3, 17, false},    /* its temporal branch */
        {448, 64, 19, 1, false},    /* a 1-D conv: one position per row */
        {5, 49, 1, 23, false},
    };
    for (int round = 0; round < 2; round++) {
        size_t n = sizeof fixed / sizeof fixed[0];
        for (size_t i = 0; i < n + 12; i++) {
            shape s = i < n ? fixed[i]
                            : (shape){irange(&r, 1, 300), irange(&r, 1, 70), irange(&r, 1, 9),
                                      irange(&r, 1, 30), irange(&r, 0, 1)};
            uint64_t seed = 1000 + i + 100 * (uint64_t)round;
            bool relu = round == 1;
            float *res[3] = {0};
            for (int isa = GENRE_ISA_PORTABLE; isa <= GENRE_ISA_AVX512; isa++)
                if (genre_isa_available((genre_isa)isa))
                    res[isa] = run_case(&r, &s, (genre_isa)isa, relu, seed);
            if (res[GENRE_ISA_AVX2] && res[GENRE_ISA_AVX512]) {
                size_t n_out = s.rows * s.cols * s.out_c;
                CHECK_MSG(memcmp(res[GENRE_ISA_AVX2], res[GENRE_ISA_AVX512], n_out * sizeof(float)) == 0,
                          "avx2 and avx512 differ: taps %zu out_c %zu", s.taps, s.out_c);
            }
            for (int isa = 0; isa < 3; isa++)
                free(res[isa]);
        }
    }
    /* A set the CPU lacks is refused, not run. */
    if (!genre_isa_available(GENRE_ISA_AVX512)) {
        float w = 1, b = 0;
        CHECK(genre_convk_new(GENRE_ISA_AVX512, 1, 1, &w, &b) == NULL);
    }
    return check_exit_status("test_conv_kernel");
}
