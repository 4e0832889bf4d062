/* Streaming rational-ratio FIR resampler (polyphase form).
 *
 * For every in_period input samples it produces out_period output samples.
 * Output n reads the n_taps inputs starting at floor(n * in_period /
 * out_period) - half, weighted by row (n mod out_period) of the tap table;
 * inputs before the first one are zero.  After N inputs and a flush it has
 * produced floor(N * out_period / in_period) outputs -- the count and the
 * alignment libsamplerate uses, so a table measured from libsamplerate
 * (genre/resampler.h) reproduces it.  Buffers are allocated in _new; _push
 * and _flush never allocate. */
#ifndef GENRE_POLYPHASE_H
#define GENRE_POLYPHASE_H

#include "genre/sample_sink.h"

#include <stddef.h>

typedef struct genre_polyphase genre_polyphase;

/* taps: out_period rows of n_taps coefficients (copied). */
genre_polyphase *genre_polyphase_new(unsigned out_period, unsigned in_period, unsigned n_taps,
                                     unsigned half, const float *taps, char *err, size_t errlen);
/* Filter n input samples; output goes to sink in blocks.  Returns 0 or the
 * sink's non-zero value (-1 on invalid arguments). */
int genre_polyphase_push(genre_polyphase *f, const float *in, size_t n, genre_sample_sink sink, void *user);
/* End of input: pad with zeros until every output is out, then reset so the
 * object can take a new stream. */
int genre_polyphase_flush(genre_polyphase *f, genre_sample_sink sink, void *user);
void genre_polyphase_reset(genre_polyphase *f);
void genre_polyphase_del(genre_polyphase *f);

#endif
