#include "net_layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

size_t genre_conv_out_h(const genre_conv_shape *s)
{
    return s->h + 2 * s->pad_h - s->kh + 1;
}

size_t genre_conv_out_w(const genre_conv_shape *s)
{
    return s->w + 2 * s->pad_w - s->kw + 1;
}

/* A 1x1 kernel without padding is already a matrix product of the input. */
static bool conv_is_pointwise(const genre_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->pad_h == 0 && s->pad_w == 0;
}

size_t genre_conv_scratch_size(const genre_conv_shape *s)
{
    return genre_conv_rows_scratch_size(s, genre_conv_out_h(s));
}

size_t genre_conv_rows_scratch_size(const genre_conv_shape *s, size_t rows)
{
    if (conv_is_pointwise(s))
        return 0;
    return s->in_c * s->kh * s->kw * rows * genre_conv_out_w(s);
}

/* col row (c, i, j) holds the input pixel each output position of rows
 * [oy0, oy1) sees through kernel tap (i, j) of channel c, zero where that
 * falls into the padding.  Rows are built from contiguous runs so the inner
 * loop is a memcpy. */
static void im2col(const genre_conv_shape *s, const float *in, size_t oy0, size_t oy1, float *col)
{
    size_t ow = genre_conv_out_w(s);
    for (size_t c = 0; c < s->in_c; c++) {
        const float *plane = in + c * s->h * s->w;
        for (size_t i = 0; i < s->kh; i++) {
            for (size_t j = 0; j < s->kw; j++) {
                /* Output columns ox with 0 <= ox + j - pad_w < w. */
                size_t x_lo = j < s->pad_w ? s->pad_w - j : 0;
                size_t x_hi = s->w + s->pad_w > j ? s->w + s->pad_w - j : 0;
                if (x_hi > ow)
                    x_hi = ow;
                if (x_lo > x_hi)
                    x_lo = x_hi;
                for (size_t oy = oy0; oy < oy1; oy++, col += ow) {
                    size_t iy_padded = oy + i;
                    if (iy_padded < s->pad_h || iy_padded - s->pad_h >= s->h) {
                        memset(col, 0, ow * sizeof *col);
                        continue;
                    }
                    const float *row = plane + (iy_padded - s->pad_h) * s->w;
                    memset(col, 0, x_lo * sizeof *col);
                    if (x_hi > x_lo)
                        memcpy(col + x_lo, row + (x_lo + j - s->pad_w),
                               (x_hi - x_lo) * sizeof *col);
                    memset(col + x_hi, 0, (ow - x_hi) * sizeof *col);
                }
            }
        }
    }
}

void genre_layer_conv2d(const genre_conv_shape *s, const float *in, const float *weight,
                        const float *bias, bool relu, float *col, float *out)
{
    genre_layer_conv2d_rows(s, in, weight, bias, relu, 0, genre_conv_out_h(s), col, out);
}

void genre_layer_conv2d_rows(const genre_conv_shape *s, const float *in, const float *weight,
                             const float *bias, bool relu, size_t oy0, size_t oy1, float *col,
                             float *out)
{
    size_t ow = genre_conv_out_w(s);
    size_t pixels = genre_conv_out_h(s) * ow;       /* row stride of out (and of a 1x1 input) */
    size_t first = oy0 * ow, count = (oy1 - oy0) * ow;
    size_t k = s->in_c * s->kh * s->kw;
    const float *b = in + first;
    size_t ldb = pixels;
    if (!conv_is_pointwise(s)) {
        im2col(s, in, oy0, oy1, col);
        b = col;
        ldb = count;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->out_c, (int)count, (int)k,
                1.0f, weight, (int)k, b, (int)ldb, 0.0f, out + first, (int)pixels);
    for (size_t oc = 0; oc < s->out_c; oc++) {
        float *o = out + oc * pixels + first;
        float bv = bias[oc];
        if (relu) {
            for (size_t p = 0; p < count; p++) {
                float v = o[p] + bv;
                o[p] = v > 0.0f ? v : 0.0f;
            }
        } else {
            for (size_t p = 0; p < count; p++)
                o[p] += bv;
        }
    }
}

void genre_layer_relu(const float *in, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void genre_layer_maxpool2d(const float *in, size_t c, size_t h, size_t w, size_t kh, size_t kw,
                           float *out)
{
    size_t oh = h / kh, ow = w / kw;
    for (size_t ch = 0; ch < c; ch++) {
        const float *plane = in + ch * h * w;
        for (size_t oy = 0; oy < oh; oy++) {
            for (size_t ox = 0; ox < ow; ox++) {
                const float *block = plane + oy * kh * w + ox * kw;
                float m = block[0];
                for (size_t i = 0; i < kh; i++)
                    for (size_t j = 0; j < kw; j++)
                        m = block[i * w + j] > m ? block[i * w + j] : m;
                *out++ = m;
            }
        }
    }
}

void genre_layer_global_meanmax(const float *in, size_t c, size_t h, size_t w, float *out)
{
    size_t n = h * w;
    for (size_t ch = 0; ch < c; ch++) {
        const float *plane = in + ch * n;
        /* Double accumulation: a 600x96 plane summed in float loses digits. */
        double sum = 0.0;
        float m = plane[0];
        for (size_t i = 0; i < n; i++) {
            sum += plane[i];
            m = plane[i] > m ? plane[i] : m;
        }
        out[ch] = (float)(sum / (double)n);
        out[c + ch] = m;
    }
}

void genre_layer_dense(const float *in, size_t n_in, const float *weight, const float *bias,
                       size_t n_out, float *out)
{
    memcpy(out, bias, n_out * sizeof *out);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n_out, (int)n_in, 1.0f, weight, (int)n_in, in,
                1, 1.0f, out, 1);
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
