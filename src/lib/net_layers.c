#include "net_layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t genre_conv_out_h(const genre_conv_shape *s)
{
    return s->h + 2 * s->pad_h - s->kh + 1;
}

size_t genre_conv_out_w(const genre_conv_shape *s)
{
    return s->w + 2 * s->pad_w - s->kw + 1;
}

static bool conv_is_padded(const genre_conv_shape *s)
{
    return s->pad_h > 0 || s->pad_w > 0;
}

size_t genre_conv_padded_size(const genre_conv_shape *s)
{
    if (!conv_is_padded(s))
        return 0;
    return s->in_c * (s->h + 2 * s->pad_h) * (s->w + 2 * s->pad_w);
}

const float *genre_conv_source(const genre_conv_shape *s, const float *in, float *padded)
{
    if (!conv_is_padded(s))
        return in;
    const size_t wp = s->w + 2 * s->pad_w, row = s->w * s->in_c;
    const size_t edge = s->pad_w * s->in_c;
    memset(padded, 0, s->pad_h * wp * s->in_c * sizeof *padded);
    float *dst = padded + s->pad_h * wp * s->in_c;
    for (size_t y = 0; y < s->h; y++, dst += wp * s->in_c) {
        memset(dst, 0, edge * sizeof *dst);
        memcpy(dst + edge, in + y * row, row * sizeof *dst);
        memset(dst + edge + row, 0, edge * sizeof *dst);
    }
    memset(dst, 0, s->pad_h * wp * s->in_c * sizeof *padded);
    return padded;
}

int genre_conv_plan_init(genre_conv_plan *p, const genre_conv_shape *s, const float *weight,
                         const float *bias, genre_isa isa)
{
    const size_t taps = s->in_c * s->kh * s->kw;
    const size_t wp = s->w + 2 * s->pad_w;
    memset(p, 0, sizeof *p);
    p->s = *s;
    /* The file's [out][in][kh][kw] is already one row of taps per output
     * channel, in the order of tap_off. */
    p->tap_off = malloc(taps * sizeof *p->tap_off);
    if (p->tap_off)
        p->k = genre_convk_new(isa, taps, s->out_c, weight, bias);
    if (!p->k) {
        genre_conv_plan_free(p);
        return -1;
    }
    size_t k = 0;
    for (size_t c = 0; c < s->in_c; c++)
        for (size_t i = 0; i < s->kh; i++)
            for (size_t j = 0; j < s->kw; j++)
                p->tap_off[k++] = (ptrdiff_t)((i * wp + j) * s->in_c + c);
    return 0;
}

void genre_conv_plan_free(genre_conv_plan *p)
{
    genre_convk_del(p->k);
    free(p->tap_off);
    memset(p, 0, sizeof *p);
}

void genre_layer_conv2d(const genre_conv_plan *p, const float *in, bool relu, float *padded,
                        float *out)
{
    genre_layer_conv2d_rows(p, genre_conv_source(&p->s, in, padded), relu, 0,
                            genre_conv_out_h(&p->s), out);
}

void genre_layer_conv2d_rows(const genre_conv_plan *p, const float *src, bool relu, size_t oy0,
                             size_t oy1, float *out)
{
    const genre_conv_shape *s = &p->s;
    const size_t ow = genre_conv_out_w(s), in_row = (s->w + 2 * s->pad_w) * s->in_c;
    if (oy1 <= oy0)
        return;
    genre_convk_grid g = {.rows = oy1 - oy0, .cols = ow, .in_row = (ptrdiff_t)in_row,
                          .in_col = (ptrdiff_t)s->in_c, .out_row = (ptrdiff_t)(ow * s->out_c),
                          .out_col = (ptrdiff_t)s->out_c, .out_chan = 1};
    genre_convk_run(p->k, src + oy0 * in_row, p->tap_off, &g, relu, out + oy0 * ow * s->out_c);
}

