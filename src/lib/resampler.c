/* Streaming resampler over libsamplerate.  One converter type for every use
 * (SRC_SINC_MEDIUM_QUALITY) so files and live input give the same samples. */
#include "genre/resampler.h"
#include "genre/error.h"

#include <math.h>
#include <samplerate.h>
#include <stdlib.h>

/* Output is produced into a fixed block and handed to the sink whenever it
 * fills; 4096 samples keeps the block in L1/L2 and the sink calls rare. */
#define RESAMPLER_OUT_BLOCK 4096
#define RESAMPLER_MAX_IN ((size_t)1 << 20)

struct genre_resampler {
    SRC_STATE *src;         /* NULL when the rates are equal (pass-through) */
    double ratio;           /* out_rate / in_rate */
    float out[RESAMPLER_OUT_BLOCK];
    /* libsamplerate ignores end_of_input (and never drains) when data_in
     * is NULL, so flushing points it here with zero frames. */
    float no_input[1];
};

genre_resampler *genre_resampler_new(double in_rate, double out_rate, char *err, size_t errlen)
{
    if (!(in_rate > 0.0) || !(out_rate > 0.0) || !isfinite(in_rate) || !isfinite(out_rate)) {
        genre_set_error(err, errlen, "resampler: invalid rates %g Hz -> %g Hz", in_rate, out_rate);
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
    if (in_rate != out_rate) {
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
    if (!r->src)
        return sink(user, in, n); /* equal rates: the exact samples */
    return run(r, in, n, 0, sink, user);
}

int genre_resampler_flush(genre_resampler *r, genre_sample_sink sink, void *user)
{
    if (!r || !sink)
        return -1;
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
    if (r && r->src)
        src_reset(r->src);
}

void genre_resampler_del(genre_resampler *r)
{
    if (!r)
        return;
    if (r->src)
        src_delete(r->src);
    free(r);
}
