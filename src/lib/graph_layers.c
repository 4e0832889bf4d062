#include "graph_layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t genre_tconv_out_f(const genre_tconv_shape *s)
{
    return s->in_f + 2 * s->pad_f - s->kf + 1;
}

size_t genre_tconv_taps(const genre_tconv_shape *s)
{
    return s->kt * s->kf * s->in_c;
}

void genre_tconv_relayout(const genre_tconv_shape *s, const float *weight, float *out)
{
    for (size_t o = 0; o < s->out_c; o++)
        for (size_t c = 0; c < s->in_c; c++)
            for (size_t i = 0; i < s->kt; i++)
                for (size_t j = 0; j < s->kf; j++)
                    out[((o * s->kt + i) * s->kf + j) * s->in_c + c] =
                        weight[((o * s->in_c + c) * s->kt + i) * s->kf + j];
}

size_t genre_tconv_scratch_size(const genre_tconv_shape *s, size_t rows)
{
    return (rows + s->kt - 1) * (s->in_f + 2 * s->pad_f) * s->in_c;
}

/* n frames from absolute frame `first` on, each with pad_f zero bins on
 * either side, zero frames outside the stream: what the taps of rows near
 * the stream's edges (or of a frequency-padded conv) read. */
static void stage(const genre_tconv_shape *s, const genre_frame_span *in, int64_t first, size_t n,
                  float *dst)
{
    const size_t frame = s->in_f * s->in_c, pad = s->pad_f * s->in_c;
    for (size_t u = 0; u < n; u++, dst += frame + 2 * pad) {
        int64_t tau = first + (int64_t)u;
        if (tau < in->lo || tau >= in->hi) {
            memset(dst, 0, (frame + 2 * pad) * sizeof *dst);
            continue;
        }
        memset(dst, 0, pad * sizeof *dst);
        memcpy(dst + pad, in->frames + (size_t)(tau - in->base) * frame, frame * sizeof *dst);
        memset(dst + pad + frame, 0, pad * sizeof *dst);
    }
}

/* Rows [r0, r1) of the chunk whose taps all read stored frames (none in
 * the zero padding before or after the stream). */
static void inside_rows(const genre_tconv_shape *s, const genre_frame_span *in, int64_t t0,
                        size_t rows, size_t *r0, size_t *r1)
{
    /* Row r reads frames t0 + r - pad_t .. t0 + r - pad_t + kt - 1. */
    int64_t lo = in->lo - t0 + (int64_t)s->pad_t;
    int64_t hi = in->hi - t0 + (int64_t)s->pad_t - (int64_t)s->kt + 1;
    lo = lo < 0 ? 0 : lo > (int64_t)rows ? (int64_t)rows : lo;
    hi = hi < lo ? lo : hi > (int64_t)rows ? (int64_t)rows : hi;
    *r0 = (size_t)lo;
    *r1 = (size_t)hi;
}

int genre_tconv_plan_init(genre_tconv_plan *p, const genre_tconv_shape *s, const float *weight,
                          const float *bias, genre_isa isa)
{
    const size_t taps = genre_tconv_taps(s), frame = s->in_f * s->in_c;
    const size_t staged = (s->in_f + 2 * s->pad_f) * s->in_c;
    memset(p, 0, sizeof *p);
    p->s = *s;
    float *relaid = malloc(s->out_c * taps * sizeof *relaid);
    p->frame_off = malloc(taps * sizeof *p->frame_off);
    p->staged_off = malloc(taps * sizeof *p->staged_off);
    if (relaid && p->frame_off && p->staged_off) {
        genre_tconv_relayout(s, weight, relaid);
        p->k = genre_convk_new(isa, taps, s->out_c, relaid, bias);
    }
    free(relaid);
    if (!p->k) {
        genre_tconv_plan_free(p);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->kt; i++)
        for (size_t j = 0; j < s->kf; j++)
            for (size_t c = 0; c < s->in_c; c++, k++) {
                p->frame_off[k] = (ptrdiff_t)(i * frame + j * s->in_c + c);
                p->staged_off[k] = (ptrdiff_t)(i * staged + j * s->in_c + c);
            }
    return 0;
}

