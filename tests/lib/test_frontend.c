/* Front-end checks that need no reference implementation: a pure tone lands
 * in the band whose centre is nearest, frame counts and timing follow the
 * definition, bad specs are refused with a useful message, normalisation
 * is applied, and the rolling window and downmix behave as documented. */
#include "check.h"
#include "collectors.h"
#include "genre/downmix.h"
#include "inspect.h"
#include "genre/frontend.h"
#include "genre/window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double slaney_mel(double f)
{
    return f < 1000.0 ? 3.0 * f / 200.0 : 15.0 + log(f / 1000.0) / (log(6.4) / 27.0);
}

static double slaney_hz(double m)
{
    return m < 15.0 ? 200.0 * m / 3.0 : 1000.0 * exp((m - 15.0) * log(6.4) / 27.0);
}

static void test_tones(void)
{
    genre_frontend_spec spec = genre_frontend_default_spec();
    char err[256];
    genre_frontend *fe = genre_frontend_new(&spec, err, sizeof err);
    CHECK_MSG(fe != NULL, "%s", err);
    if (!fe)
        return;
    const double tones[] = {440.0, 1000.0, 3000.0, 5500.0};
    const size_t n = 16000;
    float *x = malloc(n * sizeof *x);
    const double m_hi = slaney_mel(spec.fmax);
    for (size_t t = 0; t < sizeof tones / sizeof tones[0]; t++) {
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(0.5 * sin(2.0 * M_PI * tones[t] * (double)i / spec.sample_rate));
        frames got = {.n_mels = spec.n_mels};
        genre_frontend_reset(fe);
        genre_frontend_push(fe, x, n, collect_frames, &got);
        /* argmax of the mean log-mel over all frames */
        size_t best = 0;
        double best_v = -INFINITY;
        for (size_t b = 0; b < spec.n_mels; b++) {
            double s = 0.0;
            for (size_t k = 0; k < got.n; k++)
                s += got.data[k * spec.n_mels + b];
            if (s > best_v) {
                best_v = s;
                best = b;
            }
        }
        /* band b peaks at f_{b+1} */
        size_t nearest = 0;
        double nearest_d = INFINITY;
        for (size_t b = 0; b < spec.n_mels; b++) {
            double centre = slaney_hz(m_hi * (double)(b + 1) / (spec.n_mels + 1));
            if (fabs(centre - tones[t]) < nearest_d) {
                nearest_d = fabs(centre - tones[t]);
                nearest = b;
            }
        }
        CHECK_MSG(best == nearest, "%.0f Hz tone: argmax band %zu, nearest centre band %zu",
                  tones[t], best, nearest);
        free(got.data);
    }
    free(x);
    genre_frontend_del(fe);
}

/* Frames appear exactly at n_fft, n_fft+hop, ... samples. */
static void test_frame_timing(void)
{
    genre_frontend_spec spec = genre_frontend_default_spec();
    genre_frontend *fe = genre_frontend_new(&spec, NULL, 0);
    CHECK_MSG(fe != NULL, "default spec refused");
    if (!fe)
        return;
    float zero[1] = {0.0f};
    frames got = {.n_mels = spec.n_mels};
    size_t first_at = 0, second_at = 0;
    for (size_t i = 1; i <= 2000; i++) {
        genre_frontend_push(fe, zero, 1, collect_frames, &got);
        if (got.n == 1 && !first_at)
            first_at = i;
        if (got.n == 2 && !second_at)
            second_at = i;
    }
    CHECK_MSG(first_at == spec.n_fft, "first frame after %zu samples", first_at);
    CHECK_MSG(second_at == spec.n_fft + spec.hop, "second frame after %zu samples", second_at);
    /* N samples give floor((N - n_fft)/hop) + 1 frames */
    CHECK_MSG(got.n == (2000 - spec.n_fft) / spec.hop + 1, "%zu frames from 2000 samples", got.n);
    /* silence: every band is ln(log_offset) */
    CHECK_MSG(fabsf(got.data[5] - logf(spec.log_offset)) < 1e-6f, "silence gives %g", got.data[5]);
    /* 160000 samples = exactly window_frames */
    CHECK_MSG((160000 - spec.n_fft) / spec.hop + 1 == spec.window_frames, "10 s is not %u frames",
              spec.window_frames);
    free(got.data);
    genre_frontend_del(fe);
}

