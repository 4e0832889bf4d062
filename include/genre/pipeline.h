/* Audio in, log-mel frames out: downmix -> resample -> front-end.  The one
 * path used by genre-classify, genre-features and the daemon. */
#ifndef GENRE_PIPELINE_H
#define GENRE_PIPELINE_H

#include <stddef.h>
#include "genre/frontend.h"
#include "genre/resampler.h"

typedef struct genre_pipeline genre_pipeline;

/* in_rate/channels describe the interleaved float input. */
genre_pipeline *genre_pipeline_new(const genre_frontend_spec *spec, double in_rate, int channels,
                                   char *err, size_t errlen);
/* The same with a chosen resampler method (benchmarks compare them). */
genre_pipeline *genre_pipeline_new_method(const genre_frontend_spec *spec, double in_rate, int channels,
                                          genre_resampler_method method, char *err, size_t errlen);
/* For a caller that converts file after file: p reset when it already takes
 * in_rate/channels with this same spec object (and the default method), else
 * p deleted and a new pipeline made (NULL on error).  Setting up a resampler
 * measures its filter (up to tens of ms for 44.1 kHz), so reusing it pays. */
genre_pipeline *genre_pipeline_renew(genre_pipeline *p, const genre_frontend_spec *spec, double in_rate,
                                     int channels, char *err, size_t errlen);
/* frames interleaved frames (frames*channels floats); at most
 * GENRE_PIPELINE_MAX_CHUNK frames a call are processed without allocating
 * (larger inputs are split internally).  0, sink's value, or -1. */
int genre_pipeline_push(genre_pipeline *p, const float *interleaved, size_t frames,
                        genre_frame_sink sink, void *user);
/* End of input: drain the resampler. */
int genre_pipeline_flush(genre_pipeline *p, genre_frame_sink sink, void *user);
void genre_pipeline_reset(genre_pipeline *p);
void genre_pipeline_del(genre_pipeline *p);

#define GENRE_PIPELINE_MAX_CHUNK 4096

#endif
