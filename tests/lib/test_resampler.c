/* Resampler and pipeline checks: a tone keeps its frequency through 22.05,
 * 44.1 and 48 kHz -> 16 kHz conversion (within 0.5 %) and its level; equal
 * rates pass samples through exactly; the output does not depend on how the
 * input is chunked (bit-identical frames for chunks of 1, 7, 4096 and
 * 10000 frames, the last above GENRE_PIPELINE_MAX_CHUNK). */
#include "check.h"
#include "collectors.h"
#include "genre/pipeline.h"
#include "genre/resampler.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Mean frequency from upward zero crossings, interpolated linearly, over
 * x[from..to). */
static double zero_crossing_hz(const float *x, size_t from, size_t to, double rate)
{
    double first = -1.0, last = -1.0;
    size_t crossings = 0;
    for (size_t i = from + 1; i < to; i++) {
        if (x[i - 1] < 0.0f && x[i] >= 0.0f) {
            double t = (double)(i - 1) + (double)x[i - 1] / (double)(x[i - 1] - x[i]);
            if (first < 0.0)
                first = t;
            last = t;
            crossings++;
        }
    }
    if (crossings < 2)
        return 0.0;
    return (double)(crossings - 1) * rate / (last - first);
}

static void test_tone_rates(void)
{
    const double rates[] = {22050.0, 44100.0, 48000.0, 24000.0};
    const double tones[] = {440.0, 1000.0, 3000.0};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        for (size_t t = 0; t < sizeof tones / sizeof tones[0]; t++) {
            char err[256];
            genre_resampler *rs = genre_resampler_new(rates[r], 16000.0, err, sizeof err);
            CHECK_MSG(rs != NULL, "%s", err);
            if (!rs)
                continue;
            const size_t n = (size_t)rates[r] * 2; /* 2 s */
            float *x = malloc(n * sizeof *x);
            for (size_t i = 0; i < n; i++)
                x[i] = (float)(0.5 * sin(2.0 * M_PI * tones[t] * (double)i / rates[r]));
            samples out = {0};
            int rc = 0;
            for (size_t i = 0; i < n && rc == 0; i += 1000)
                rc = genre_resampler_push(rs, x + i, n - i < 1000 ? n - i : 1000, collect_samples, &out);
            rc |= genre_resampler_flush(rs, collect_samples, &out);
            CHECK_MSG(rc == 0, "push/flush returned %d", rc);
            /* the whole input comes out, at the new rate (within the filter's rounding) */
            double want_len = (double)n * 16000.0 / rates[r];
            CHECK_MSG(fabs((double)out.n - want_len) <= 2.0, "%.0f Hz: %zu samples out, expected %.1f",
                      rates[r], out.n, want_len);
            /* skip the filter's start-up and tail */
            double hz = zero_crossing_hz(out.data, 1000, out.n - 1000, 16000.0);
            CHECK_MSG(fabs(hz - tones[t]) <= 0.005 * tones[t], "%.0f Hz tone at %.0f Hz in -> %.3f Hz",
                      tones[t], rates[r], hz);
            double sum2 = 0.0;
            for (size_t i = 1000; i < out.n - 1000; i++)
                sum2 += (double)out.data[i] * out.data[i];
            double rms = sqrt(sum2 / (double)(out.n - 2000));
            CHECK_MSG(fabs(rms - 0.5 / sqrt(2.0)) < 0.01 * 0.5 / sqrt(2.0), "%.0f Hz at %.0f Hz: rms %.5f",
                      tones[t], rates[r], rms);
            free(out.data);
            free(x);
            genre_resampler_del(rs);
        }
    }
}

