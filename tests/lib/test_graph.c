/* Graph engine (genre_graph, version-2 models): every frame-domain kernel
 * against a naive reference written here with straight loops from the
 * definitions (random tensors, odd sizes, zero padding in time and
 * frequency, spans that start late or end early), then whole graphs built
 * in memory against a naive whole-sequence evaluator -- from scratch
 * (genre_graph_run) and as a stream pushed in pieces of several sizes, with
 * 1, 2 and 3 threads, over a long stream whose buffers compact many times --
 * and the API's refusals. */
#include "genre/graph.h"
#include "genre/model.h"
#include "graph_layers.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_builder.h"
#include "test_random.h"

/* ---- helpers ---- */

static float *nan_floats(size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = NAN;
    return v;
}


static bool one_line(const char *s)
{
    return s[0] != '\0' && strchr(s, '\n') == NULL;
}

/* ---- kernels ---- */

/* Input value of the conv reference: zero outside [lo, hi) in time and
 * outside [0, in_f) in frequency.  stream holds absolute frames 0.. */
static double tconv_in(const genre_tconv_shape *s, const float *stream, int64_t lo, int64_t hi,
                       int64_t tau, long bin, size_t c)
{
    if (tau < lo || tau >= hi || bin < 0 || bin >= (long)s->in_f)
        return 0.0;
    return stream[((size_t)tau * s->in_f + (size_t)bin) * s->in_c + c];
}

/* out[t - t0][fo][o] = bias[o] + sum_{c,i,j} w[o][c][i][j] * x[t - pad_t + i][fo - pad_f + j][c]
 * with w in the file's [out][in][kt][kf] order. */
static void ref_tconv(const genre_tconv_shape *s, const float *stream, int64_t lo, int64_t hi,
                      int64_t t0, size_t rows, const float *w, const float *bias, float *out)
{
    size_t out_f = s->in_f + 2 * s->pad_f - s->kf + 1;
    for (size_t r = 0; r < rows; r++)
        for (size_t fo = 0; fo < out_f; fo++)
            for (size_t o = 0; o < s->out_c; o++) {
                double acc = bias[o];
                for (size_t c = 0; c < s->in_c; c++)
                    for (size_t i = 0; i < s->kt; i++)
                        for (size_t j = 0; j < s->kf; j++) {
                            int64_t tau = t0 + (int64_t)r - (int64_t)s->pad_t + (int64_t)i;
                            long bin = (long)fo - (long)s->pad_f + (long)j;
                            acc += (double)w[((o * s->in_c + c) * s->kt + i) * s->kf + j] *
                                   tconv_in(s, stream, lo, hi, tau, bin, c);
                        }
                out[(r * out_f + fo) * s->out_c + o] = (float)acc;
            }
}

/* One genre_tconv call against the reference, on every instruction set
 * this CPU runs.  The span handed to the kernel is a tight copy of just
 * the frames it may read (so ASan sees any read outside them); the scratch
 * and out are exactly the documented sizes and start as NaN, so every
 * value must be written. */
static void tconv_case(rng *r, const genre_tconv_shape *s, size_t n_stream, int64_t lo, int64_t hi,
                       int64_t t0, size_t rows, const char *what)
{
    size_t frame = s->in_f * s->in_c;
    size_t out_f = genre_tconv_out_f(s), taps = genre_tconv_taps(s);
    CHECK_MSG(out_f == s->in_f + 2 * s->pad_f - s->kf + 1 && taps == s->kt * s->kf * s->in_c,
              "%s: out_f %zu taps %zu", what, out_f, taps);
    float *stream = random_floats(r, n_stream * frame, 1.0f);
    float *w = random_floats(r, s->out_c * taps, 1.0f), *bias = random_floats(r, s->out_c, 1.0f);

    int64_t first = t0 - (int64_t)s->pad_t, last = t0 + (int64_t)rows + (int64_t)s->kt - 1 -
                                                   (int64_t)s->pad_t; /* read range [first, last) */
    int64_t base = first > lo ? first : lo, top = last < hi ? last : hi;
    float *span_frames;
    if (top > base) {
        span_frames = malloc((size_t)(top - base) * frame * sizeof *span_frames);
        memcpy(span_frames, stream + (size_t)base * frame,
               (size_t)(top - base) * frame * sizeof *span_frames);
    } else {
        span_frames = nan_floats(1);  /* nothing in range: must not be read */
        base = lo;
    }
    genre_frame_span span = {.frames = span_frames, .base = base, .lo = lo, .hi = hi};
    float *ref = malloc(rows * out_f * s->out_c * sizeof *ref);
    ref_tconv(s, stream, lo, hi, t0, rows, w, bias, ref);
    for (int isa = GENRE_ISA_PORTABLE; isa <= GENRE_ISA_AVX512; isa++) {
        if (!genre_isa_available((genre_isa)isa))
            continue;
        genre_tconv_plan plan;
        CHECK_MSG(genre_tconv_plan_init(&plan, s, w, bias, (genre_isa)isa) == 0, "%s: plan", what);
        float *col = nan_floats(genre_tconv_scratch_size(s, rows));
        float *out = nan_floats(rows * out_f * s->out_c);
        genre_tconv(&plan, &span, t0, rows, false, col, out);
        double d = max_rel_diff(out, ref, rows * out_f * s->out_c);
        CHECK_MSG(d <= 1e-5,
                  "%s (%s): tconv in %zux%zu -> %zu, k %zux%zu, pad %zu/%zu, span [%lld, %lld), "
                  "t0 %lld, %zu rows: diff %g",
                  what, genre_isa_name((genre_isa)isa), s->in_f, s->in_c, s->out_c, s->kt, s->kf,
                  s->pad_t, s->pad_f, (long long)lo, (long long)hi, (long long)t0, rows, d);
        genre_tconv_plan_free(&plan);
        free(col), free(out);
    }
    free(stream), free(w), free(bias), free(span_frames), free(ref);
}

