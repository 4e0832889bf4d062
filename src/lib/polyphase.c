/* Polyphase FIR resampler: each output is one dot product of a precomputed
 * tap row with a contiguous run of inputs, so the inner loop is a plain
 * vectorisable multiply-add with no per-sample coefficient arithmetic. */
#include "genre/polyphase.h"
#include "genre/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Tap rows are padded with zeros to a multiple of this, so the dot product
 * runs whole vector steps (4 accumulators of 4 floats). */
#define POLYPHASE_TAP_ALIGN 16
/* Inputs taken per refill of the history buffer, and outputs per sink call. */
#define POLYPHASE_IN_BLOCK 4096
#define POLYPHASE_OUT_BLOCK 4096
/* The table is built once per stream; beyond this the ratio's period is
 * too long for a table to pay (callers fall back to libsamplerate). */
#define POLYPHASE_MAX_TABLE ((size_t)1 << 22)

struct genre_polyphase {
    unsigned out_period, in_period;
    unsigned half;          /* taps before the output's input position */
    unsigned stride;        /* tap row length, padded */
    float *taps;            /* out_period rows of stride */
    long long *row_start;   /* per row: window start relative to m * in_period */
    float *buf;             /* input history, buf[0] is input number origin */
    size_t cap, fill;
    long long origin;
    unsigned long long period;  /* m of the next output n = m * out_period + row */
    unsigned row;
    unsigned long long total_in, produced;
    size_t out_fill;
    float out[POLYPHASE_OUT_BLOCK];
};

#if defined(__GNUC__)
typedef float v4f __attribute__((vector_size(16)));

/* n is a multiple of POLYPHASE_TAP_ALIGN. */
static float dot(const float *a, const float *b, unsigned n)
{
    v4f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    for (unsigned i = 0; i < n; i += 16) {
        v4f a0, a1, a2, a3, b0, b1, b2, b3;
        /* memcpy: unaligned loads of the input history, no aliasing games. */
        memcpy(&a0, a + i, sizeof a0);
        memcpy(&a1, a + i + 4, sizeof a1);
        memcpy(&a2, a + i + 8, sizeof a2);
        memcpy(&a3, a + i + 12, sizeof a3);
        memcpy(&b0, b + i, sizeof b0);
        memcpy(&b1, b + i + 4, sizeof b1);
        memcpy(&b2, b + i + 8, sizeof b2);
        memcpy(&b3, b + i + 12, sizeof b3);
        s0 += a0 * b0;
        s1 += a1 * b1;
        s2 += a2 * b2;
        s3 += a3 * b3;
    }
    v4f s = (s0 + s1) + (s2 + s3);
    return (s[0] + s[2]) + (s[1] + s[3]);
}
#else
static float dot(const float *a, const float *b, unsigned n)
{
    float s[4] = {0};
    for (unsigned i = 0; i < n; i += 4)
        for (unsigned k = 0; k < 4; k++)
            s[k] += a[i + k] * b[i + k];
    return (s[0] + s[2]) + (s[1] + s[3]);
}
#endif

genre_polyphase *genre_polyphase_new(unsigned out_period, unsigned in_period, unsigned n_taps,
                                     unsigned half, const float *taps, char *err, size_t errlen)
{
    if (!out_period || !in_period || !n_taps || !taps || half >= n_taps) {
        genre_set_error(err, errlen, "polyphase: invalid filter (%u/%u, %u taps, half %u)",
                        out_period, in_period, n_taps, half);
        return NULL;
    }
    unsigned stride = (n_taps + POLYPHASE_TAP_ALIGN - 1) / POLYPHASE_TAP_ALIGN * POLYPHASE_TAP_ALIGN;
    if ((size_t)out_period * stride > POLYPHASE_MAX_TABLE) {
        genre_set_error(err, errlen, "polyphase: %u rows of %u taps is too large a table", out_period, stride);
        return NULL;
    }
    genre_polyphase *f = calloc(1, sizeof *f);
    if (!f) {
        genre_set_error(err, errlen, "polyphase: out of memory");
        return NULL;
    }
    f->out_period = out_period;
    f->in_period = in_period;
    f->half = half;
    f->stride = stride;
    /* Room for one full window, a refill block, and one period's step. */
    f->cap = (size_t)stride + POLYPHASE_IN_BLOCK + in_period;
    f->taps = calloc((size_t)out_period * stride, sizeof *f->taps);
    f->row_start = calloc(out_period, sizeof *f->row_start);
    f->buf = calloc(f->cap, sizeof *f->buf);
    if (!f->taps || !f->row_start || !f->buf) {
        genre_polyphase_del(f);
        genre_set_error(err, errlen, "polyphase: out of memory");
        return NULL;
    }
    for (unsigned p = 0; p < out_period; p++) {
        memcpy(f->taps + (size_t)p * stride, taps + (size_t)p * n_taps, n_taps * sizeof *taps);
        f->row_start[p] = (long long)((unsigned long long)p * in_period / out_period) - (long long)half;
    }
    genre_polyphase_reset(f);
    return f;
}

