/* Streaming sample-rate conversion over libsamplerate: any input rate, fed in
 * chunks of any size, to one output rate.  Files and live input use it the
 * same way so both see identical samples.  All buffers are allocated in
 * _new; _push and _flush never allocate. */
#ifndef GENRE_RESAMPLER_H
#define GENRE_RESAMPLER_H

#include <stddef.h>

/* Receives converted mono samples; return 0 to continue, non-zero to stop
 * (the value is passed back to the caller of _push/_flush). */
typedef int (*genre_sample_sink)(void *user, const float *samples, size_t n);

typedef struct genre_resampler genre_resampler;

genre_resampler *genre_resampler_new(double in_rate, double out_rate, char *err, size_t errlen);
/* Convert n mono input samples; converted output goes to sink in blocks.
 * Returns 0, a sink's non-zero value, or -1 on a libsamplerate error. */
int genre_resampler_push(genre_resampler *r, const float *in, size_t n,
                         genre_sample_sink sink, void *user);
/* End of input: drain what the filter still holds. */
int genre_resampler_flush(genre_resampler *r, genre_sample_sink sink, void *user);
/* Forget all state (e.g. after a device restart). */
void genre_resampler_reset(genre_resampler *r);
void genre_resampler_del(genre_resampler *r);

#endif
