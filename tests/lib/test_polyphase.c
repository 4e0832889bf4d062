/* The polyphase resampler against libsamplerate itself: for every common
 * device and file rate -> 16 kHz, the default (polyphase) method must give
 * the same number of samples as libsamplerate's SINC_MEDIUM converter and
 * the same values to float rounding (max abs diff <= 2e-6 on a full-scale
 * test signal), floor(N * 16000 / rate) samples for N inputs (libsamplerate's
 * count too, except that where N * 16000 / rate is a whole number its
 * floating-point position may stop one sample short), however the input is chunked, for short streams too, and
 * again after a flush (the object is reusable).  Rates without a short
 * rational period must fall back to libsamplerate.  Pipelines renewed from
 * file to file (genre_pipeline_renew) give a fresh pipeline's frames. */
#include "check.h"
#include "collectors.h"
#include "genre/pipeline.h"
#include "genre/resampler.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 2e-6

static uint32_t next_random(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

/* Tones, a sweep up to the input's Nyquist and white noise: every part of
 * the filter's passband, transition band and stopband is exercised. */
static float *test_signal(double rate, size_t n)
{
    float *x = malloc(n * sizeof *x);
    uint32_t seed = 7;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        double sweep_hz = 0.5 * rate * (double)i / (double)n;
        double noise = (double)next_random(&seed) / 16777216.0 - 0.5;
        x[i] = (float)(0.3 * sin(2 * M_PI * 440.0 * t) + 0.2 * sin(2 * M_PI * 7000.0 * t) +
                       0.2 * sin(M_PI * sweep_hz * t) + 0.4 * noise);
    }
    return x;
}

/* Convert x with method, pushing chunks of pseudo-random size (seeded). */
static samples convert(genre_resampler *r, const float *x, size_t n, uint32_t chunk_seed, int *rc)
{
    samples out = {0};
    size_t i = 0;
    *rc = 0;
    while (i < n && *rc == 0) {
        size_t chunk = chunk_seed ? 1 + next_random(&chunk_seed) % 3000 : n;
        if (chunk > n - i)
            chunk = n - i;
        *rc = genre_resampler_push(r, x + i, chunk, collect_samples, &out);
        i += chunk;
    }
    if (*rc == 0)
        *rc = genre_resampler_flush(r, collect_samples, &out);
    return out;
}

static double max_abs_diff(const samples *a, const samples *b)
{
    double d = 0.0;
    for (size_t i = 0; i < a->n && i < b->n; i++)
        d = fmax(d, fabs((double)a->data[i] - (double)b->data[i]));
    return d;
}

static void compare_rate(double rate, size_t n)
{
    char err[256];
    genre_resampler *poly = genre_resampler_new(rate, 16000.0, err, sizeof err);
    genre_resampler *ref = genre_resampler_new_method(rate, 16000.0, GENRE_RESAMPLER_LIBSAMPLERATE, err, sizeof err);
    CHECK_MSG(poly && ref, "%g Hz: %s", rate, err);
    if (!poly || !ref)
        return;
    CHECK_MSG(strcmp(genre_resampler_kind(poly), "polyphase") == 0,
              "%g Hz: default method is %s, not polyphase", rate, genre_resampler_kind(poly));
    CHECK_MSG(strcmp(genre_resampler_kind(ref), "libsamplerate") == 0, "%g Hz: reference is %s",
              rate, genre_resampler_kind(ref));
    float *x = test_signal(rate, n);
    int rc_ref, rc_a, rc_b;
    samples want = convert(ref, x, n, 0, &rc_ref);
    samples got = convert(poly, x, n, 11, &rc_a);
    samples again = convert(poly, x, n, 12345, &rc_b); /* after flush, other chunking */
    CHECK_MSG(rc_ref == 0 && rc_a == 0 && rc_b == 0, "%g Hz: push/flush failed (%d %d %d)", rate,
              rc_ref, rc_a, rc_b);
    unsigned long long exact = (unsigned long long)n * 16000ULL, rate_int = (unsigned long long)rate;
    size_t count = (size_t)(exact / rate_int);
    CHECK_MSG(got.n == count, "%g Hz, %zu in: polyphase gave %zu samples, want %zu", rate, n, got.n, count);
    CHECK_MSG(again.n == count, "%g Hz, %zu in: reused polyphase gave %zu samples, want %zu", rate,
              n, again.n, count);
    CHECK_MSG(want.n == count || (exact % rate_int == 0 && want.n + 1 == count),
              "%g Hz, %zu in: libsamplerate gave %zu samples, polyphase %zu", rate, n, want.n, count);
    double d = max_abs_diff(&got, &want), d2 = max_abs_diff(&got, &again);
    CHECK_MSG(d <= TOLERANCE, "%g Hz, %zu in: max abs diff to libsamplerate %.3g > %.1g", rate, n,
              d, TOLERANCE);
    CHECK_MSG(d2 == 0.0, "%g Hz, %zu in: output depends on chunking or reuse (max abs diff %.3g)",
              rate, n, d2);
    if (n > 10000)
        printf("%8.0f Hz -> 16 kHz: %zu samples, max abs diff to libsamplerate %.2g\n", rate, got.n, d);
    free(want.data);
    free(got.data);
    free(again.data);
    free(x);
    genre_resampler_del(poly);
    genre_resampler_del(ref);
}

