/* Streaming resampler.  The conversion is libsamplerate's
 * SRC_SINC_MEDIUM_QUALITY everywhere, so files and live input give the same
 * samples.  That converter recomputes every coefficient of every output by
 * interpolating its sinc table -- about 98 % of the front-end's time.  For a
 * rational ratio out/in = P/Q its coefficients repeat every P outputs, so
 * for short periods we measure them once (by running libsamplerate itself on
 * a train of impulses) and run the same filter as a polyphase FIR. */
#include "genre/resampler.h"
#include "genre/error.h"
#include "genre/polyphase.h"

#include <math.h>
#include <samplerate.h>
#include <stdlib.h>

/* Output is produced into a fixed block and handed to the sink whenever it
 * fills; 4096 samples keeps the block in L1/L2 and the sink calls rare. */
#define RESAMPLER_OUT_BLOCK 4096
#define RESAMPLER_MAX_IN ((size_t)1 << 20)
/* Longest ratio periods given a tap table: 44.1 -> 16 kHz is 160/441,
 * 88.2 -> 16 kHz 160/882, 11.025 -> 16 kHz 640/441. */
#define RESAMPLER_MAX_OUT_PERIOD 1024u
#define RESAMPLER_MAX_IN_PERIOD 2048u

struct genre_resampler {
    SRC_STATE *src;         /* libsamplerate method; NULL otherwise */
    genre_polyphase *poly;  /* polyphase method; NULL otherwise */
    double ratio;           /* out_rate / in_rate */
    float out[RESAMPLER_OUT_BLOCK];
    /* libsamplerate ignores end_of_input (and never drains) when data_in
     * is NULL, so flushing points it here with zero frames. */
    float no_input[1];
};

