/* Channel downmix: the mean keeps a mono-compatible mix at the same level as
 * its channels (a sum would clip correlated stereo). */
#include "genre/downmix.h"

void genre_downmix(const float *interleaved, size_t frames, int channels, float *mono)
{
    if (channels <= 1) {
        /* Mono input: a copy (or nothing, when the buffers alias). */
        if (mono != interleaved)
            for (size_t i = 0; i < frames; i++)
                mono[i] = interleaved[i];
        return;
    }
    if (channels == 2) {
        for (size_t i = 0; i < frames; i++)
            mono[i] = 0.5f * (interleaved[2 * i] + interleaved[2 * i + 1]);
        return;
    }
    const float scale = 1.0f / (float)channels;
    for (size_t i = 0; i < frames; i++) {
        const float *frame = interleaved + i * (size_t)channels;
        float sum = 0.0f;
        for (int c = 0; c < channels; c++)
            sum += frame[c];
        /* Reading frame i is finished before mono[i] is written, and
         * mono[i] <= frame start, so aliasing is safe. */
        mono[i] = sum * scale;
    }
}