static void expect_refused(const genre_frontend_spec *spec, const char *needle,
                           const char *what)
{
    char err[256] = "";
    genre_frontend *fe = genre_frontend_new(spec, err, sizeof err);
    CHECK_MSG(fe == NULL, "%s accepted", what);
    CHECK_MSG(strstr(err, needle) != NULL, "%s: message '%s' lacks '%s'", what, err, needle);
    genre_frontend_del(fe);
}

static void test_bad_specs(void)
{
    const genre_frontend_spec def = genre_frontend_default_spec();
    genre_frontend_spec s;
    s = def; s.n_mels = 256;
    expect_refused(&s, "band", "256 mels at n_fft 512");
    s = def; s.n_mels = 256;
    char err[256] = "";
    genre_frontend_new(&s, err, sizeof err);
    CHECK_MSG(strstr(err, "fewer mels") && strstr(err, "larger n_fft"), "no advice in '%s'", err);
    s = def; s.fmax = 9000.0f;
    expect_refused(&s, "Nyquist", "fmax above Nyquist");
    s = def; s.fmin = 5000.0f; s.fmax = 4000.0f;
    expect_refused(&s, "fmin", "fmin > fmax");
    s = def; s.n_fft = 511;
    expect_refused(&s, "n_fft", "odd n_fft");
    s = def; s.hop = 0;
    expect_refused(&s, "hop", "hop 0");
    s = def; s.hop = 1024;
    expect_refused(&s, "hop", "hop > n_fft");
    s = def; s.stft_window = 7;
    expect_refused(&s, "window", "window kind 7");
    s = def; s.mel_scale = 0;
    expect_refused(&s, "mel scale", "mel scale 0");
    s = def; s.log_offset = 0.0f;
    expect_refused(&s, "log_offset", "log_offset 0");
    s = def; s.sample_rate = 0;
    expect_refused(&s, "sample_rate", "rate 0");
    s = def; s.fmax = NAN;
    expect_refused(&s, "fmax", "NaN fmax");

    float mean[96] = {0}, std[96];
    for (int b = 0; b < 96; b++)
        std[b] = 1.0f;
    s = def; s.norm_mean = mean;
    expect_refused(&s, "both", "mean without std");
    std[17] = 0.0f;
    s = def; s.norm_mean = mean; s.norm_std = std;
    expect_refused(&s, "norm_std[17]", "std 0");
    std[17] = INFINITY;
    expect_refused(&s, "norm_std[17]", "std inf");
    std[17] = 1.0f;
    mean[3] = NAN;
    expect_refused(&s, "norm_mean[3]", "NaN mean");
    expect_refused(NULL, "spec", "NULL spec");
}

