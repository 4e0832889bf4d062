/* bench_frontend: throughput of the audio front-end chain (downmix ->
 * resample 44.1 -> 16 kHz -> log-mel) in multiples of real time, on 60 s of
 * synthetic 44.1 kHz stereo; median of several runs.  Measures the chain
 * with the default resampler (polyphase) and with libsamplerate sample by
 * sample (the same conversion, the implementation before the polyphase
 * one), one line each.
 *   bench_frontend [RUNS]   (default 7) */
#include "genre/frontend.h"
#include "genre/pipeline.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define RATE 44100
#define SECONDS 60
#define CHUNK 1024  /* frames per push, a typical audio callback size */

static int count_frame(void *user, const float *frame)
{
    (void)frame;
    (*(size_t *)user)++;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 7;
    if (runs < 1 || runs > 100) {
        fprintf(stderr, "usage: bench_frontend [RUNS 1..100]\n");
        return 2;
    }
    const size_t n = (size_t)RATE * SECONDS;
    float *x = malloc(2 * n * sizeof *x);
    if (!x)
        return 1;
    /* Music-like content: a few tones, a sweep and noise (the front-end's
     * cost does not depend on content, but denormals would). */
    uint32_t seed = 1;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE;
        seed = seed * 1664525u + 1013904223u;
        float noise = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.05f;
        float music = (float)(0.2 * sin(2 * M_PI * 220.0 * t) + 0.1 * sin(2 * M_PI * 1760.0 * t) +
                              0.1 * sin(2 * M_PI * (100.0 + 50.0 * t) * t));
        x[2 * i] = music + noise;
        x[2 * i + 1] = 0.8f * music - noise;
    }
    genre_frontend_spec spec = genre_frontend_default_spec();
    const struct {
        genre_resampler_method method;
        const char *name;
    } methods[] = {{GENRE_RESAMPLER_AUTO, "polyphase"}, {GENRE_RESAMPLER_LIBSAMPLERATE, "libsamplerate"}};
    double *times = malloc((size_t)runs * sizeof *times);
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        char err[256];
        genre_pipeline *p = genre_pipeline_new_method(&spec, RATE, 2, methods[m].method, err, sizeof err);
        if (!p) {
            fprintf(stderr, "bench_frontend: %s\n", err);
            return 1;
        }
        size_t frames = 0;
        for (int r = 0; r < runs; r++) {
            genre_pipeline_reset(p);
            frames = 0;
            double t0 = now();
            for (size_t i = 0; i < n; i += CHUNK)
                genre_pipeline_push(p, x + 2 * i, n - i < CHUNK ? n - i : CHUNK, count_frame, &frames);
            genre_pipeline_flush(p, count_frame, &frames);
            times[r] = now() - t0;
        }
        qsort(times, (size_t)runs, sizeof *times, cmp_double);
        double median = runs % 2 ? times[runs / 2] : 0.5 * (times[runs / 2 - 1] + times[runs / 2]);
        printf("frontend+resampler (%s): %d s of 44.1 kHz stereo -> %zu frames in %.1f ms (median of %d) = %.0fx real time\n",
               methods[m].name, SECONDS, frames, 1e3 * median, runs, SECONDS / median);
        genre_pipeline_del(p);
    }
    free(times);
    free(x);
    return 0;
}