void genre_polyphase_reset(genre_polyphase *f)
{
    if (!f)
        return;
    /* The inputs before the first are zeros, held as `half` real zeros so
     * the first windows need no special case. */
    memset(f->buf, 0, f->half * sizeof *f->buf);
    f->fill = f->half;
    f->origin = -(long long)f->half;
    f->period = 0;
    f->row = 0;
    f->total_in = 0;
    f->produced = 0;
    f->out_fill = 0;
}

static long long window_start(const genre_polyphase *f)
{
    return (long long)(f->period * f->in_period) + f->row_start[f->row];
}

static int emit_block(genre_polyphase *f, genre_sample_sink sink, void *user)
{
    size_t n = f->out_fill;
    f->out_fill = 0;
    return n ? sink(user, f->out, n) : 0;
}

/* Produce every output whose window is complete in the buffer (at most
 * `limit` in all since the stream began). */
static int produce(genre_polyphase *f, unsigned long long limit, genre_sample_sink sink, void *user)
{
    long long end = f->origin + (long long)f->fill;
    for (;;) {
        long long w = window_start(f);
        if (w + (long long)f->stride > end || f->produced >= limit)
            return 0;
        f->out[f->out_fill++] = dot(f->buf + (w - f->origin), f->taps + (size_t)f->row * f->stride, f->stride);
        f->produced++;
        if (++f->row == f->out_period) {
            f->row = 0;
            f->period++;
        }
        if (f->out_fill == POLYPHASE_OUT_BLOCK) {
            int rc = emit_block(f, sink, user);
            if (rc)
                return rc;
        }
    }
}

/* Drop inputs no later output reads, making room at the end. */
static void compact(genre_polyphase *f)
{
    long long keep_from = window_start(f);
    size_t drop = (size_t)(keep_from - f->origin);
    if (drop == 0)
        return;
    memmove(f->buf, f->buf + drop, (f->fill - drop) * sizeof *f->buf);
    f->fill -= drop;
    f->origin = keep_from;
}

/* Append n inputs (zeros when in is NULL), producing as the buffer fills. */
static int feed(genre_polyphase *f, const float *in, size_t n, unsigned long long limit,
                genre_sample_sink sink, void *user)
{
    while (n > 0) {
        if (f->cap - f->fill < POLYPHASE_IN_BLOCK)
            compact(f);
        size_t take = f->cap - f->fill;
        if (take > n)
            take = n;
        if (in) {
            memcpy(f->buf + f->fill, in, take * sizeof *in);
            in += take;
        } else {
            memset(f->buf + f->fill, 0, take * sizeof *f->buf);
        }
        f->fill += take;
        n -= take;
        int rc = produce(f, limit, sink, user);
        if (rc)
            return rc;
    }
    return 0;
}

int genre_polyphase_push(genre_polyphase *f, const float *in, size_t n, genre_sample_sink sink, void *user)
{
    if (!f || !sink || (n > 0 && !in))
        return -1;
    f->total_in += n;
    int rc = feed(f, in, n, ~0ULL, sink, user);
    return rc ? rc : emit_block(f, sink, user);
}

int genre_polyphase_flush(genre_polyphase *f, genre_sample_sink sink, void *user)
{
    if (!f || !sink)
        return -1;
    unsigned long long target = f->total_in * f->out_period / f->in_period;
    /* Enough zeros to complete the last output's window. */
    int rc = 0;
    while (rc == 0 && f->produced < target)
        rc = feed(f, NULL, POLYPHASE_IN_BLOCK, target, sink, user);
    if (rc == 0)
        rc = emit_block(f, sink, user);
    genre_polyphase_reset(f);
    return rc;
}

void genre_polyphase_del(genre_polyphase *f)
{
    if (!f)
        return;
    free(f->taps);
    free(f->row_start);
    free(f->buf);
    free(f);
}