static void test_normalisation(void)
{
    genre_frontend_spec raw = genre_frontend_default_spec();
    float mean[96], std[96];
    for (int b = 0; b < 96; b++) {
        mean[b] = -3.0f + 0.05f * (float)b;
        std[b] = 0.5f + 0.01f * (float)b;
    }
    genre_frontend_spec normed = raw;
    normed.norm_mean = mean;
    normed.norm_std = std;
    genre_frontend *a = genre_frontend_new(&raw, NULL, 0), *b = genre_frontend_new(&normed, NULL, 0);
    CHECK_MSG(a && b, "spec refused");
    if (!a || !b)
        return;
    /* The front-end copies the vectors: changing ours afterwards has no effect. */
    mean[0] = 1000.0f;
    float x[2048];
    uint32_t seed = 12345;
    for (size_t i = 0; i < 2048; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    frames fa = {.n_mels = 96}, fb = {.n_mels = 96};
    genre_frontend_push(a, x, 2048, collect_frames, &fa);
    genre_frontend_push(b, x, 2048, collect_frames, &fb);
    CHECK_MSG(fa.n == fb.n && fa.n == 7, "%zu vs %zu frames", fa.n, fb.n);
    float worst = 0.0f;
    for (size_t i = 0; i < fa.n * 96; i++) {
        size_t band = i % 96;
        float m = band == 0 ? -3.0f : -3.0f + 0.05f * (float)band;
        float want = (fa.data[i] - m) / (0.5f + 0.01f * (float)band);
        worst = fmaxf(worst, fabsf(want - fb.data[i]));
    }
    CHECK_MSG(worst < 1e-5f, "normalisation off by %g", worst);
    const genre_frontend_spec *got = genre_frontend_get_spec(b);
    CHECK_MSG(got->norm_mean && got->norm_mean != mean && got->norm_mean[0] == -3.0f,
              "get_spec does not return the copied mean");
    CHECK_MSG(got->norm_std && got->norm_std[95] == std[95], "get_spec std wrong");
    free(fa.data);
    free(fb.data);
    genre_frontend_del(a);
    genre_frontend_del(b);
}

/* A sink's non-zero value stops the push and is returned. */
static int stop_at_second(void *user, const float *frame)
{
    (void)frame;
    return ++*(int *)user == 2 ? 42 : 0;
}

static void test_sink_stop(void)
{
    genre_frontend_spec spec = genre_frontend_default_spec();
    genre_frontend *fe = genre_frontend_new(&spec, NULL, 0);
    if (!fe) {
        CHECK_MSG(0, "default spec refused");
        return;
    }
    float *x = calloc(4096, sizeof *x);
    int seen = 0;
    int rc = genre_frontend_push(fe, x, 4096, stop_at_second, &seen);
    CHECK_MSG(rc == 42 && seen == 2, "rc %d after %d frames", rc, seen);
    CHECK_MSG(genre_frontend_push(NULL, x, 1, stop_at_second, &seen) == -1, "NULL front-end");
    free(x);
    genre_frontend_del(fe);
}

static void test_window(void)
{
    const size_t frames = 5, mels = 3;
    genre_window *w = genre_window_new(frames, mels);
    CHECK_MSG(w != NULL, "window_new failed");
    CHECK_MSG(genre_window_new(0, 3) == NULL && genre_window_new(3, 0) == NULL, "accepted size 0");
    if (!w)
        return;
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < 13; k++) {
            float frame[3] = {(float)k, (float)k + 0.25f, (float)k + 0.5f};
            genre_window_push(w, frame);
            const float *v = genre_window_view(w);
            size_t count = k + 1;
            CHECK_MSG(genre_window_count(w) == count, "count %llu", (unsigned long long)genre_window_count(w));
            CHECK_MSG(!genre_window_full(w) == (count < frames), "full flag at %zu", count);
            for (size_t r = 0; r < frames; r++) {
                /* row r holds frame count-frames+r, or padding */
                long want = (long)count - (long)frames + (long)r;
                for (size_t m = 0; m < mels; m++) {
                    float expect = want < 0 ? 0.0f : (float)want + 0.25f * (float)m;
                    CHECK_MSG(v[r * mels + m] == expect, "round %d push %zu row %zu: %g != %g", round,
                              k, r, v[r * mels + m], expect);
                }
            }
        }
        genre_window_reset(w);
        CHECK_MSG(genre_window_count(w) == 0 && !genre_window_full(w), "reset");
    }
    genre_window_del(w);
}

static void test_downmix(void)
{
    float st[8] = {1, 3, -1, -3, 0.5f, 0.5f, 2, 0};
    float mono[4];
    genre_downmix(st, 4, 2, mono);
    CHECK_MSG(mono[0] == 2 && mono[1] == -2 && mono[2] == 0.5f && mono[3] == 1, "stereo mean");
    float six[12] = {1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6};
    genre_downmix(six, 2, 6, six); /* in place */
    CHECK_MSG(fabsf(six[0] - 3.5f) < 1e-6f && fabsf(six[1] - 6.0f) < 1e-6f, "6-channel in place");
    float one[3] = {1, 2, 3}, out[3];
    genre_downmix(one, 3, 1, out);
    CHECK_MSG(out[0] == 1 && out[2] == 3, "mono copy");
}

int main(void)
{
    test_tones();
    test_frame_timing();
    test_bad_specs();
    test_normalisation();
    test_sink_stop();
    test_window();
    test_downmix();
    return check_exit_status("test_frontend");
}
