/* Streaming sample-rate conversion: any input rate, fed in chunks of any
 * size, to one output rate.  Files and live input use it the same way so
 * both see identical samples.  All buffers are allocated in _new; _push and
 * _flush never allocate.
 *
 * The conversion is defined as libsamplerate's SRC_SINC_MEDIUM_QUALITY.
 * For the usual rates (integers whose ratio has a short period: 48, 44.1,
 * 24, 22.05, 8 kHz, ...) the default method measures that converter's
 * response once, in _new, into a polyphase tap table (genre/polyphase.h)
 * and then runs plain dot products: the same output to float rounding, at
 * a fraction of the cost.  Other ratios use libsamplerate directly. */
#ifndef GENRE_RESAMPLER_H
#define GENRE_RESAMPLER_H

#include "genre/sample_sink.h"

#include <stddef.h>

typedef struct genre_resampler genre_resampler;

typedef enum {
    GENRE_RESAMPLER_AUTO,           /* polyphase table where the ratio allows, else libsamplerate */
    GENRE_RESAMPLER_LIBSAMPLERATE,  /* libsamplerate sample by sample (the reference, and before/after) */
} genre_resampler_method;

/* Same as _new_method(..., GENRE_RESAMPLER_AUTO, ...). */
genre_resampler *genre_resampler_new(double in_rate, double out_rate, char *err, size_t errlen);
genre_resampler *genre_resampler_new_method(double in_rate, double out_rate, genre_resampler_method method,
                                            char *err, size_t errlen);
/* What runs: "pass-through", "libsamplerate" or "polyphase". */
const char *genre_resampler_kind(const genre_resampler *r);
/* Convert n mono input samples; converted output goes to sink in blocks.
 * Returns 0, a sink's non-zero value, or -1 on a converter error. */
int genre_resampler_push(genre_resampler *r, const float *in, size_t n,
                         genre_sample_sink sink, void *user);
/* End of input: drain what the filter still holds. */
int genre_resampler_flush(genre_resampler *r, genre_sample_sink sink, void *user);
/* Forget all state (e.g. after a device restart). */
void genre_resampler_reset(genre_resampler *r);
void genre_resampler_del(genre_resampler *r);

#endif