static void test_tconv(rng *r)
{
    /* Hand-picked edges: 1x1, a kernel as wide as the padded input (one
     * output bin), all context before (pad_t = kt - 1) or all after
     * (pad_t = 0), a one-frame stream under a tall kernel, rows before the
     * span's lo and after its hi. */
    static const struct {
        size_t in_f, in_c, out_c, kt, kf, pad_t, pad_f;
        size_t n;
        int64_t lo, hi, t0;
        size_t rows;
    } cases[] = {
        {1, 1, 1, 1, 1, 0, 0, 4, 0, 4, 0, 4},
        {5, 2, 3, 3, 3, 1, 1, 10, 0, 10, 0, 10},
        {7, 1, 4, 7, 7, 6, 0, 20, 0, 20, 0, 20},
        {7, 1, 4, 7, 7, 0, 6, 20, 0, 20, 0, 20},
        {3, 3, 2, 5, 7, 2, 2, 30, 5, 25, 0, 30},     /* 3 + 4 - 7 + 1 = 1 bin */
        {2, 5, 6, 7, 1, 3, 0, 1, 0, 1, 0, 1},        /* one frame, kernel of 7 */
        {4, 2, 2, 6, 2, 5, 1, 40, 10, 40, 0, 15},    /* rows entirely before lo */
        {4, 2, 2, 6, 2, 0, 1, 40, 0, 12, 10, 30},    /* rows running past hi */
        {12, 4, 5, 3, 3, 1, 1, 64, 0, 64, 32, 32},
        {1, 5, 6, 7, 7, 6, 6, 16, 0, 16, 0, 16},     /* 1 bin padded by 6 each side */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        genre_tconv_shape s = {.in_f = cases[k].in_f, .in_c = cases[k].in_c,
                               .out_c = cases[k].out_c, .kt = cases[k].kt, .kf = cases[k].kf,
                               .pad_t = cases[k].pad_t, .pad_f = cases[k].pad_f};
        char what[32];
        snprintf(what, sizeof what, "tconv case %zu", k);
        tconv_case(r, &s, cases[k].n, cases[k].lo, cases[k].hi, cases[k].t0, cases[k].rows, what);
    }
    /* A random sweep over kt/kf 1..7, in_c 1..5, out_c 1..6, every padding,
     * outputs near the stream's start and end. */
    for (size_t k = 0; k < 300; k++) {
        genre_tconv_shape s;
        s.kt = irange(r, 1, 7), s.kf = irange(r, 1, 7);
        s.in_c = irange(r, 1, 5), s.out_c = irange(r, 1, 6);
        s.pad_t = irange(r, 0, s.kt - 1), s.pad_f = irange(r, 0, s.kf - 1);
        size_t min_f = s.kf > 2 * s.pad_f ? s.kf - 2 * s.pad_f : 1;
        s.in_f = irange(r, min_f, min_f + 6);
        size_t n = irange(r, 1, 48);
        int64_t lo = (int64_t)irange(r, 0, n / 4), hi = (int64_t)irange(r, (size_t)lo + 1, n);
        size_t rows = irange(r, 1, n < 20 ? n : 20);
        int64_t t0;
        switch (k % 3) {
        case 0: t0 = lo; break;                                     /* the stream's start */
        case 1: t0 = hi - (int64_t)rows > 0 ? hi - (int64_t)rows : 0; break; /* its end */
        default: t0 = (int64_t)irange(r, 0, n - rows); break;
        }
        if (t0 + (int64_t)rows > (int64_t)n)
            t0 = (int64_t)(n - rows);
        char what[32];
        snprintf(what, sizeof what, "tconv random %zu", k);
        tconv_case(r, &s, n, lo, hi, t0, rows, what);
    }
    /* Kernels one bin wide without frequency padding on one channel (a
     * musicnn temporal front conv) or on one bin (a 1-D conv over
     * channels, its mid-end): shapes a kernel may take a shortcut for.
     * Chunks inside the stream, across its start or end, or both. */
    for (size_t k = 0; k < 160; k++) {
        genre_tconv_shape s = {.kf = 1, .pad_f = 0};
        s.kt = irange(r, 1, 9), s.pad_t = irange(r, 0, s.kt - 1), s.out_c = irange(r, 1, 6);
        if (k % 2 == 0)
            s.in_c = 1, s.in_f = irange(r, 1, 24);
        else
            s.in_f = 1, s.in_c = irange(r, 1, 12);
        size_t n = irange(r, 1, 80);
        int64_t lo = (int64_t)irange(r, 0, n / 3), hi = (int64_t)irange(r, (size_t)lo + 1, n);
        size_t rows = irange(r, 1, n < 32 ? n : 32);
        int64_t t0 = (int64_t)irange(r, 0, n - rows);
        if (k % 5 == 0)
            t0 = lo;
        else if (k % 5 == 1 && hi >= (int64_t)rows)
            t0 = hi - (int64_t)rows;
        char what[32];
        snprintf(what, sizeof what, "tconv 1-bin kernel %zu", k);
        tconv_case(r, &s, n, lo, hi, t0, rows, what);
    }
}

static void test_relayout(rng *r)
{
    for (size_t k = 0; k < 40; k++) {
        genre_tconv_shape s = {.in_f = 9, .in_c = irange(r, 1, 5), .out_c = irange(r, 1, 6),
                               .kt = irange(r, 1, 7), .kf = irange(r, 1, 7)};
        size_t n = s.out_c * s.in_c * s.kt * s.kf;
        float *w = malloc(n * sizeof *w), *out = nan_floats(n);
        for (size_t i = 0; i < n; i++)
            w[i] = (float)i;    /* each value names its source index */
        genre_tconv_relayout(&s, w, out);
        /* Walk the destination in its own order [out][kt][kf][in] and
         * decode which file element [out][in][kt][kf] must be there. */
        bool ok = true;
        size_t at = 0;
        for (size_t o = 0; o < s.out_c; o++)
            for (size_t i = 0; i < s.kt; i++)
                for (size_t j = 0; j < s.kf; j++)
                    for (size_t c = 0; c < s.in_c; c++, at++) {
                        size_t src = o * s.in_c * s.kt * s.kf + c * s.kt * s.kf + i * s.kf + j;
                        ok &= out[at] == (float)src;
                    }
        CHECK_MSG(ok, "relayout %zu: out %zu in %zu k %zux%zu", k, s.out_c, s.in_c, s.kt, s.kf);
        free(w), free(out);
    }
}

static void test_rows(rng *r)
{
    /* relu in place, including -0.0 and exact zeros. */
    {
        size_t n = 37, c = 5;
        float *x = random_floats(r, n * c, 3.0f), *copy = malloc(n * c * sizeof *copy);
        x[0] = -0.0f, x[1] = 0.0f, x[2] = -FLT_MIN, x[3] = FLT_MIN;
        memcpy(copy, x, n * c * sizeof *x);
        genre_rows_relu(x, n, c);
        bool ok = true;
        for (size_t i = 0; i < n * c; i++)
            ok &= x[i] == (copy[i] > 0.0f ? copy[i] : 0.0f) && !signbit(x[i]);
        CHECK_MSG(ok, "relu rows");
        free(x), free(copy);
    }
    /* affine: per channel (the innermost index). */
    for (size_t c = 1; c <= 9; c += 4) {
        size_t n = 23;
        float *x = random_floats(r, n * c, 5.0f), *copy = malloc(n * c * sizeof *copy);
        float *sc = random_floats(r, c, 2.0f), *sh = random_floats(r, c, 2.0f);
        memcpy(copy, x, n * c * sizeof *x);
        genre_rows_affine(x, n, c, sc, sh);
        double worst = 0;
        for (size_t t = 0; t < n; t++)
            for (size_t k = 0; k < c; k++) {
                double want = (double)copy[t * c + k] * sc[k] + sh[k];
                worst = fmax(worst, fabs(x[t * c + k] - want) / fmax(1.0, fabs(want)));
            }
        CHECK_MSG(worst <= 1e-6, "affine rows, c %zu: diff %g", c, worst);
        free(x), free(copy), free(sc), free(sh);
    }
    /* freq_max: [rows][f][c] -> [rows][c], the max anywhere in f (first,
     * last, all negative). */
    static const size_t fm[][3] = {{1, 1, 1}, {3, 16, 4}, {7, 1, 6}, {5, 96, 3}, {2, 5, 1}};
    for (size_t k = 0; k < sizeof fm / sizeof fm[0]; k++) {
        size_t rows = fm[k][0], f = fm[k][1], c = fm[k][2];
        float *in = random_floats(r, rows * f * c, 4.0f);
        for (size_t i = 0; i < rows * f * c; i++)
            in[i] -= 10.0f;     /* all negative: a max seeded with 0 would be wrong */
        in[(f - 1) * c + c - 1] = 1.0f;     /* row 0: the last bin's last channel */
        float *out = nan_floats(rows * c), ref[6 * 7];
        for (size_t t = 0; t < rows; t++)
            for (size_t ch = 0; ch < c; ch++) {
                float m = -INFINITY;
                for (size_t b = 0; b < f; b++)
                    m = fmaxf(m, in[(t * f + b) * c + ch]);
                ref[t * c + ch] = m;
            }
        genre_rows_freq_max(in, rows, f, c, out);
        CHECK_MSG(memcmp(out, ref, rows * c * sizeof *out) == 0, "freq_max %zux%zux%zu", rows, f,
                  c);
        CHECK_MSG(out[c - 1] == 1.0f, "freq_max %zu misses the last bin", k);
        free(in), free(out);
    }
    /* time_maxmean: [n][c] -> (max_0, mean_0, max_1, mean_1, ...). */
    static const size_t tm[][2] = {{1, 1}, {1, 5}, {7, 3}, {300, 2}, {10000, 3}};
    for (size_t k = 0; k < sizeof tm / sizeof tm[0]; k++) {
        size_t n = tm[k][0], c = tm[k][1];
        float *in = random_floats(r, n * c, 2.0f);
        for (size_t ch = 0; ch < c; ch++)
            in[ch] = -5.0f - (float)ch;         /* frame 0 is not the max */
        in[(n - 1) * c + c - 1] = 9.0f;          /* the last frame's last channel is */
        float *out = nan_floats(2 * c), ref[10];
        for (size_t ch = 0; ch < c; ch++) {
            double sum = 0, m = -INFINITY;
            for (size_t t = 0; t < n; t++) {
                sum += in[t * c + ch];
                m = fmax(m, in[t * c + ch]);
            }
            ref[2 * ch] = (float)m;
            ref[2 * ch + 1] = (float)(sum / (double)n);
        }
        genre_frames_time_maxmean(in, n, c, out);
        double d = max_rel_diff(out, ref, 2 * c);
        CHECK_MSG(d <= 1e-6, "time_maxmean %zux%zu: diff %g (interleaved max, mean)", n, c, d);
        CHECK_MSG(out[2 * c - 2] == 9.0f, "time_maxmean %zux%zu: last max %g", n, c,
                  (double)out[2 * c - 2]);
        free(in), free(out);
    }
    /* A constant channel: max == mean exactly, and channels do not mix. */
    {
        float in[4 * 2] = {1, -3, 1, -1, 1, -2, 1, 10}, out[4];
        genre_frames_time_maxmean(in, 4, 2, out);
        CHECK_MSG(out[0] == 1.0f && out[1] == 1.0f && out[2] == 10.0f && out[3] == 1.0f,
                  "time_maxmean layout: %g %g %g %g", (double)out[0], (double)out[1],
                  (double)out[2], (double)out[3]);
    }
    /* sigmoid, out of place and in place, saturating without NaN. */
    {
        float in[9] = {0.0f, 1.0f, -1.0f, 20.0f, -20.0f, 100.0f, -100.0f, 1000.0f, -1000.0f};
        float out[9];
        genre_rows_sigmoid(in, 9, out);
        double worst = 0;
        for (int i = 0; i < 9; i++) {
            double want = 1.0 / (1.0 + exp(-(double)in[i]));
            worst = fmax(worst, fabs(out[i] - want));
            CHECK_MSG(out[i] >= 0.0f && out[i] <= 1.0f, "sigmoid(%g) = %g", (double)in[i],
                      (double)out[i]);
        }
        CHECK_MSG(worst <= 1e-6, "sigmoid diff %g", worst);
        CHECK_MSG(out[0] == 0.5f, "sigmoid(0) = %g", (double)out[0]);
        genre_rows_sigmoid(in, 9, in);
        CHECK_MSG(memcmp(in, out, sizeof out) == 0, "sigmoid in place differs");
        float *big = random_floats(r, 1001, 8.0f), *o = malloc(1001 * sizeof *o);
        genre_rows_sigmoid(big, 1001, o);
        worst = 0;
        for (int i = 0; i < 1001; i++)
            worst = fmax(worst, fabs(o[i] - 1.0 / (1.0 + exp(-(double)big[i]))));
        CHECK_MSG(worst <= 1e-6, "sigmoid (1001 values) diff %g", worst);
        free(big), free(o);
    }
}

