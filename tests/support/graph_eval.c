/* Runs a version-2 model's graph on raw float32 frames and prints
 * probabilities (9 significant digits) so tests can compare libgenre with
 * PyTorch.
 *
 *   graph_eval [--threads N] MODEL FRAMES.f32
 *       the whole file as one window computed from scratch: one line
 *   graph_eval [--threads N] --stream PIECE --window W --hop H MODEL FRAMES.f32
 *       the frames pushed PIECE at a time as a stream; a window of W frames
 *       every H frames as soon as it is ready, then the stream's end and the
 *       windows that needed it: "start end p0 p1 ..." a line
 *
 * FRAMES.f32 holds [n][n_mels] normalised frames. */
#include "genre/graph.h"
#include "inspect.h"
#include "genre/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_probs(const float *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        printf(i ? " %.9g" : "%.9g", (double)p[i]);
    putchar('\n');
}

static float *read_frames(const char *path, size_t n_mels, size_t *n_frames)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t n = (size_t)bytes / (n_mels * sizeof(float));
    float *frames = malloc(n * n_mels * sizeof *frames + 1);
    if (!frames || fread(frames, sizeof *frames, n * n_mels, f) != n * n_mels) {
        fprintf(stderr, "%s: read error\n", path);
        free(frames);
        frames = NULL;
    }
    fclose(f);
    *n_frames = n;
    return frames;
}

int main(int argc, char **argv)
{
    size_t threads = 1, piece = 0, window = 0, hop = 0;
    genre_isa isa = GENRE_ISA_BEST;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        size_t v = strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--isa") == 0) {
            if ((isa = genre_isa_parse(argv[i + 1])) == GENRE_ISA_BEST)
                return 2;
            if (!genre_isa_available(isa)) {
                fprintf(stderr, "graph_eval: this CPU cannot run the %s kernels\n", argv[i + 1]);
                return 77;
            }
        } else if (strcmp(argv[i], "--threads") == 0) threads = v;
        else if (strcmp(argv[i], "--stream") == 0) piece = v;
        else if (strcmp(argv[i], "--window") == 0) window = v;
        else if (strcmp(argv[i], "--hop") == 0) hop = v;
        else break;
    }
    if (argc - i != 2 || (piece && (!window || !hop))) {
        fprintf(stderr, "usage: graph_eval [--isa SET] [--threads N] "
                        "[--stream PIECE --window W --hop H] MODEL FRAMES.f32\n");
        return 2;
    }
    char err[512];
    genre_model *m = genre_model_load(argv[i], err, sizeof err);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    genre_graph *g = genre_graph_new_isa(m, threads, isa, err, sizeof err);
    size_t n = 0, n_mels = m->frontend.n_mels;
    float *frames = g ? read_frames(argv[i + 1], n_mels, &n) : NULL;
    float *probs = malloc(m->n_labels * sizeof *probs);
    int status = 0;
    if (!g || !frames || !probs || n == 0) {
        fprintf(stderr, "%s\n", g ? "no frames" : err);
        status = 1;
    } else if (!piece) {
        if (genre_graph_run(g, frames, n, probs, err, sizeof err) == 0)
            print_probs(probs, m->n_labels);
        else
            status = 1;
    } else {
        uint64_t next_end = window < n ? window : n;
        size_t at = 0;
        while (status == 0) {
            if (at == n) {
                genre_graph_end(g);
            } else {
                size_t k = n - at < piece ? n - at : piece;
                status = genre_graph_push(g, frames + at * n_mels, k, err, sizeof err) ? 1 : 0;
                at += k;
            }
            while (status == 0 && next_end <= n && genre_graph_ready(g) >= next_end) {
                uint64_t start = next_end > window ? next_end - window : 0;
                if (genre_graph_window(g, start, next_end, probs, err, sizeof err)) {
                    status = 1;
                    break;
                }
                printf("%llu %llu ", (unsigned long long)start, (unsigned long long)next_end);
                print_probs(probs, m->n_labels);
                next_end += hop;
            }
            if (genre_graph_ready(g) == n && at == n)
                break;
        }
    }
    if (status && g)
        fprintf(stderr, "%s\n", err);
    free(frames);
    free(probs);
    genre_graph_del(g);
    genre_model_del(m);
    return status;
}