void genre_tconv_plan_free(genre_tconv_plan *p)
{
    genre_convk_del(p->k);
    free(p->frame_off);
    free(p->staged_off);
    memset(p, 0, sizeof *p);
}

/* Rows [r0, r1) from staged frames. */
static void tconv_staged(const genre_tconv_plan *p, const genre_frame_span *in, int64_t t0,
                         size_t r0, size_t r1, bool relu, float *scratch, float *out)
{
    if (r1 <= r0)
        return;
    const genre_tconv_shape *s = &p->s;
    const size_t out_f = genre_tconv_out_f(s);
    stage(s, in, t0 + (int64_t)r0 - (int64_t)s->pad_t, r1 - r0 + s->kt - 1, scratch);
    genre_convk_grid g = {.rows = r1 - r0, .cols = out_f,
                          .in_row = (ptrdiff_t)((s->in_f + 2 * s->pad_f) * s->in_c),
                          .in_col = (ptrdiff_t)s->in_c, .out_row = (ptrdiff_t)(out_f * s->out_c),
                          .out_col = (ptrdiff_t)s->out_c, .out_chan = 1};
    genre_convk_run(p->k, scratch, p->staged_off, &g, relu, out + r0 * out_f * s->out_c);
}

void genre_tconv(const genre_tconv_plan *p, const genre_frame_span *in, int64_t t0, size_t rows,
                 bool relu, float *scratch, float *out)
{
    const genre_tconv_shape *s = &p->s;
    const size_t out_f = genre_tconv_out_f(s), frame = s->in_f * s->in_c;
    size_t r0 = rows, r1 = rows;
    /* Without frequency padding every tap of an inside row reads a stored
     * value: the kernels read the frames in place. */
    if (s->pad_f == 0) {
        inside_rows(s, in, t0, rows, &r0, &r1);
        if (r0 < r1) {
            const float *first =
                in->frames + (t0 + (int64_t)r0 - (int64_t)s->pad_t - in->base) * (int64_t)frame;
            genre_convk_grid g = {.rows = r1 - r0, .cols = out_f, .in_row = (ptrdiff_t)frame,
                                  .in_col = (ptrdiff_t)s->in_c,
                                  .out_row = (ptrdiff_t)(out_f * s->out_c),
                                  .out_col = (ptrdiff_t)s->out_c, .out_chan = 1};
            genre_convk_run(p->k, first, p->frame_off, &g, relu, out + r0 * out_f * s->out_c);
        } else {
            r0 = r1 = rows;
        }
    }
    /* The rest -- rows that touch the stream's edges, or every row of a
     * frequency-padded conv -- from frames staged with their zeros. */
    if (r0 == r1) {
        tconv_staged(p, in, t0, 0, rows, relu, scratch, out);
        return;
    }
    tconv_staged(p, in, t0, 0, r0, relu, scratch, out);
    tconv_staged(p, in, t0, r1, rows, relu, scratch, out);
}

void genre_rows_relu(float *x, size_t n, size_t c)
{
    for (size_t i = 0; i < n * c; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void genre_rows_affine(float *x, size_t n, size_t c, const float *scale, const float *shift)
{
    for (size_t r = 0; r < n; r++, x += c)
        for (size_t k = 0; k < c; k++)
            x[k] = x[k] * scale[k] + shift[k];
}

void genre_rows_freq_max(const float *in, size_t rows, size_t f, size_t c, float *out)
{
    for (size_t r = 0; r < rows; r++, out += c) {
        const float *frame = in + r * f * c;
        memcpy(out, frame, c * sizeof *out);
        for (size_t b = 1; b < f; b++)
            for (size_t k = 0; k < c; k++)
                out[k] = frame[b * c + k] > out[k] ? frame[b * c + k] : out[k];
    }
}

void genre_frames_time_maxmean(const float *frames, size_t n, size_t c, float *out)
{
    for (size_t k = 0; k < c; k++) {
        float m = frames[k];
        double sum = 0.0;
        for (size_t t = 0; t < n; t++) {
            float v = frames[t * c + k];
            m = v > m ? v : m;
            sum += v;
        }
        out[2 * k] = m;
        out[2 * k + 1] = (float)(sum / (double)n);
    }
}

void genre_rows_sigmoid(const float *in, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 1.0f / (1.0f + expf(-in[i]));
}