static void test_pass_through(void)
{
    genre_resampler *rs = genre_resampler_new(16000.0, 16000.0, NULL, 0);
    CHECK_MSG(rs != NULL, "16k -> 16k refused");
    if (!rs)
        return;
    float x[1000];
    for (int i = 0; i < 1000; i++)
        x[i] = sinf((float)i * 0.37f) * 0.9f;
    samples out = {0};
    genre_resampler_push(rs, x, 333, collect_samples, &out);
    genre_resampler_push(rs, x + 333, 667, collect_samples, &out);
    genre_resampler_flush(rs, collect_samples, &out);
    CHECK_MSG(out.n == 1000 && memcmp(out.data, x, sizeof x) == 0, "pass-through not exact (%zu)", out.n);
    free(out.data);
    genre_resampler_del(rs);
}

static void test_bad_rates(void)
{
    char err[256] = "";
    CHECK_MSG(genre_resampler_new(0.0, 16000.0, err, sizeof err) == NULL, "rate 0 accepted");
    CHECK_MSG(strstr(err, "rate") != NULL, "message '%s'", err);
    CHECK_MSG(genre_resampler_new(NAN, 16000.0, err, sizeof err) == NULL, "NaN rate accepted");
    CHECK_MSG(genre_resampler_new(16000.0 * 1000, 16000.0, err, sizeof err) == NULL, "ratio 1/1000 accepted");
    CHECK_MSG(strstr(err, "ratio") != NULL, "message '%s'", err);
    genre_frontend_spec spec = genre_frontend_default_spec();
    CHECK_MSG(genre_pipeline_new(&spec, 44100.0, 0, err, sizeof err) == NULL, "0 channels accepted");
    CHECK_MSG(strstr(err, "channels") != NULL, "message '%s'", err);
}

static void run_chunked(genre_pipeline *p, const float *x, size_t n_frames, int channels, size_t chunk,
                        frames *out)
{
    genre_pipeline_reset(p);
    for (size_t i = 0; i < n_frames; i += chunk) {
        size_t m = n_frames - i < chunk ? n_frames - i : chunk;
        genre_pipeline_push(p, x + i * (size_t)channels, m, collect_frames, out);
    }
    genre_pipeline_flush(p, collect_frames, out);
}

static void test_chunk_independence(void)
{
    genre_frontend_spec spec = genre_frontend_default_spec();
    const double rate = 44100.0;
    const size_t n = 3 * 44100;
    float *x = malloc(2 * n * sizeof *x);
    uint32_t seed = 99;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        seed = seed * 1664525u + 1013904223u;
        float noise = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.1f;
        /* chirp 100 Hz -> 7 kHz on the left, noise + tone on the right */
        x[2 * i] = (float)(0.4 * sin(2.0 * M_PI * (100.0 * t + 0.5 * (6900.0 / 3.0) * t * t)));
        x[2 * i + 1] = noise + (float)(0.3 * sin(2.0 * M_PI * 1234.5 * t));
    }
    char err[256];
    genre_pipeline *p = genre_pipeline_new(&spec, rate, 2, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (!p) {
        free(x);
        return;
    }
    const size_t chunks[] = {4096, 1, 7, 10000};
    frames ref = {.n_mels = spec.n_mels};
    run_chunked(p, x, n, 2, chunks[0], &ref);
    /* 3 s at 16 kHz = 48000 samples -> (48000-512)/256+1 = 186 frames */
    CHECK_MSG(ref.n == 186, "%zu frames from 3 s", ref.n);
    for (size_t c = 1; c < sizeof chunks / sizeof chunks[0]; c++) {
        frames got = {.n_mels = spec.n_mels};
        run_chunked(p, x, n, 2, chunks[c], &got);
        CHECK_MSG(got.n == ref.n && memcmp(got.data, ref.data, ref.n * spec.n_mels * sizeof(float)) == 0,
                  "chunks of %zu: %zu frames, not bit-identical to chunks of 4096", chunks[c], got.n);
        free(got.data);
    }
    free(ref.data);
    genre_pipeline_del(p);
    free(x);
}

int main(void)
{
    test_tone_rates();
    test_pass_through();
    test_bad_rates();
    test_chunk_independence();
    return check_exit_status("test_resampler");
}
