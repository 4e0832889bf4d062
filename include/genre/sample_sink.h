/* The callback through which streaming stages (resampler, polyphase filter)
 * hand on their output samples. */
#ifndef GENRE_SAMPLE_SINK_H
#define GENRE_SAMPLE_SINK_H

#include <stddef.h>

/* Receives converted mono samples; return 0 to continue, non-zero to stop
 * (the value is passed back to the caller of _push/_flush). */
typedef int (*genre_sample_sink)(void *user, const float *samples, size_t n);

#endif