/* ---- graphs built in memory ---- */


#define IN(...) (const int32_t[]){__VA_ARGS__}, sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t)
#define P(...) (const uint32_t[GENRE_LAYER_PARAMS]){__VA_ARGS__}
#define NOP P(0)

/* Appends a node; weights random, scaled so activations stay O(1) through
 * a few layers (so float rounding stays far below the 1e-5 tolerance). */
static int add_node(test_model *b, rng *r, const char *name, uint32_t type, const int32_t *in,
                    size_t n_in, const uint32_t *p)
{
    genre_node *nd = &b->nodes[b->model.n_nodes];
    memset(nd, 0, sizeof *nd);
    snprintf(nd->name, sizeof nd->name, "%s", name);
    nd->type = type;
    nd->n_inputs = (uint32_t)n_in;
    memcpy(nd->inputs, in, n_in * sizeof *in);
    memcpy(nd->p, p, sizeof nd->p);
    if (type == GENRE_LAYER_CONV2D) {
        nd->weight_len = (size_t)p[0] * p[1] * p[2] * p[3];
        nd->bias_len = p[1];
        nd->weight = test_model_own(b, random_floats(r, nd->weight_len,
                                            1.7f / sqrtf((float)p[0] * p[2] * p[3])));
        nd->bias = test_model_own(b, random_floats(r, nd->bias_len, 0.2f));
    } else if (type == GENRE_LAYER_DENSE) {
        nd->weight_len = (size_t)p[0] * p[1];
        nd->bias_len = p[1];
        nd->weight = test_model_own(b, random_floats(r, nd->weight_len, 1.7f / sqrtf((float)p[0])));
        nd->bias = test_model_own(b, random_floats(r, nd->bias_len, 0.2f));
    } else if (type == GENRE_LAYER_AFFINE) {
        nd->weight_len = nd->bias_len = p[0];
        float *scale = random_floats(r, p[0], 0.5f);
        for (uint32_t k = 0; k < p[0]; k++)
            scale[k] += 1.0f;       /* 0.5 .. 1.5 */
        nd->weight = test_model_own(b, scale);
        nd->bias = test_model_own(b, random_floats(r, p[0], 0.3f));
    }
    return (int)b->model.n_nodes++;
}

/* ---- the naive whole-sequence reference ----
 *
 * Every frames node over all T frames at once (in double), a conv's input
 * zero outside [0, T) and outside its bins; a window's vector nodes then
 * from the time_maxmean over the window's frames.  Evaluation order is
 * found here by repeated passes, not taken from the engine. */

typedef struct refnet {
    const genre_model *m;
    size_t T;
    bool frames[TEST_MODEL_MAX_NODES];
    size_t f[TEST_MODEL_MAX_NODES], c[TEST_MODEL_MAX_NODES];
    double *val[TEST_MODEL_MAX_NODES];    /* frames: [T][f][c]; vectors: [c], per window */
    double *x;                      /* the input frames, [T][n_mels] */
    uint32_t order[TEST_MODEL_MAX_NODES];
} refnet;

static void ref_shape(refnet *rn, uint32_t i)
{
    const genre_node *nd = &rn->m->nodes[i];
    int32_t a = nd->inputs[0];
    bool in_frames = a < 0 || rn->frames[a];
    size_t f = a < 0 ? rn->m->frontend.n_mels : rn->f[a], c = a < 0 ? 1 : rn->c[a];
    rn->frames[i] = in_frames;
    rn->f[i] = f, rn->c[i] = c;
    switch (nd->type) {
    case GENRE_LAYER_CONV2D:
        rn->f[i] = f + 2 * nd->p[5] - nd->p[3] + 1;
        rn->c[i] = nd->p[1];
        break;
    case GENRE_LAYER_FREQ_MAX:
        rn->f[i] = 1;
        break;
    case GENRE_LAYER_TIME_MAXMEAN:
        rn->frames[i] = false;
        rn->f[i] = 1;
        rn->c[i] = 2 * c;
        break;
    case GENRE_LAYER_DENSE:
        rn->c[i] = nd->p[1];
        break;
    case GENRE_LAYER_CONCAT:
        rn->c[i] = 0;
        for (uint32_t k = 0; k < nd->n_inputs; k++)
            rn->c[i] += nd->inputs[k] < 0 ? 1 : rn->c[nd->inputs[k]];
        break;
    default:
        break;
    }
}

/* Value of input k of node nd at (t, bin, ch) for frames, or [ch] for vectors. */
static const double *ref_input(const refnet *rn, int32_t src, const double *frames_in)
{
    return src < 0 ? frames_in : rn->val[src];
}

