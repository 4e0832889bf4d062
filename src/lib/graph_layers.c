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

/* The general path: patch rows, one sgemm, for rows [r0, r1). */
static void tconv_im2col(const genre_tconv_shape *s, const genre_frame_span *in, int64_t t0,
                         size_t r0, size_t r1, const float *weight, float *col, float *out)
{
    if (r1 <= r0)
        return;
    const size_t out_f = genre_tconv_out_f(s), taps = genre_tconv_taps(s);
    const size_t positions = (r1 - r0) * out_f;
    im2col(s, in, t0 + (int64_t)r0, r1 - r0, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)positions, (int)s->out_c,
                (int)taps, 1.0f, col, (int)taps, weight, (int)taps, 1.0f,
                out + r0 * out_f * s->out_c, (int)s->out_c);
}

void genre_tconv(const genre_tconv_shape *s, const genre_frame_span *in, int64_t t0, size_t rows,
                 const float *weight, const float *bias, float *col, float *out)
{
    const size_t out_f = genre_tconv_out_f(s), frame = s->in_f * s->in_c;
    for (size_t p = 0; p < rows * out_f; p++)
        memcpy(out + p * s->out_c, bias, s->out_c * sizeof *out);
    size_t r0, r1;
    inside_rows(s, in, t0, rows, &r0, &r1);
    /* Two shapes need no patch matrix where every tap reads stored frames
     * (im2col would copy one float per call for the first):
     *  - one input channel, a kernel one bin wide: output frame t is the
     *    kt x F block of input frames starting at t - pad_t, transposed,
     *    times the weight -- one sgemm per frame reading the frames in place;
     *  - one bin: a 1-D conv over channels is kt sgemms of shifted frame
     *    blocks, each with one time tap of the weight. */
    if (s->kf == 1 && s->pad_f == 0 && s->in_c == 1 && r1 > r0) {
        for (size_t r = r0; r < r1; r++) {
            const float *a = in->frames + (size_t)(t0 + (int64_t)r - (int64_t)s->pad_t - in->base) * frame;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)s->in_f, (int)s->out_c,
                        (int)s->kt, 1.0f, a, (int)s->in_f, weight, (int)s->kt, 1.0f,
                        out + r * out_f * s->out_c, (int)s->out_c);
        }
    } else if (s->kf == 1 && s->pad_f == 0 && s->in_f == 1 && r1 > r0) {
        for (size_t i = 0; i < s->kt; i++) {
            const float *a = in->frames +
                             (size_t)(t0 + (int64_t)r0 + (int64_t)i - (int64_t)s->pad_t - in->base) * frame;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), (int)s->out_c,
                        (int)s->in_c, 1.0f, a, (int)s->in_c, weight + i * s->in_c,
                        (int)(s->kt * s->in_c), 1.0f, out + r0 * s->out_c, (int)s->out_c);
        }
    } else {
        r0 = r1 = rows;     /* the general path for every row */
        tconv_im2col(s, in, t0, 0, rows, weight, col, out);
    }
    /* Rows that touch the stream's edges go the general way. */
    if (r0 < rows) {
        tconv_im2col(s, in, t0, 0, r0 < r1 ? r0 : rows, weight, col, out);
        if (r0 < r1)
            tconv_im2col(s, in, t0, r1, rows, weight, col, out);
    }
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
