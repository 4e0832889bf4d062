/* Downmix interleaved multi-channel float audio to mono (mean of channels). */
#ifndef GENRE_DOWNMIX_H
#define GENRE_DOWNMIX_H

#include <stddef.h>

/* mono[i] = mean over c of interleaved[i*channels + c]; mono may alias
 * interleaved (it is written front to back). */
void genre_downmix(const float *interleaved, size_t frames, int channels, float *mono);

#endif