static void ref_eval_node(refnet *rn, uint32_t i, const double *x, int64_t ws, int64_t we)
{
    const genre_node *nd = &rn->m->nodes[i];
    const size_t T = rn->T, f = rn->f[i], c = rn->c[i];
    int32_t a = nd->inputs[0];
    const double *in = ref_input(rn, a, x);
    size_t in_f = a < 0 ? rn->m->frontend.n_mels : rn->f[a];
    size_t in_c = a < 0 ? 1 : rn->c[a];
    size_t n = rn->frames[i] ? T * f * c : c;
    size_t in_n = rn->frames[i] ? T * in_f * in_c : in_c;
    double *out = calloc(n ? n : 1, sizeof *out);
    switch (nd->type) {
    case GENRE_LAYER_CONV2D: {
        const uint32_t *p = nd->p;
        for (size_t t = 0; t < T; t++)
            for (size_t fo = 0; fo < f; fo++)
                for (size_t o = 0; o < c; o++) {
                    double acc = nd->bias[o];
                    for (size_t ci = 0; ci < in_c; ci++)
                        for (size_t ki = 0; ki < p[2]; ki++) {
                            long tau = (long)t - (long)p[4] + (long)ki;
                            if (tau < 0 || tau >= (long)T)
                                continue;
                            for (size_t kj = 0; kj < p[3]; kj++) {
                                long bin = (long)fo - (long)p[5] + (long)kj;
                                if (bin < 0 || bin >= (long)in_f)
                                    continue;
                                acc += (double)nd->weight[((o * in_c + ci) * p[2] + ki) * p[3] + kj] *
                                       in[((size_t)tau * in_f + (size_t)bin) * in_c + ci];
                            }
                        }
                    out[(t * f + fo) * c + o] = acc;
                }
        break;
    }
    case GENRE_LAYER_RELU:
        for (size_t k = 0; k < n; k++)
            out[k] = in[k] > 0 ? in[k] : 0;
        break;
    case GENRE_LAYER_AFFINE:
        for (size_t k = 0; k < n; k++)
            out[k] = in[k] * nd->weight[k % c] + nd->bias[k % c];
        break;
    case GENRE_LAYER_FREQ_MAX:
        for (size_t t = 0; t < T; t++)
            for (size_t ch = 0; ch < c; ch++) {
                double m = -INFINITY;
                for (size_t b = 0; b < in_f; b++)
                    m = fmax(m, in[(t * in_f + b) * in_c + ch]);
                out[t * c + ch] = m;
            }
        break;
    case GENRE_LAYER_CONCAT:
        if (rn->frames[i]) {
            for (size_t t = 0; t < T; t++)
                for (size_t b = 0; b < f; b++) {
                    size_t at = 0;
                    for (uint32_t k = 0; k < nd->n_inputs; k++) {
                        int32_t s = nd->inputs[k];
                        size_t kc = s < 0 ? 1 : rn->c[s];
                        const double *v = ref_input(rn, s, x);
                        for (size_t ch = 0; ch < kc; ch++)
                            out[(t * f + b) * c + at + ch] = v[(t * f + b) * kc + ch];
                        at += kc;
                    }
                }
        } else {
            size_t at = 0;
            for (uint32_t k = 0; k < nd->n_inputs; k++) {
                int32_t s = nd->inputs[k];
                memcpy(out + at, rn->val[s], rn->c[s] * sizeof *out);
                at += rn->c[s];
            }
        }
        break;
    case GENRE_LAYER_ADD: {
        const double *v = ref_input(rn, nd->inputs[1], x);
        for (size_t k = 0; k < n; k++)
            out[k] = in[k] + v[k];
        break;
    }
    case GENRE_LAYER_TIME_MAXMEAN:
        for (size_t ch = 0; ch < in_c; ch++) {
            double m = -INFINITY, sum = 0;
            for (int64_t t = ws; t < we; t++) {
                m = fmax(m, in[(size_t)t * in_c + ch]);
                sum += in[(size_t)t * in_c + ch];
            }
            out[2 * ch] = m;
            out[2 * ch + 1] = sum / (double)(we - ws);
        }
        break;
    case GENRE_LAYER_DENSE:
        for (size_t o = 0; o < c; o++) {
            double acc = nd->bias[o];
            for (size_t k = 0; k < in_c; k++)
                acc += (double)nd->weight[o * in_c + k] * in[k];
            out[o] = acc;
        }
        break;
    case GENRE_LAYER_SOFTMAX: {
        double m = -INFINITY, sum = 0;
        for (size_t k = 0; k < n; k++)
            m = fmax(m, in[k]);
        for (size_t k = 0; k < n; k++)
            sum += exp(in[k] - m);
        for (size_t k = 0; k < n; k++)
            out[k] = exp(in[k] - m) / sum;
        break;
    }
    case GENRE_LAYER_SIGMOID:
        for (size_t k = 0; k < n; k++)
            out[k] = 1.0 / (1.0 + exp(-in[k]));
        break;
    default:
        CHECK_MSG(false, "reference: node type %u", nd->type);
        break;
    }
    (void)in_n;
    free(rn->val[i]);
    rn->val[i] = out;
}

/* Builds the reference for a T-frame stream ([T][n_mels] floats) and
 * computes every frames node. */
static void ref_init(refnet *rn, const genre_model *m, const float *frames, size_t T)
{
    memset(rn, 0, sizeof *rn);
    rn->m = m;
    rn->T = T;
    bool done[TEST_MODEL_MAX_NODES] = {false};
    uint32_t n = 0;
    while (n < m->n_nodes) {
        uint32_t before = n;
        for (uint32_t i = 0; i < m->n_nodes; i++) {
            if (done[i])
                continue;
            bool ready = true;
            for (uint32_t k = 0; k < m->nodes[i].n_inputs; k++)
                ready &= m->nodes[i].inputs[k] < 0 || done[m->nodes[i].inputs[k]];
            if (!ready)
                continue;
            ref_shape(rn, i);
            done[i] = true;
            rn->order[n++] = i;
        }
        if (n == before) {
            CHECK_MSG(false, "reference: the test graph has a cycle");
            return;
        }
    }
    size_t nx = T * m->frontend.n_mels;
    rn->x = malloc((nx ? nx : 1) * sizeof *rn->x);
    for (size_t k = 0; k < nx; k++)
        rn->x[k] = frames[k];
    for (uint32_t k = 0; k < m->n_nodes; k++)
        if (rn->frames[rn->order[k]])
            ref_eval_node(rn, rn->order[k], rn->x, 0, 0);
}

/* The result for the window [ws, we) of the stream. */
static void ref_window(refnet *rn, int64_t ws, int64_t we, float *probs)
{
    for (uint32_t k = 0; k < rn->m->n_nodes; k++)
        if (!rn->frames[rn->order[k]])
            ref_eval_node(rn, rn->order[k], rn->x, ws, we);
    const double *out = rn->val[rn->m->n_nodes - 1];
    for (uint32_t k = 0; k < rn->m->n_labels; k++)
        probs[k] = (float)out[k];
}

static void ref_free(refnet *rn)
{
    for (uint32_t i = 0; i < TEST_MODEL_MAX_NODES; i++)
        free(rn->val[i]);
    free(rn->x);
}

/* Frames of look-ahead from the definition: the most right context (kt - 1
 * - pad_t) summed along any path from the input to a time_maxmean. */
static size_t expected_lookahead(const genre_model *m)
{
    size_t delay[TEST_MODEL_MAX_NODES] = {0}, best = 0;
    bool done[TEST_MODEL_MAX_NODES] = {false};
    for (uint32_t pass = 0; pass < m->n_nodes; pass++)
        for (uint32_t i = 0; i < m->n_nodes; i++) {
            const genre_node *nd = &m->nodes[i];
            bool ready = !done[i];
            size_t d = 0;
            for (uint32_t k = 0; ready && k < nd->n_inputs; k++) {
                int32_t s = nd->inputs[k];
                if (s >= 0 && !done[s])
                    ready = false;
                else if (s >= 0 && delay[s] > d)
                    d = delay[s];
            }
            if (!ready)
                continue;
            if (nd->type == GENRE_LAYER_CONV2D)
                d += nd->p[2] - 1 - nd->p[4];
            if (nd->type == GENRE_LAYER_TIME_MAXMEAN && d > best)
                best = d;
            delay[i] = d;
            done[i] = true;
        }
    return best;
}

/* ---- running graphs against the reference ---- */

#define TOL 1e-5

