/* dump_frontend: test helper for test_frontend_numpy.py.  Decodes an audio file and
 * writes, as .npy float32:
 *   PREFIX.signal.npy  the mono signal at spec.sample_rate after downmix and
 *                      resampling (downmix + genre_resampler, no front-end)
 *   PREFIX.frames.npy  [frames, n_mels] from genre_pipeline (the real path)
 *   PREFIX.mel.npy     [n_mels, n_fft/2+1] the front-end's mel matrix
 * so that the reference can be run on exactly the samples the C front-end
 * saw.
 *   dump_frontend [--htk] [--area] [--mels N] [--n-fft N] [--hop N] [--fmin HZ]
 *                 [--fmax HZ] [--log-offset X] INPUT PREFIX */
#include "genre/audiofile.h"
#include "inspect.h"
#include "genre/downmix.h"
#include "genre/frontend.h"
#include "genre/npy.h"
#include "genre/pipeline.h"
#include "genre/resampler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct growable {
    float *data;
    size_t n, cap;      /* floats */
} growable;

static int append(growable *g, const float *x, size_t n)
{
    if (g->n + n > g->cap) {
        size_t cap = g->cap ? g->cap : 65536;
        while (g->n + n > cap)
            cap *= 2;
        float *np = realloc(g->data, cap * sizeof *np);
        if (!np)
            return 1;
        g->data = np;
        g->cap = cap;
    }
    memcpy(g->data + g->n, x, n * sizeof *x);
    g->n += n;
    return 0;
}

static int on_samples(void *user, const float *x, size_t n) { return append(user, x, n); }

typedef struct frame_sink_ctx {
    growable g;
    size_t n_mels;
} frame_sink_ctx;

static int on_frame(void *user, const float *frame)
{
    frame_sink_ctx *c = user;
    return append(&c->g, frame, c->n_mels);
}

static int save(const char *prefix, const char *suffix, const float *data, size_t rows, size_t cols)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s.%s.npy", prefix, suffix);
    size_t shape[2] = {rows, cols};
    if (genre_npy_save_f32(path, data, shape, cols ? 2 : 1, err, sizeof err) != 0) {
        fprintf(stderr, "dump_frontend: %s\n", err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    genre_frontend_spec spec = genre_frontend_default_spec();
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--htk") == 0) {
            spec.mel_scale = GENRE_MEL_HTK;
            continue;
        }
        if (strcmp(opt, "--area") == 0) {
            spec.mel_norm = GENRE_MEL_NORM_AREA;
            continue;
        }
        if (i + 1 >= argc)
            break;
        const char *val = argv[++i];
        if (strcmp(opt, "--mels") == 0) spec.n_mels = (uint32_t)atoi(val);
        else if (strcmp(opt, "--n-fft") == 0) spec.n_fft = (uint32_t)atoi(val);
        else if (strcmp(opt, "--hop") == 0) spec.hop = (uint32_t)atoi(val);
        else if (strcmp(opt, "--fmin") == 0) spec.fmin = strtof(val, NULL);
        else if (strcmp(opt, "--fmax") == 0) spec.fmax = strtof(val, NULL);
        else if (strcmp(opt, "--log-offset") == 0) spec.log_offset = strtof(val, NULL);
        else {
            fprintf(stderr, "dump_frontend: unknown option %s\n", opt);
            return 2;
        }
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: dump_frontend [--htk] [--area] [--mels N] [--n-fft N] [--hop N] [--fmin HZ] "
                        "[--fmax HZ] [--log-offset X] INPUT PREFIX\n");
        return 2;
    }
    const char *input = argv[i], *prefix = argv[i + 1];
    char err[512];
    genre_audiofile *af = genre_audiofile_open(input, err, sizeof err);
    if (!af) {
        fprintf(stderr, "dump_frontend: %s\n", err);
        return 1;
    }
    const int channels = genre_audiofile_channels(af);
    const double rate = genre_audiofile_rate(af);
    genre_pipeline *p = genre_pipeline_new(&spec, rate, channels, err, sizeof err);
    genre_resampler *rs = genre_resampler_new(rate, spec.sample_rate, err, sizeof err);
    genre_frontend *fe = genre_frontend_new(&spec, err, sizeof err);
    if (!p || !rs || !fe) {
        fprintf(stderr, "dump_frontend: %s\n", err);
        return 1;
    }
    /* Odd read size on purpose: the pipeline must not care. */
    const size_t block = 3001;
    float *buf = malloc(block * (size_t)channels * sizeof *buf);
    float *mono = malloc(block * sizeof *mono);
    growable signal = {0};
    frame_sink_ctx frames = {.n_mels = spec.n_mels};
    int rc = 0;
    for (;;) {
        ssize_t got = genre_audiofile_read(af, buf, block, err, sizeof err);
        if (got < 0) {
            fprintf(stderr, "dump_frontend: %s\n", err);
            return 1;
        }
        if (got == 0)
            break;
        rc |= genre_pipeline_push(p, buf, (size_t)got, on_frame, &frames);
        genre_downmix(buf, (size_t)got, channels, mono);
        rc |= genre_resampler_push(rs, mono, (size_t)got, on_samples, &signal);
    }
    rc |= genre_pipeline_flush(p, on_frame, &frames);
    rc |= genre_resampler_flush(rs, on_samples, &signal);
    if (rc) {
        fprintf(stderr, "dump_frontend: processing failed\n");
        return 1;
    }
    const size_t n_bins = spec.n_fft / 2 + 1;
    if (save(prefix, "signal", signal.data, signal.n, 0) || save(prefix, "frames", frames.g.data,
                                                                    frames.g.n / spec.n_mels, spec.n_mels) ||
        save(prefix, "mel", genre_frontend_mel_matrix(fe), spec.n_mels, n_bins))
        return 1;
    printf("%s: %g Hz x %d -> %zu samples, %zu frames\n", input, rate, channels, signal.n,
           frames.g.n / spec.n_mels);
    free(signal.data);
    free(frames.g.data);
    free(buf);
    free(mono);
    genre_frontend_del(fe);
    genre_resampler_del(rs);
    genre_pipeline_del(p);
    genre_audiofile_close(af);
    return 0;
}