static unsigned long gcd(unsigned long a, unsigned long b)
{
    while (b) {
        unsigned long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Run libsamplerate over a whole signal, end of input included. */
static long convert_all(const float *in, long n, double ratio, float *out, long cap)
{
    int src_err = 0;
    SRC_STATE *s = src_new(SRC_SINC_MEDIUM_QUALITY, 1, &src_err);
    if (!s)
        return -1;
    long done = 0;
    for (;;) {
        SRC_DATA d = {.data_in = in, .data_out = out + done, .input_frames = n, .output_frames = cap - done,
                      .end_of_input = 1, .src_ratio = ratio};
        if (src_process(s, &d) != 0 || (d.output_frames_gen == 0 && d.input_frames_used == 0 && n > 0)) {
            done = -1;
            break;
        }
        in += d.input_frames_used;
        n -= d.input_frames_used;
        done += d.output_frames_gen;
        if ((n == 0 && d.output_frames_gen == 0) || done == cap)
            break;
    }
    src_delete(s);
    return done;
}

/* The polyphase equivalent of libsamplerate at ratio P/Q, or NULL when it
 * cannot be measured (the caller then uses libsamplerate directly). */
static genre_polyphase *measure_polyphase(unsigned P, unsigned Q)
{
    double ratio = (double)P / (double)Q;
    genre_polyphase *poly = NULL;

    /* 1. How far one input reaches: an impulse well inside a silent signal.
     * SINC_MEDIUM spans under 50 zero crossings each side; a crossing is Q/P
     * inputs apart when downsampling, one input when upsampling. */
    long reach = (long)ceil(80.0 * (Q > P ? (double)Q / P : 1.0)) + 8;
    long n1 = 2 * reach + 1;
    long cap1 = (long)ceil((double)n1 * ratio) + 16;
    float *x1 = calloc((size_t)n1, sizeof *x1), *y1 = calloc((size_t)cap1, sizeof *y1);
    float *x2 = NULL, *y2 = NULL, *taps = NULL;
    if (!x1 || !y1)
        goto done;
    x1[reach] = 1.0f;
    long got1 = convert_all(x1, n1, ratio, y1, cap1);
    if (got1 <= 0 || y1[0] != 0.0f || y1[got1 - 1] != 0.0f)
        goto done; /* response not contained: not the filter we know */
    double width = 0.0;
    for (long n = 0; n < got1; n++)
        if (y1[n] != 0.0f)
            width = fmax(width, fabs((double)reach - (double)n * Q / P));
    unsigned half = (unsigned)floor(width) + 1;
    unsigned n_taps = 2 * half + 2;

    /* 2. Every (row, tap) pair in one run: Q impulses G inputs apart, G
     * coprime with Q so their positions cover every residue mod Q, and
     * larger than a window so no output sees two impulses. */
    unsigned long G = n_taps + 2 * (Q / P + 1) + 1;
    while (gcd(G, Q) != 1)
        G++;
    long first = (long)n_taps + Q + 8;
    long n2 = first + (long)Q * (long)G + n_taps + Q + 8;
    long cap2 = (long)ceil((double)n2 * ratio) + 16;
    x2 = calloc((size_t)n2, sizeof *x2);
    y2 = calloc((size_t)cap2, sizeof *y2);
    taps = calloc((size_t)P * n_taps, sizeof *taps);
    if (!x2 || !y2 || !taps)
        goto done;
    for (unsigned k = 0; k < Q; k++)
        x2[first + (long)k * (long)G] = 1.0f;
    long got2 = convert_all(x2, n2, ratio, y2, cap2);
    if (got2 <= 0)
        goto done;
    size_t assigned = 0;
    for (unsigned k = 0; k < Q; k++) {
        long j = first + (long)k * (long)G;
        long lo = (j - (long)half - 2) * (long)P / (long)Q, hi = (j + (long)half + 2) * (long)P / (long)Q + 1;
        for (long n = lo < 0 ? 0 : lo; n <= hi && n < got2; n++) {
            long row = n % (long)P, period = n / (long)P;
            long start = period * (long)Q + row * (long)Q / (long)P - (long)half;
            long t = j - start;
            if (t >= 0 && t < (long)n_taps) {
                taps[(size_t)row * n_taps + (size_t)t] = y2[n];
                assigned++;
            }
        }
    }
    if (assigned == (size_t)P * n_taps)
        poly = genre_polyphase_new(P, Q, n_taps, half, taps, NULL, 0);
done:
    free(x1);
    free(y1);
    free(x2);
    free(y2);
    free(taps);
    return poly;
}

/* P/Q for integer rates with a short period, else 0. */
static int rational_ratio(double in_rate, double out_rate, unsigned *P, unsigned *Q)
{
    if (in_rate != floor(in_rate) || out_rate != floor(out_rate) || in_rate > 1e7 || out_rate > 1e7)
        return 0;
    unsigned long in = (unsigned long)in_rate, out = (unsigned long)out_rate, g = gcd(in, out);
    if (out / g > RESAMPLER_MAX_OUT_PERIOD || in / g > RESAMPLER_MAX_IN_PERIOD)
        return 0;
    *P = (unsigned)(out / g);
    *Q = (unsigned)(in / g);
    return 1;
}

genre_resampler *genre_resampler_new_method(double in_rate, double out_rate, genre_resampler_method method,
                                            char *err, size_t errlen)
{
    if (!(in_rate > 0.0) || !(out_rate > 0.0) || !isfinite(in_rate) || !isfinite(out_rate)) {
        genre_set_error(err, errlen, "resampler: invalid rates %g Hz -> %g Hz", in_rate, out_rate);
        return NULL;
    }
    if (method != GENRE_RESAMPLER_AUTO && method != GENRE_RESAMPLER_LIBSAMPLERATE) {
        genre_set_error(err, errlen, "resampler: unknown method %d", (int)method);
        return NULL;
    }
    double ratio = out_rate / in_rate;
    if (in_rate != out_rate && !src_is_valid_ratio(ratio)) {
        genre_set_error(err, errlen,
                        "resampler: cannot convert %g Hz to %g Hz (ratio %g outside libsamplerate's 1/256..256)",
                        in_rate, out_rate, ratio);
        return NULL;
    }
    genre_resampler *r = calloc(1, sizeof *r);
    if (!r) {
        genre_set_error(err, errlen, "resampler: out of memory");
        return NULL;
    }
    r->ratio = ratio;
    if (in_rate == out_rate)
        return r;
    unsigned P, Q;
    if (method == GENRE_RESAMPLER_AUTO && rational_ratio(in_rate, out_rate, &P, &Q))
        r->poly = measure_polyphase(P, Q);
    if (!r->poly) {
        int src_err = 0;
        r->src = src_new(SRC_SINC_MEDIUM_QUALITY, 1, &src_err);
        if (!r->src) {
            genre_set_error(err, errlen, "resampler: %s", src_strerror(src_err));
            free(r);
            return NULL;
        }
    }
    return r;
}

genre_resampler *genre_resampler_new(double in_rate, double out_rate, char *err, size_t errlen)
{
    return genre_resampler_new_method(in_rate, out_rate, GENRE_RESAMPLER_AUTO, err, errlen);
}

const char *genre_resampler_kind(const genre_resampler *r)
{
    if (!r)
        return "none";
    return r->poly ? "polyphase" : r->src ? "libsamplerate" : "pass-through";
}

/* One src_process pass loop: consumes all n input samples (or drains the
 * filter when end_of_input), sending every full or final block to the sink. */
static int run(genre_resampler *r, const float *in, size_t n, int end_of_input,
               genre_sample_sink sink, void *user)
{
    for (;;) {
        SRC_DATA d = {
            .data_in = in,
            .data_out = r->out,
            /* Bounded so the count fits libsamplerate's long on any ABI. */
            .input_frames = (long)(n > RESAMPLER_MAX_IN ? RESAMPLER_MAX_IN : n),
            .output_frames = RESAMPLER_OUT_BLOCK,
            .end_of_input = end_of_input,
            .src_ratio = r->ratio,
        };
        /* Never claim end of input while part of it is held back by the
         * clamp above. */
        if ((size_t)d.input_frames < n)
            d.end_of_input = 0;
        if (src_process(r->src, &d) != 0)
            return -1;
        in += d.input_frames_used;
        n -= (size_t)d.input_frames_used;
        if (d.output_frames_gen > 0) {
            int rc = sink(user, r->out, (size_t)d.output_frames_gen);
            if (rc)
                return rc;
        }
        if (n == 0 && (!end_of_input || d.output_frames_gen == 0))
            return 0;
        if (n > 0 && d.input_frames_used == 0 && d.output_frames_gen == 0)
            return -1; /* no progress: would loop forever */
    }
}

int genre_resampler_push(genre_resampler *r, const float *in, size_t n,
                         genre_sample_sink sink, void *user)
{
    if (!r || !sink || (n > 0 && !in))
        return -1;
    if (n == 0)
        return 0;
    if (r->poly)
        return genre_polyphase_push(r->poly, in, n, sink, user);
    if (!r->src)
        return sink(user, in, n); /* equal rates: the exact samples */
    return run(r, in, n, 0, sink, user);
}

int genre_resampler_flush(genre_resampler *r, genre_sample_sink sink, void *user)
{
    if (!r || !sink)
        return -1;
    if (r->poly)
        return genre_polyphase_flush(r->poly, sink, user);
    if (!r->src)
        return 0;
    int rc = run(r, r->no_input, 0, 1, sink, user);
    /* libsamplerate refuses further input after end_of_input until reset;
     * resetting here lets the same stream object be reused. */
    src_reset(r->src);
    return rc;
}

void genre_resampler_reset(genre_resampler *r)
{
    if (!r)
        return;
    genre_polyphase_reset(r->poly);
    if (r->src)
        src_reset(r->src);
}

void genre_resampler_del(genre_resampler *r)
{
    if (!r)
        return;
    genre_polyphase_del(r->poly);
    if (r->src)
        src_delete(r->src);
    free(r);
}
