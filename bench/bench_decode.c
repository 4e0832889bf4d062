/* Decode-only benchmark: every file read whole through genre_audiofile
 * (plain Ogg Opus by the direct decoder, src/lib/ogg_opus.c) and through
 * libsndfile alone, in alternating rounds; the samples are compared first.
 *
 *   bench_decode [--rounds N] FILE...
 *
 * Prints one JSON line: audio seconds, median seconds per round of each,
 * and whether every sample was identical. */
#include "genre/audiofile.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 4096
#define MAX_ROUNDS 64

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Frames of one file by genre_audiofile; with `keep`, the samples too. */
static long long read_genre(const char *path, float **keep, double *seconds)
{
    char err[512];
    genre_audiofile *f = genre_audiofile_open(path, err, sizeof err);
    if (!f) {
        fprintf(stderr, "bench_decode: %s\n", err);
        exit(1);
    }
    int ch = genre_audiofile_channels(f);
    size_t cap = 0;
    long long n = 0;
    float *buf = malloc((size_t)BLOCK * (size_t)ch * sizeof *buf);
    for (;;) {
        if (keep && (size_t)(n + BLOCK) * (size_t)ch > cap) {
            cap = cap ? 2 * cap : (size_t)1 << 20;
            *keep = realloc(*keep, cap * sizeof **keep);
        }
        float *to = keep ? *keep + (size_t)n * (size_t)ch : buf;
        ssize_t got = genre_audiofile_read(f, to, BLOCK, err, sizeof err);
        if (got < 0) {
            fprintf(stderr, "bench_decode: %s\n", err);
            exit(1);
        }
        if (got == 0)
            break;
        n += got;
    }
    if (seconds)
        *seconds = (double)n / genre_audiofile_rate(f);
    free(buf);
    genre_audiofile_close(f);
    return n * ch;
}

static long long read_sndfile(const char *path, float **keep)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        fprintf(stderr, "bench_decode: %s: %s\n", path, sf_strerror(NULL));
        exit(1);
    }
    size_t cap = 0;
    long long n = 0;
    float *buf = malloc((size_t)BLOCK * (size_t)info.channels * sizeof *buf);
    for (;;) {
        if (keep && (size_t)(n + BLOCK) * (size_t)info.channels > cap) {
            cap = cap ? 2 * cap : (size_t)1 << 20;
            *keep = realloc(*keep, cap * sizeof **keep);
        }
        float *to = keep ? *keep + (size_t)n * (size_t)info.channels : buf;
        sf_count_t got = sf_readf_float(sf, to, BLOCK);
        if (got <= 0)
            break;
        n += got;
    }
    free(buf);
    sf_close(sf);
    return n * info.channels;
}

int main(int argc, char **argv)
{
    int rounds = 5, first = 1;
    if (argc > 2 && strcmp(argv[1], "--rounds") == 0) {
        rounds = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: bench_decode [--rounds 1..%d] FILE...\n", MAX_ROUNDS);
        return 2;
    }
    /* Identical samples first: a faster decoder of other samples is no use. */
    double audio_s = 0;
    int identical = 1;
    for (int i = first; i < argc; i++) {
        float *a = NULL, *b = NULL;
        double s = 0;
        long long na = read_genre(argv[i], &a, &s), nb = read_sndfile(argv[i], &b);
        audio_s += s;
        if (na != nb || memcmp(a, b, (size_t)na * sizeof *a) != 0) {
            fprintf(stderr, "bench_decode: %s: samples differ (%lld vs %lld)\n", argv[i], na, nb);
            identical = 0;
        }
        free(a);
        free(b);
    }
    double t_genre[MAX_ROUNDS], t_sf[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        for (int i = first; i < argc; i++)
            read_genre(argv[i], NULL, NULL);
        double t1 = now();
        for (int i = first; i < argc; i++)
            read_sndfile(argv[i], NULL);
        t_genre[r] = t1 - t0;
        t_sf[r] = now() - t1;
    }
    qsort(t_genre, (size_t)rounds, sizeof *t_genre, cmp_double);
    qsort(t_sf, (size_t)rounds, sizeof *t_sf, cmp_double);
    printf("{\"files\":%d,\"audio_s\":%.3f,\"rounds\":%d,\"genre_s\":%.4f,\"sndfile_s\":%.4f,"
           "\"identical\":%s}\n",
           argc - first, audio_s, rounds, t_genre[rounds / 2], t_sf[rounds / 2],
           identical ? "true" : "false");
    return identical ? 0 : 1;
}