void genre_layer_conv2d_pool_rows(const genre_conv_plan *p, const float *src, bool relu, size_t kh,
                                  size_t kw, size_t py0, size_t py1, float *scratch, float *out)
{
    const genre_conv_shape *s = &p->s;
    const size_t ow = genre_conv_out_w(s), in_row = (s->w + 2 * s->pad_w) * s->in_c;
    if (py1 <= py0)
        return;
    genre_convk_grid g = {.rows = (py1 - py0) * kh, .cols = ow, .in_row = (ptrdiff_t)in_row,
                          .in_col = (ptrdiff_t)s->in_c, .out_row = (ptrdiff_t)(ow * s->out_c),
                          .out_col = (ptrdiff_t)s->out_c, .out_chan = 1};
    genre_convk_run(p->k, src + py0 * kh * in_row, p->tap_off, &g, relu, scratch);
    genre_layer_maxpool2d(scratch, s->out_c, (py1 - py0) * kh, ow, kh, kw,
                          out + py0 * (ow / kw) * s->out_c);
}

void genre_layer_relu(const float *in, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void genre_layer_to_chw(const float *in, size_t c, size_t h, size_t w, float *out)
{
    for (size_t p = 0; p < h * w; p++)
        for (size_t ch = 0; ch < c; ch++)
            out[ch * h * w + p] = in[p * c + ch];
}

void genre_layer_maxpool2d(const float *in, size_t c, size_t h, size_t w, size_t kh, size_t kw,
                           float *out)
{
    const size_t oh = h / kh, ow = w / kw;
    if (kh == 2 && kw == 2) {
        /* The common case, as four rows of channels the compiler vectorises. */
        for (size_t oy = 0; oy < oh; oy++)
            for (size_t ox = 0; ox < ow; ox++, out += c) {
                const float *a = in + (2 * oy * w + 2 * ox) * c, *b = a + c;
                const float *d = a + w * c, *e = d + c;
                for (size_t ch = 0; ch < c; ch++) {
                    float m1 = a[ch] > b[ch] ? a[ch] : b[ch];
                    float m2 = d[ch] > e[ch] ? d[ch] : e[ch];
                    out[ch] = m1 > m2 ? m1 : m2;
                }
            }
        return;
    }
    for (size_t oy = 0; oy < oh; oy++) {
        for (size_t ox = 0; ox < ow; ox++, out += c) {
            const float *block = in + (oy * kh * w + ox * kw) * c;
            memcpy(out, block, c * sizeof *out);
            for (size_t i = 0; i < kh; i++)
                for (size_t j = 0; j < kw; j++) {
                    const float *px = block + (i * w + j) * c;
                    for (size_t ch = 0; ch < c; ch++)
                        out[ch] = px[ch] > out[ch] ? px[ch] : out[ch];
                }
        }
    }
}

void genre_layer_global_meanmax(const float *in, size_t c, size_t h, size_t w, float *out)
{
    size_t n = h * w;
    for (size_t ch = 0; ch < c; ch++) {
        /* Double accumulation: a 600x96 plane summed in float loses digits. */
        double sum = 0.0;
        float m = in[ch];
        for (size_t i = 0; i < n; i++) {
            float v = in[i * c + ch];
            sum += v;
            m = v > m ? v : m;
        }
        out[ch] = (float)(sum / (double)n);
        out[c + ch] = m;
    }
}

/* Four floats in GCC's generic vectors (SSE on any x86-64, NEON on arm64). */
typedef float dense_v4 __attribute__((vector_size(16)));

static inline dense_v4 load4(const float *p)
{
    dense_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

void genre_layer_dense(const float *in, size_t n_in, const float *weight, const float *bias,
                       size_t n_out, float *out)
{
    /* Each output sums its products in one fixed order (16 running sums,
     * then those, then the tail), so the result is the same on every
     * machine and does not depend on any library's choice of kernel. */
    for (size_t o = 0; o < n_out; o++) {
        const float *w = weight + o * n_in;
        dense_v4 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        size_t k = 0;
        for (; k + 16 <= n_in; k += 16) {
            a0 += load4(w + k) * load4(in + k);
            a1 += load4(w + k + 4) * load4(in + k + 4);
            a2 += load4(w + k + 8) * load4(in + k + 8);
            a3 += load4(w + k + 12) * load4(in + k + 12);
        }
        dense_v4 a = (a0 + a1) + (a2 + a3);
        float sum = (a[0] + a[1]) + (a[2] + a[3]);
        for (; k < n_in; k++)
            sum += w[k] * in[k];
        out[o] = bias[o] + sum;
    }
}

void genre_layer_softmax(const float *in, size_t n, float *out)
{
    float m = in[0];
    for (size_t i = 1; i < n; i++)
        m = in[i] > m ? in[i] : m;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        out[i] = expf(in[i] - m);
        sum += out[i];
    }
    float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++)
        out[i] *= inv;
}