/* Frames of x (mono at rate) through p, in 1000-frame pushes. */
static frames pipeline_frames(genre_pipeline *p, const float *x, size_t n)
{
    frames f = {.n_mels = genre_frontend_default_spec().n_mels};
    for (size_t i = 0; i < n; i += 1000)
        genre_pipeline_push(p, x + i, n - i < 1000 ? n - i : 1000, collect_frames, &f);
    genre_pipeline_flush(p, collect_frames, &f);
    return f;
}

static int same_frames(const frames *a, const frames *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->data, b->data, a->n * a->n_mels * sizeof *a->data) == 0);
}

/* genre_pipeline_renew, as the tools use it from file to file: a reused
 * pipeline (same rate) and a replaced one (other rate) give exactly the
 * frames of a fresh pipeline, also after a stream that stopped midway. */
static void test_pipeline_renew(void)
{
    genre_frontend_spec spec = genre_frontend_default_spec();
    char err[256];
    float *x44 = test_signal(44100.0, 88200), *x48 = test_signal(48000.0, 96000);
    genre_pipeline *fresh44 = genre_pipeline_new(&spec, 44100.0, 1, err, sizeof err);
    genre_pipeline *fresh48 = genre_pipeline_new(&spec, 48000.0, 1, err, sizeof err);
    CHECK_MSG(fresh44 && fresh48, "%s", err);
    if (!fresh44 || !fresh48)
        return;
    frames want44 = pipeline_frames(fresh44, x44, 88200), want48 = pipeline_frames(fresh48, x48, 96000);
    CHECK_MSG(want44.n > 100 && want48.n > 100, "frames: %zu and %zu", want44.n, want48.n);

    genre_pipeline *p = genre_pipeline_renew(NULL, &spec, 44100.0, 1, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    frames scratch = {.n_mels = spec.n_mels};
    genre_pipeline_push(p, x48, 5000, collect_frames, &scratch); /* a file that failed midway */
    genre_pipeline *same = genre_pipeline_renew(p, &spec, 44100.0, 1, err, sizeof err);
    CHECK_MSG(same == p, "renew with the same format must reuse the pipeline");
    frames got44 = pipeline_frames(same, x44, 88200);
    CHECK_MSG(same_frames(&got44, &want44), "reused pipeline: %zu frames, want %zu, or other values", got44.n,
              want44.n);
    genre_pipeline *other = genre_pipeline_renew(same, &spec, 48000.0, 1, err, sizeof err);
    CHECK_MSG(other != NULL, "%s", err);
    frames got48 = pipeline_frames(other, x48, 96000);
    CHECK_MSG(same_frames(&got48, &want48), "renewed pipeline: %zu frames, want %zu, or other values", got48.n,
              want48.n);
    CHECK_MSG(genre_pipeline_renew(other, &spec, -1.0, 1, err, sizeof err) == NULL,
              "an invalid rate must be refused (and the old pipeline freed)");
    free(scratch.data);
    free(want44.data);
    free(want48.data);
    free(got44.data);
    free(got48.data);
    free(x44);
    free(x48);
    genre_pipeline_del(fresh44);
    genre_pipeline_del(fresh48);
}

int main(void)
{
    test_pipeline_renew();
    const double rates[] = {48000, 44100, 24000, 22050, 32000, 96000, 88200, 11025, 8000};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        compare_rate(rates[i], (size_t)(3.3 * rates[i]));
        /* Streams shorter than the filter: counts and the zero padding at both ends. */
        const size_t short_lengths[] = {0, 1, 2, 5, 100, 1001};
        for (size_t k = 0; k < sizeof short_lengths / sizeof short_lengths[0]; k++)
            compare_rate(rates[i], short_lengths[k]);
    }

    /* No short period: libsamplerate directly. */
    char err[256];
    genre_resampler *odd = genre_resampler_new(44100.5, 16000.0, err, sizeof err);
    CHECK_MSG(odd && strcmp(genre_resampler_kind(odd), "libsamplerate") == 0,
              "44100.5 Hz: want libsamplerate, got %s", odd ? genre_resampler_kind(odd) : err);
    genre_resampler_del(odd);
    genre_resampler *same = genre_resampler_new(16000.0, 16000.0, err, sizeof err);
    CHECK_MSG(same && strcmp(genre_resampler_kind(same), "pass-through") == 0, "16 kHz: want pass-through");
    genre_resampler_del(same);
    CHECK_MSG(!genre_resampler_new_method(48000.0, 16000.0, (genre_resampler_method)42, err, sizeof err),
              "an unknown method must be refused");

    return check_exit_status("test_polyphase");
}
