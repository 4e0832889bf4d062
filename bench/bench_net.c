/* One-window inference time of a model's network on a fixed random
 * (normalised-looking) window, after a warm-up, timed run by run: for a
 * version-1 model genre_net_run, for a version-2 (graph) model
 * genre_graph_run on window_frames frames -- the window computed from
 * scratch (reset, push, end, pool), what a non-streaming engine computes.
 *
 *   bench_net [--runs N] [--warmup N] [--threads N] [--isa SET] [--window FILE.f32] MODEL.gmdl
 *
 * Prints the window shape, runs, median, p99, mean, min and max in ms, then
 * one JSON line with the keys of bench/ref_net.py and bench/ref_onnx.js:
 * {"threads", "runs", "median_ms", "p99_ms", "probs"} (probs of the timed
 * window).  --window reads the window (window_frames x n_mels little-endian
 * float32, as bench/run writes it) instead of making one.
 * --isa portable|avx2|avx512 runs the conv kernels of that instruction
 * set (src/lib/conv_kernel.h; default: the best this CPU runs, which is
 * printed).
 * --threads N gives the net N threads of its own (genre_net_new_threads,
 * genre_graph_new; default 1). */
#include "genre/graph.h"
#include "genre/model.h"
#include "genre/net.h"
#include "inspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *sorted, size_t n, double p)
{
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return sorted[(rank > n ? n : rank) - 1];
}

int main(int argc, char **argv)
{
    long runs = 300, warmup = 20, threads = 1;
    genre_isa isa = GENRE_ISA_BEST;
    const char *path = NULL, *window_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
            warmup = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            const char *name = argv[++i];
            if ((isa = genre_isa_parse(name)) == GENRE_ISA_BEST) {
                fprintf(stderr, "bench_net: unknown --isa %s\n", name);
                return 2;
            }
        } else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
            window_path = argv[++i];
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            path = NULL;
            break;
        }
    }
    if (!path || runs < 1 || runs > 1000000 || warmup < 0 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: bench_net [--runs N (>= 200 for a p99)] [--warmup N] "
                        "[--threads 1..64] [--isa SET] [--window FILE.f32] MODEL.gmdl\n");
        return 2;
    }
    char err[512];
    genre_model *m = genre_model_load(path, err, sizeof err);
    if (!m) {
        fprintf(stderr, "bench_net: %s\n", err);
        return 1;
    }
    genre_net *net = NULL;
    genre_graph *graph = NULL;
    if (m->n_nodes > 0)
        graph = genre_graph_new_isa(m, (size_t)threads, isa, err, sizeof err);
    else
        net = genre_net_new_isa(m, (size_t)threads, isa, err, sizeof err);
    if (!net && !graph) {
        fprintf(stderr, "bench_net: %s: %s\n", path, err);
        genre_model_del(m);
        return 1;
    }
    size_t n = (size_t)m->frontend.window_frames * m->frontend.n_mels;
    float *window = malloc(n * sizeof *window), *probs = malloc(m->n_labels * sizeof *probs);
    double *ms = malloc((size_t)runs * sizeof *ms);
    if (!window || !probs || !ms) {
        fprintf(stderr, "bench_net: out of memory\n");
        return 1;
    }
    /* Sum of uniforms: roughly unit-variance, like a normalised log-mel. */
    unsigned int seed = 12345;
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int k = 0; k < 3; k++)
            s += (float)rand_r(&seed) / (float)RAND_MAX - 0.5f;
        window[i] = 2.0f * s;
    }
    if (window_path) {
        FILE *f = fopen(window_path, "rb");
        size_t got = f ? fread(window, sizeof *window, n, f) : 0;
        int extra = f ? fgetc(f) : EOF;
        if (f)
            fclose(f);
        if (got != n || extra != EOF) {
            fprintf(stderr, "bench_net: %s: need exactly %zu floats (%u x %u)\n", window_path, n,
                    m->frontend.window_frames, m->frontend.n_mels);
            return 1;
        }
    }
    size_t frames = m->frontend.window_frames;
    for (long i = 0; i < warmup + runs; i++) {
        double t0 = now_ms();
        if (graph) {
            if (genre_graph_run(graph, window, frames, probs, err, sizeof err) != 0) {
                fprintf(stderr, "bench_net: %s: %s\n", path, err);
                return 1;
            }
        } else {
            genre_net_run(net, window, probs);
        }
        if (i >= warmup)
            ms[i - warmup] = now_ms() - t0;
    }
    double sum = 0;
    for (long i = 0; i < runs; i++)
        sum += ms[i];
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    printf("model %s: window %u x %u, %u %s, %u labels\n", path, m->frontend.window_frames,
           m->frontend.n_mels, graph ? m->n_nodes : m->n_layers,
           graph ? "graph nodes (version 2)" : "layers", m->n_labels);
    printf("net threads %ld, conv kernels %s, %ld warm-up + %ld runs\n", threads,
           genre_isa_name(isa == GENRE_ISA_BEST ? genre_isa_detect() : isa), warmup, runs);
    printf("median %.3f ms  p99 %.3f ms  mean %.3f ms  min %.3f ms  max %.3f ms\n",
           percentile(ms, (size_t)runs, 50), percentile(ms, (size_t)runs, 99), sum / (double)runs,
           ms[0], ms[runs - 1]);
    printf("{\"threads\": %ld, \"runs\": %ld, \"median_ms\": %.6f, \"p99_ms\": %.6f, \"probs\": [",
           threads, runs, percentile(ms, (size_t)runs, 50), percentile(ms, (size_t)runs, 99));
    for (uint32_t i = 0; i < m->n_labels; i++)
        printf(i ? ", %.9g" : "%.9g", (double)probs[i]);
    printf("]}\n");
    free(window);
    free(probs);
    free(ms);
    genre_net_del(net);
    genre_graph_del(graph);
    genre_model_del(m);
    return 0;
}
