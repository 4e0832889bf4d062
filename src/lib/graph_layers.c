#include "graph_layers.h"

#include <cblas.h>
#include <math.h>
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

/* Patch row of output (t, fo): for each time tap a run of kf bins x in_c
 * channels, which is contiguous in the input frame except where it falls
 * into the frequency padding. */
static void im2col(const genre_tconv_shape *s, const genre_frame_span *in, int64_t t0,
                   size_t rows, float *col)
{
    const size_t out_f = genre_tconv_out_f(s), run = s->kf * s->in_c;
    const size_t frame = s->in_f * s->in_c;
    for (size_t r = 0; r < rows; r++) {
        for (size_t fo = 0; fo < out_f; fo++) {
            /* bins fo - pad_f .. fo - pad_f + kf - 1, clipped to the frame */
            size_t j_lo = fo < s->pad_f ? s->pad_f - fo : 0;
            size_t j_hi = s->in_f + s->pad_f - fo < s->kf ? s->in_f + s->pad_f - fo : s->kf;
            for (size_t i = 0; i < s->kt; i++, col += run) {
                int64_t tau = t0 + (int64_t)r + (int64_t)i - (int64_t)s->pad_t;
                if (tau < in->lo || tau >= in->hi) {
                    memset(col, 0, run * sizeof *col);
                    continue;
                }
                const float *src = in->frames + (size_t)(tau - in->base) * frame;
                memset(col, 0, j_lo * s->in_c * sizeof *col);
                memcpy(col + j_lo * s->in_c, src + (fo + j_lo - s->pad_f) * s->in_c,
                       (j_hi - j_lo) * s->in_c * sizeof *col);
                memset(col + j_hi * s->in_c, 0, (s->kf - j_hi) * s->in_c * sizeof *col);
            }
        }
    }
}

void genre_tconv(const genre_tconv_shape *s, const genre_frame_span *in, int64_t t0, size_t rows,
                 const float *weight, const float *bias, float *col, float *out)
{
    const size_t positions = rows * genre_tconv_out_f(s), taps = genre_tconv_taps(s);
    im2col(s, in, t0, rows, col);
    for (size_t p = 0; p < positions; p++)
        memcpy(out + p * s->out_c, bias, s->out_c * sizeof *out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)positions, (int)s->out_c,
                (int)taps, 1.0f, col, (int)taps, weight, (int)taps, 1.0f, out, (int)s->out_c);
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