/* genre_graph_run on n frames from scratch == the reference on those n. */
static void check_run(genre_graph *g, const genre_model *m, rng *r, size_t n, const char *what)
{
    char err[256] = "";
    float *frames = random_floats(r, n * m->frontend.n_mels, 1.5f);
    float probs[TEST_MODEL_MAX_LABELS], ref[TEST_MODEL_MAX_LABELS];
    refnet rn;
    ref_init(&rn, m, frames, n);
    ref_window(&rn, 0, (int64_t)n, ref);
    ref_free(&rn);
    int rc = genre_graph_run(g, frames, n, probs, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: run on %zu frames: %s", what, n, err);
    if (rc == 0) {
        double d = max_rel_diff(probs, ref, m->n_labels);
        CHECK_MSG(d <= TOL, "%s: run on %zu frames (%zu threads): diff %g", what, n,
                  genre_graph_threads(g), d);
    }
    free(frames);
}

typedef struct stream_result {
    size_t n_windows;
    float *probs;       /* n_windows * n_labels */
} stream_result;

/* The stream pushed `piece` frames at a time; a window of window_frames
 * frames (shorter at the start) ending every `hop` frames as soon as it is
 * ready; then the end and the windows still to come, the last ending at T.
 * Every window against the reference over the whole stream. */
static stream_result check_stream(genre_graph *g, const genre_model *m, const float *frames,
                                  size_t T, refnet *rn, size_t piece, size_t hop, const char *what)
{
    const size_t W = m->frontend.window_frames, L = m->n_labels, n_mels = m->frontend.n_mels;
    const size_t lookahead = genre_graph_lookahead(g);
    stream_result res = {0, malloc((T / hop + 2) * L * sizeof(float))};
    char err[256] = "";
    genre_graph_reset(g);
    uint64_t next_end = W < T ? W : T;
    size_t at = 0, failures = 0;
    bool ended = false, ready_ok = true;
    while (next_end <= T && failures == 0) {
        if (at < T) {
            size_t k = T - at < piece ? T - at : piece;
            if (genre_graph_push(g, frames + at * n_mels, k, err, sizeof err)) {
                CHECK_MSG(false, "%s: piece %zu, push at frame %zu: %s", what, piece, at, err);
                failures++;
                break;
            }
            at += k;
            ready_ok &= genre_graph_frames(g) == at &&
                        genre_graph_ready(g) == (at > lookahead ? at - lookahead : 0);
        } else if (!ended) {
            genre_graph_end(g);
            ended = true;
            ready_ok &= genre_graph_ready(g) == T;
        } else {
            break;
        }
        while (next_end <= T && genre_graph_ready(g) >= next_end) {
            uint64_t start = next_end > W ? next_end - W : 0;
            float *probs = res.probs + res.n_windows * L, ref[TEST_MODEL_MAX_LABELS];
            if (genre_graph_window(g, start, next_end, probs, err, sizeof err)) {
                CHECK_MSG(false, "%s: window [%llu, %llu): %s", what, (unsigned long long)start,
                          (unsigned long long)next_end, err);
                failures++;
                break;
            }
            ref_window(rn, (int64_t)start, (int64_t)next_end, ref);
            double d = max_rel_diff(probs, ref, L);
            if (!(d <= TOL)) {
                CHECK_MSG(d <= TOL, "%s: piece %zu, window [%llu, %llu): diff %g", what, piece,
                          (unsigned long long)start, (unsigned long long)next_end, d);
                failures++;
            }
            res.n_windows++;
            if (next_end == T)
                next_end = T + 1;
            else
                next_end = next_end + hop < T ? next_end + hop : T;
        }
    }
    CHECK_MSG(ready_ok, "%s: piece %zu: genre_graph_frames/_ready disagree with the frames pushed "
              "and the look-ahead %zu", what, piece, lookahead);
    CHECK_MSG(next_end == T + 1 || failures, "%s: piece %zu: stream stopped at window end %llu of %zu",
              what, piece, (unsigned long long)next_end, T);
    return res;
}

/* Pushes a long stream without asking for windows, then asks for one that
 * is long gone (an error with a message, not garbage), one still kept (the
 * right result) and the last one after the end. */
static void check_late_windows(genre_graph *g, const genre_model *m, const float *frames,
                               size_t T, refnet *rn, const char *what)
{
    const size_t W = m->frontend.window_frames, L = m->n_labels;
    char err[256] = "";
    float probs[TEST_MODEL_MAX_LABELS], ref[TEST_MODEL_MAX_LABELS];
    if (T < 2 * W + genre_graph_lookahead(g))
        return;
    genre_graph_reset(g);
    int rc = genre_graph_push(g, frames, T, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %zu frames pushed without windows: %s", what, T, err);
    if (rc)
        return;
    err[0] = '\0';
    for (size_t k = 0; k < L; k++)
        probs[k] = -7.0f;
    rc = genre_graph_window(g, 0, W, probs, err, sizeof err);
    if (rc == 0) {
        /* Still kept (a short stream): then it must be right.  The long
         * streams here are far beyond any buffer, so there it must go. */
        CHECK_MSG(T < 1000, "%s: window [0, %zu) still given after %zu frames", what, W, T);
        ref_window(rn, 0, (int64_t)W, ref);
        double d = max_rel_diff(probs, ref, L);
        CHECK_MSG(d <= TOL, "%s: window [0, %zu) after %zu frames: diff %g", what, W, T, d);
    } else {
        CHECK_MSG(rc == -1 && one_line(err) && strstr(err, "no longer kept"),
                  "%s: window [0, %zu) after %zu frames: rc %d \"%s\"", what, W, T, rc, err);
        CHECK_MSG(probs[0] == -7.0f, "%s: a refused window wrote its output", what);
    }
    uint64_t end = genre_graph_ready(g), start = end - W;
    rc = genre_graph_window(g, start, end, probs, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: the newest window [%llu, %llu): %s", what, (unsigned long long)start,
              (unsigned long long)end, err);
    if (rc == 0) {
        ref_window(rn, (int64_t)start, (int64_t)end, ref);
        double d = max_rel_diff(probs, ref, L);
        CHECK_MSG(d <= TOL, "%s: late stream, window [%llu, %llu): diff %g", what,
                  (unsigned long long)start, (unsigned long long)end, d);
    }
    genre_graph_end(g);
    rc = genre_graph_window(g, T - W, T, probs, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: last window after the end: %s", what, err);
    if (rc == 0) {
        ref_window(rn, (int64_t)(T - W), (int64_t)T, ref);
        double d = max_rel_diff(probs, ref, L);
        CHECK_MSG(d <= TOL, "%s: late stream, last window: diff %g", what, d);
    }
    /* Going back to a window before the last one is refused too. */
    rc = genre_graph_window(g, T - W - 1, T - 1, probs, err, sizeof err);
    CHECK_MSG(rc == -1 && one_line(err), "%s: a window before the previous one: rc %d", what, rc);
}

/* Everything above for one graph. */
static void check_graph(test_model *b, rng *r, size_t T, size_t hop, const char *what)
{
    const genre_model *m = &b->model;
    const size_t L = m->n_labels, W = m->frontend.window_frames;
    char err[256] = "";
    genre_graph *g[3] = {NULL, NULL, NULL};
    for (size_t k = 0; k < 3; k++) {
        g[k] = genre_graph_new(m, k + 1, err, sizeof err);
        CHECK_MSG(g[k] != NULL, "%s: genre_graph_new with %zu threads: %s", what, k + 1, err);
        if (!g[k])
            goto out;
        CHECK_MSG(genre_graph_threads(g[k]) == k + 1, "%s: threads", what);
        CHECK_MSG(genre_graph_lookahead(g[k]) == expected_lookahead(m),
                  "%s: look-ahead %zu, expected %zu", what, genre_graph_lookahead(g[k]),
                  expected_lookahead(m));
    }
    /* From scratch: short inputs (shorter than every kernel, too) and a
     * whole window, with each thread count. */
    size_t lengths[] = {1, 2, 5, W / 2 + 1, W};
    for (size_t k = 0; k < 3; k++)
        for (size_t j = 0; j < sizeof lengths / sizeof lengths[0]; j++)
            if (lengths[j] >= 1 && lengths[j] <= W)
                check_run(g[k], m, r, lengths[j], what);

    /* Streams. */
    float *frames = random_floats(r, T * m->frontend.n_mels, 1.5f);
    refnet rn;
    ref_init(&rn, m, frames, T);
    static const size_t pieces[] = {1, 3, 17, 64};
    stream_result first = {0, NULL};
    for (size_t k = 0; k < 3; k++) {
        for (size_t j = 0; j < sizeof pieces / sizeof pieces[0]; j++) {
            stream_result sr = check_stream(g[k], m, frames, T, &rn, pieces[j], hop, what);
            if (!first.probs) {
                first = sr;
                continue;
            }
            /* Any piece size and thread count: the same windows. */
            CHECK_MSG(sr.n_windows == first.n_windows, "%s: %zu windows, then %zu", what,
                      first.n_windows, sr.n_windows);
            if (sr.n_windows == first.n_windows) {
                double d = max_rel_diff(sr.probs, first.probs, sr.n_windows * L);
                CHECK_MSG(d <= TOL, "%s: %zu threads, piece %zu vs 1 thread, piece 1: diff %g",
                          what, k + 1, pieces[j], d);
            }
            /* Same chunking and thread count again after a reset: identical. */
            if (k == 0 && j == 2) {
                stream_result again = check_stream(g[k], m, frames, T, &rn, pieces[j], hop, what);
                CHECK_MSG(again.n_windows == sr.n_windows &&
                              memcmp(again.probs, sr.probs, sr.n_windows * L * sizeof(float)) == 0,
                          "%s: the same stream after genre_graph_reset differs", what);
                free(again.probs);
            }
            free(sr.probs);
        }
    }
    free(first.probs);
    for (size_t k = 0; k < 3; k += 2)
        check_late_windows(g[k], m, frames, T, &rn, what);
    ref_free(&rn);
    free(frames);
out:
    for (size_t k = 0; k < 3; k++)
        genre_graph_del(g[k]);
}

enum {
    CONV = GENRE_LAYER_CONV2D, RELU = GENRE_LAYER_RELU, DENSE = GENRE_LAYER_DENSE,
    SOFTMAX = GENRE_LAYER_SOFTMAX, SIGMOID = GENRE_LAYER_SIGMOID, AFFINE = GENRE_LAYER_AFFINE,
    FREQ_MAX = GENRE_LAYER_FREQ_MAX, CONCAT = GENRE_LAYER_CONCAT, ADD = GENRE_LAYER_ADD,
    TIME_MAXMEAN = GENRE_LAYER_TIME_MAXMEAN,
};

/* A musicnn-like graph: two front convs (one padded in frequency), fused
 * conv -> relu -> affine -> freq_max, an unfused relu, concat, a residual
 * add, convs with only past or only future context, time_maxmean, dense,
 * affine / add / concat on vectors, softmax. */
static void build_branchy(test_model *b, rng *r)
{
    test_model_init(b, 2, 16, 40, 5, "label");
    int timbre = add_node(b, r, "timbre", CONV, IN(-1), P(1, 4, 3, 5, 1, 2));
    int t_relu = add_node(b, r, "timbre_relu", RELU, IN(timbre), NOP);
    int t_bn = add_node(b, r, "timbre_bn", AFFINE, IN(t_relu), P(4));
    int t_fm = add_node(b, r, "timbre_fmax", FREQ_MAX, IN(t_bn), NOP);
    int temporal = add_node(b, r, "temporal", CONV, IN(-1), P(1, 3, 7, 16, 3, 0));
    int front = add_node(b, r, "front", CONCAT, IN(t_fm, temporal), NOP);
    int front_relu = add_node(b, r, "front_relu", RELU, IN(front), NOP);   /* unfused */
    int mid = add_node(b, r, "mid", CONV, IN(front_relu), P(7, 7, 5, 1, 4, 0)); /* past only */
    int mid_relu = add_node(b, r, "mid_relu", RELU, IN(mid), NOP);
    int res = add_node(b, r, "res", ADD, IN(mid_relu, front_relu), NOP);
    int res_bn = add_node(b, r, "res_bn", AFFINE, IN(res), P(7));           /* unfused */
    int ahead = add_node(b, r, "ahead", CONV, IN(res_bn), P(7, 5, 3, 1, 0, 0)); /* future only */
    int all = add_node(b, r, "all", CONCAT, IN(front_relu, res_bn, ahead), NOP);
    int pool = add_node(b, r, "pool", TIME_MAXMEAN, IN(all), NOP);
    int d1 = add_node(b, r, "d1", DENSE, IN(pool), P(38, 12));
    int d1_bn = add_node(b, r, "d1_bn", AFFINE, IN(d1), P(12));
    int d1_relu = add_node(b, r, "d1_relu", RELU, IN(d1_bn), NOP);
    int skip = add_node(b, r, "skip", DENSE, IN(pool), P(38, 12));
    int vsum = add_node(b, r, "vsum", ADD, IN(d1_relu, skip), NOP);
    int vcat = add_node(b, r, "vcat", CONCAT, IN(vsum, pool), NOP);
    int d2 = add_node(b, r, "d2", DENSE, IN(vcat), P(50, 5));
    add_node(b, r, "probs", SOFTMAX, IN(d2), NOP);
}

/* Two time_maxmean branches from one unfused relu on the input, listed out
 * of order, ending in sigmoid. */
static void build_two_pools(test_model *b, rng *r, uint32_t window_frames)
{
    test_model_init(b, 2, 8, window_frames, 3, "label");
    /* indices: 0 pb, 1 a, 2 x, 3 a_fm, 4 b, 5 pa, 6 cat, 7 d, 8 out */
    add_node(b, r, "pb", TIME_MAXMEAN, IN(4), NOP);
    add_node(b, r, "a", CONV, IN(2), P(1, 3, 3, 3, 2, 1));
    add_node(b, r, "x", RELU, IN(-1), NOP);
    add_node(b, r, "a_fm", FREQ_MAX, IN(1), NOP);
    add_node(b, r, "b", CONV, IN(2), P(1, 2, 9, 8, 0, 0));
    add_node(b, r, "pa", TIME_MAXMEAN, IN(3), NOP);
    add_node(b, r, "cat", CONCAT, IN(5, 0), NOP);
    add_node(b, r, "d", DENSE, IN(6), P(10, 3));
    add_node(b, r, "out", SIGMOID, IN(7), NOP);
}

/* One conv followed by more relu / affine nodes than a conv step fuses,
 * a kernel as wide as its padded input, freq_max on one bin, an affine
 * after a freq_max, and the sigmoid output. */
static void build_long_epilogue(test_model *b, rng *r)
{
    test_model_init(b, 2, 5, 30, 4, "label");
    int prev = add_node(b, r, "c1", CONV, IN(-1), P(1, 3, 2, 3, 1, 2));      /* 5 -> 7 bins */
    for (int k = 0; k < 10; k++) {
        char name[16];
        snprintf(name, sizeof name, "e%d", k);
        prev = k % 2 ? add_node(b, r, name, AFFINE, IN(prev), P(3))
                     : add_node(b, r, name, RELU, IN(prev), NOP);
    }
    int c2 = add_node(b, r, "c2", CONV, IN(prev), P(3, 2, 4, 9, 2, 1));      /* 7 + 2 - 9 + 1 = 1 */
    int fm = add_node(b, r, "fm", FREQ_MAX, IN(c2), NOP);
    int bn = add_node(b, r, "bn", AFFINE, IN(fm), P(2));
    int pool = add_node(b, r, "pool", TIME_MAXMEAN, IN(bn), NOP);
    int d = add_node(b, r, "d", DENSE, IN(pool), P(4, 4));
    add_node(b, r, "out", SIGMOID, IN(d), NOP);
}

/* Two independent trunks on the same input, each with its own input
 * affine, front convs, a residual mid conv and a pool (what
 * train/export_transfer.py writes for two musicnn trunks), musicnn's
 * window length; the pools joined into one head. */
static void build_two_trunks(test_model *b, rng *r)
{
    test_model_init(b, 2, 12, 187, 4, "label");
    int pools[2];
    for (int k = 0; k < 2; k++) {
        char n[8][16];
        for (int j = 0; j < 8; j++)
            snprintf(n[j], sizeof n[j], "t%d_%d", k, j);
        int bn = add_node(b, r, n[0], AFFINE, IN(-1), P(1));
        int wide = add_node(b, r, n[1], CONV, IN(bn), P(1, 3, 7, 12, 3, 0));      /* [1][3] */
        int tall = add_node(b, r, n[2], CONV, IN(bn), P(1, 2, 1, 5, 0, 0));       /* [8][2] */
        int tall_max = add_node(b, r, n[3], FREQ_MAX, IN(tall), NOP);
        int front = add_node(b, r, n[4], CONCAT, IN(wide, tall_max), NOP);         /* [1][5] */
        int mid = add_node(b, r, n[5], CONV, IN(front), P(5, 5, 7, 1, 3, 0));
        int res = add_node(b, r, n[6], ADD, IN(mid, front), NOP);
        pools[k] = add_node(b, r, n[7], TIME_MAXMEAN, IN(res), NOP);              /* 10 */
    }
    int both = add_node(b, r, "both", CONCAT, IN(pools[0], pools[1]), NOP);
    int d = add_node(b, r, "head", DENSE, IN(both), P(20, 4));
    add_node(b, r, "out", SOFTMAX, IN(d), NOP);
}

/* time_maxmean straight on one-band input frames (the input is pooled). */
static void build_pooled_input(test_model *b, rng *r)
{
    test_model_init(b, 2, 1, 10, 2, "label");
    int pool = add_node(b, r, "pool", TIME_MAXMEAN, IN(-1), NOP);
    int d = add_node(b, r, "d", DENSE, IN(pool), P(2, 2));
    add_node(b, r, "out", SOFTMAX, IN(d), NOP);
}

/* A random graph: frame ops (conv of random kernel and padding, relu,
 * affine, freq_max, concat of values with the same bins, residual add) on
 * the input and on each other; every value nothing else reads is reduced
 * over frequency and pooled (so there are often several time_maxmeans,
 * and frame steps shared by branches), the pools joined, then a dense
 * head ending in softmax or sigmoid. */
static void build_random(test_model *b, rng *r)
{
    uint32_t n_mels = (uint32_t)irange(r, 1, 12), labels = (uint32_t)irange(r, 1, 6);
    test_model_init(b, 2, n_mels, (uint32_t)irange(r, 5, 80), labels, "label");
    size_t f[TEST_MODEL_MAX_NODES], c[TEST_MODEL_MAX_NODES];
    bool used[TEST_MODEL_MAX_NODES] = {false}, input_used = false;
    char name[16];
    /* Each op reads at least one value, so at most n_ops ends: a concat takes them all. */
    int n_ops = (int)irange(r, 1, GENRE_NODE_MAX_INPUTS);
    for (int k = 0; k < n_ops; k++) {
        int n = (int)b->model.n_nodes;
        /* a source: the input or any frames node so far */
        int src = (int)irange(r, 0, (size_t)n) - 1;
        size_t sf = src < 0 ? n_mels : f[src], sc = src < 0 ? 1 : c[src];
        snprintf(name, sizeof name, "n%d", n);
        int id;
        switch (irange(r, 0, 6)) {
        case 0:
        case 1: {
            uint32_t kt = (uint32_t)irange(r, 1, 7), kf = (uint32_t)irange(r, 1, 7);
            uint32_t pad_t = (uint32_t)irange(r, 0, kt - 1), pad_f = (uint32_t)irange(r, 0, kf - 1);
            if (sf + 2 * pad_f < kf)
                kf = (uint32_t)(sf + 2 * pad_f);
            if (pad_f >= kf)
                pad_f = kf - 1;
            uint32_t oc = (uint32_t)irange(r, 1, 5);
            id = add_node(b, r, name, CONV, IN(src), P((uint32_t)sc, oc, kt, kf, pad_t, pad_f));
            f[id] = sf + 2 * pad_f - kf + 1, c[id] = oc;
            break;
        }
        case 2:
            id = add_node(b, r, name, RELU, IN(src), NOP);
            f[id] = sf, c[id] = sc;
            break;
        case 3:
            id = add_node(b, r, name, AFFINE, IN(src), P((uint32_t)sc));
            f[id] = sf, c[id] = sc;
            break;
        case 4:
            id = add_node(b, r, name, FREQ_MAX, IN(src), NOP);
            f[id] = 1, c[id] = sc;
            break;
        default: {
            /* concat (or add when the channels match) with another value
             * of the same bins, if there is one */
            int other = -2;
            for (int t = 0; t < 8 && other == -2; t++) {
                int o = (int)irange(r, 0, (size_t)n) - 1;
                if ((o < 0 ? n_mels : f[o]) == sf)
                    other = o;
            }
            if (other == -2)
                other = src;    /* with itself */
            size_t oc = other < 0 ? 1 : c[other];
            if (oc == sc && irange(r, 0, 1)) {
                id = add_node(b, r, name, ADD, IN(src, other), NOP);
                c[id] = sc;
            } else {
                id = add_node(b, r, name, CONCAT, IN(src, other), NOP);
                c[id] = sc + oc;
            }
            f[id] = sf;
            if (other >= 0)
                used[other] = true;
            else
                input_used = true;
            break;
        }
        }
        if (src >= 0)
            used[src] = true;
        else
            input_used = true;
    }
    /* Pool every value nothing reads (and the input, if nothing did). */
    int n_frames = (int)b->model.n_nodes, pools[TEST_MODEL_MAX_NODES], n_pools = 0;
    size_t pooled_c = 0;
    for (int i = -1; i < n_frames; i++) {
        if (i < 0 ? input_used : used[i])
            continue;
        size_t vf = i < 0 ? n_mels : f[i], vc = i < 0 ? 1 : c[i];
        int v = i;
        if (vf > 1) {
            snprintf(name, sizeof name, "fm%d", i + 1);
            v = add_node(b, r, name, FREQ_MAX, IN(v), NOP);
        }
        snprintf(name, sizeof name, "pool%d", i + 1);
        pools[n_pools++] = add_node(b, r, name, TIME_MAXMEAN, IN(v), NOP);
        pooled_c += 2 * vc;
    }
    int v = pools[0];
    if (n_pools > 1) {
        genre_node *cat = &b->nodes[add_node(b, r, "pools", CONCAT, IN(0, 0), NOP)];
        cat->n_inputs = (uint32_t)n_pools;
        memcpy(cat->inputs, pools, (size_t)n_pools * sizeof *pools);
        v = (int)b->model.n_nodes - 1;
    }
    if (irange(r, 0, 1)) {
        v = add_node(b, r, "hidden", DENSE, IN(v), P((uint32_t)pooled_c, 7));
        v = add_node(b, r, "hidden_relu", RELU, IN(v), NOP);
        pooled_c = 7;
    }
    v = add_node(b, r, "logits", DENSE, IN(v), P((uint32_t)pooled_c, labels));
    add_node(b, r, "out", irange(r, 0, 1) ? SOFTMAX : SIGMOID, IN(v), NOP);
}

static void test_random_graphs(rng *r, int count)
{
    for (int k = 0; k < count; k++) {
        test_model b;
        build_random(&b, r);
        char what[32];
        snprintf(what, sizeof what, "random graph %d", k);
        char err[256];
        genre_graph *g = genre_graph_new(&b.model, 1, err, sizeof err);
        CHECK_MSG(g != NULL, "%s: %s", what, err);
        genre_graph_del(g);
        size_t W = b.model.frontend.window_frames;
        if (g)
            check_graph(&b, r, irange(r, 3 * W + 20, 3 * W + 300), irange(r, 1, W + 20), what);
        test_model_free(&b);
    }
}

static void test_graphs(rng *r)
{
    test_model b;
    build_branchy(&b, r);
    check_graph(&b, r, 301, 13, "branchy");
    check_graph(&b, r, 5000, 37, "branchy, long");

    check_graph(&b, r, 3000, 250, "branchy, rare windows");
    test_model_free(&b);

    build_two_pools(&b, r, 24);
    check_graph(&b, r, 301, 7, "two pools");
    check_graph(&b, r, 5000, 29, "two pools, long");
    check_graph(&b, r, 1000, 61, "two pools, windows every 61");
    check_graph(&b, r, 3000, 250, "two pools, rare windows");
    test_model_free(&b);
    build_two_pools(&b, r, 200);
    check_graph(&b, r, 1000, 50, "two pools, 200-frame windows");
    test_model_free(&b);

    build_two_trunks(&b, r);
    check_graph(&b, r, 3000, 94, "two trunks");
    check_graph(&b, r, 3000, 400, "two trunks, rare windows");
    test_model_free(&b);

    build_long_epilogue(&b, r);
    check_graph(&b, r, 500, 11, "long epilogue");
    test_model_free(&b);

    build_pooled_input(&b, r);
    check_graph(&b, r, 2000, 3, "pooled input");
    test_model_free(&b);
}

/* ---- API errors ---- */

static void expect_error(int rc, const char *err, const char *want, const char *what)
{
    CHECK_MSG(rc == -1 && one_line(err) && strstr(err, want), "%s: rc %d \"%s\", expected \"%s\"",
              what, rc, err, want);
}

static void test_api_errors(rng *r)
{
    test_model b;
    build_branchy(&b, r);
    const genre_model *m = &b.model;
    const size_t W = m->frontend.window_frames;
    char err[256] = "";
    float probs[TEST_MODEL_MAX_LABELS];

    for (size_t threads = 0; threads <= 65; threads += 65) {
        err[0] = '\0';
        genre_graph *bad = genre_graph_new(m, threads, err, sizeof err);
        CHECK_MSG(bad == NULL && strstr(err, "must be 1..64"), "%zu threads: \"%s\"", threads,
                  bad ? "accepted" : err);
        genre_graph_del(bad);
    }
    genre_graph *g64 = genre_graph_new(m, 64, err, sizeof err);
    CHECK_MSG(g64 != NULL, "64 threads: %s", err);
    genre_graph_del(g64);

    /* A version-1 model (a layer chain, no nodes) and no model. */
    genre_layer chain[1] = {{.type = GENRE_LAYER_SOFTMAX}};
    genre_model v1 = {.format_version = 1, .n_labels = 2, .n_layers = 1, .layers = chain};
    v1.frontend.n_mels = 4, v1.frontend.window_frames = 8;
    err[0] = '\0';
    CHECK_MSG(genre_graph_new(&v1, 1, err, sizeof err) == NULL && one_line(err) &&
                  strstr(err, "no graph"),
              "v1 model: \"%s\"", err);
    err[0] = '\0';
    CHECK_MSG(genre_graph_new(NULL, 1, err, sizeof err) == NULL && one_line(err), "NULL model");
    genre_graph_del(NULL);

    genre_graph *g = genre_graph_new(m, 1, err, sizeof err);
    CHECK_MSG(g != NULL, "graph: %s", err);
    if (!g) {
        test_model_free(&b);
        return;
    }
    size_t la = genre_graph_lookahead(g), n_mels = m->frontend.n_mels;
    CHECK_MSG(genre_graph_ready(g) == 0 && genre_graph_frames(g) == 0, "fresh graph: ready %llu",
              (unsigned long long)genre_graph_ready(g));
    float *frames = random_floats(r, 200 * n_mels, 1.0f);

    /* run: 0 frames, more than a window. */
    err[0] = '\0';
    expect_error(genre_graph_run(g, frames, 0, probs, err, sizeof err), err, "must hold",
                 "run on 0 frames");
    err[0] = '\0';
    expect_error(genre_graph_run(g, frames, W + 1, probs, err, sizeof err), err, "must hold",
                 "run on window_frames + 1");

    genre_graph_reset(g);
    CHECK(genre_graph_push(g, frames, 100, err, sizeof err) == 0);
    CHECK_MSG(genre_graph_ready(g) == 100 - la, "ready %llu after 100 frames, look-ahead %zu",
              (unsigned long long)genre_graph_ready(g), la);
    err[0] = '\0';
    expect_error(genre_graph_window(g, 10, 10, probs, err, sizeof err), err, "must hold",
                 "empty window");
    err[0] = '\0';
    expect_error(genre_graph_window(g, 11, 10, probs, err, sizeof err), err, "must hold",
                 "start after end");
    err[0] = '\0';
    expect_error(genre_graph_window(g, 10, 10 + W + 1, probs, err, sizeof err), err, "must hold",
                 "window longer than window_frames");
    uint64_t ready = genre_graph_ready(g);
    err[0] = '\0';
    expect_error(genre_graph_window(g, ready + 1 - W, ready + 1, probs, err, sizeof err), err,
                 "not ready", "window end beyond ready");
    CHECK_MSG(genre_graph_window(g, 20, 20 + W, probs, err, sizeof err) == 0, "window [20, %zu): %s",
              20 + W, err);
    err[0] = '\0';
    expect_error(genre_graph_window(g, 19, 19 + W, probs, err, sizeof err), err,
                 "before the previous window", "window out of order");
    /* The same start again, and a shorter window from it, are in order. */
    CHECK_MSG(genre_graph_window(g, 20, 20 + W, probs, err, sizeof err) == 0, "same window: %s",
              err);
    CHECK_MSG(genre_graph_window(g, 20, 21, probs, err, sizeof err) == 0, "one-frame window: %s",
              err);
    genre_graph_end(g);
    CHECK_MSG(genre_graph_ready(g) == 100, "ready after the end: %llu",
              (unsigned long long)genre_graph_ready(g));
    err[0] = '\0';
    expect_error(genre_graph_push(g, frames, 1, err, sizeof err), err, "after the end",
                 "push after the end");
    CHECK_MSG(genre_graph_frames(g) == 100, "frames after a refused push: %llu",
              (unsigned long long)genre_graph_frames(g));
    err[0] = '\0';
    expect_error(genre_graph_window(g, 101 - W, 101, probs, err, sizeof err), err, "not ready",
                 "window past the end of an ended stream");
    CHECK_MSG(genre_graph_window(g, 100 - W, 100, probs, err, sizeof err) == 0,
              "last window after the end: %s", err);
    /* Reset takes pushes again. */
    genre_graph_reset(g);
    CHECK_MSG(genre_graph_push(g, frames, 3, err, sizeof err) == 0 && genre_graph_frames(g) == 3,
              "push after reset: %s", err);
    /* Pushing 0 frames is allowed and changes nothing. */
    CHECK_MSG(genre_graph_push(g, frames, 0, err, sizeof err) == 0 && genre_graph_frames(g) == 3,
              "push of 0 frames: %s", err);
    genre_graph_del(g);
    free(frames);

    /* A malformed graph in memory is refused by genre_graph_new, naming
     * the node. */
    b.nodes[b.model.n_nodes - 1].type = GENRE_LAYER_RELU;
    err[0] = '\0';
    CHECK_MSG(genre_graph_new(m, 1, err, sizeof err) == NULL && strstr(err, "probs"),
              "output not softmax: \"%s\"", err);
    test_model_free(&b);

    /* A frame as large as the shape check allows (512 bins x 8192
     * channels = 2^22 floats) needs buffers beyond the plan's limit:
     * refused with a message, not attempted. */
    test_model_init(&b, 2, 512, 100, 2, "label");
    int big = add_node(&b, r, "big", CONV, IN(-1), P(1, 8192, 1, 1, 0, 0));
    int fm = add_node(&b, r, "big_fm", FREQ_MAX, IN(big), NOP);
    int bn = add_node(&b, r, "bn", AFFINE, IN(fm), P(8192));
    int pool = add_node(&b, r, "pool", TIME_MAXMEAN, IN(bn), NOP);
    int d = add_node(&b, r, "d", DENSE, IN(pool), P(16384, 2));
    add_node(&b, r, "out", SOFTMAX, IN(d), NOP);
    err[0] = '\0';
    g = genre_graph_new(&b.model, 1, err, sizeof err);
    CHECK_MSG(g == NULL && one_line(err) && strstr(err, "too large"),
              "huge conv output: \"%s\"", g ? "accepted" : err);
    genre_graph_del(g);
    test_model_free(&b);
}

/* test_graph [RANDOM_GRAPHS [SEED]]: more random graphs, or other ones,
 * for a longer soak than the default run. */
int main(int argc, char **argv)
{
    int random_graphs = argc > 1 ? atoi(argv[1]) : 40;
    rng r = {argc > 2 ? strtoull(argv[2], NULL, 0) | 1 : 0x2545F4914F6CDD1Dull};
    test_tconv(&r);
    test_relayout(&r);
    test_rows(&r);
    test_graphs(&r);
    test_random_graphs(&r, random_graphs);
    test_api_errors(&r);
    return check_exit_status("test_graph");
}
