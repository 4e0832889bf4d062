/* The polyphase resampler against libsamplerate itself: for every common
 * device and file rate -> 16 kHz, the default (polyphase) method must give
 * the same number of samples as libsamplerate's SINC_MEDIUM converter and
 * the same values to float rounding (max abs diff <= 2e-6 on a full-scale
 * test signal), floor(N * 16000 / rate) samples for N inputs (libsamplerate's
 * count too, except that where N * 16000 / rate is a whole number its
 * floating-point position may stop one sample short), however the input is chunked, for short streams too, and
 * again after a flush (the object is reusable).  Rates without a short
 * rational period must fall back to libsamplerate. */
#include "check.h"
#include "collectors.h"
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

int main(void)
{
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
