/* Runs a model's network on raw float32 windows and prints the
 * probabilities, one window a line (9 significant digits), so tests can
 * compare the C engine with PyTorch.
 * Usage: net_eval [--isa SET] MODEL WINDOWS.f32   (the file holds k whole windows)
 * --isa portable|avx2|avx512: the conv kernels of that instruction set
 * (exit 77 when this CPU cannot run them). */
#include "genre/model.h"
#include "genre/net.h"
#include "inspect.h"

#include <string.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    genre_isa isa = GENRE_ISA_BEST;
    if (argc == 5 && strcmp(argv[1], "--isa") == 0) {
        isa = genre_isa_parse(argv[2]);
        if (isa == GENRE_ISA_BEST)
            return 2;
        if (!genre_isa_available(isa)) {
            fprintf(stderr, "net_eval: this CPU cannot run the %s kernels\n", argv[2]);
            return 77;
        }
        argv += 2;
        argc -= 2;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: net_eval [--isa SET] MODEL WINDOWS.f32\n");
        return 2;
    }
    char err[512];
    genre_model *m = genre_model_load(argv[1], err, sizeof err);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    genre_net *net = genre_net_new_isa(m, 1, isa, err, sizeof err);
    if (!net) {
        fprintf(stderr, "%s\n", err);
        genre_model_del(m);
        return 1;
    }
    size_t n = (size_t)m->frontend.window_frames * m->frontend.n_mels;
    float *window = malloc(n * sizeof *window), *probs = malloc(m->n_labels * sizeof *probs);
    FILE *f = fopen(argv[2], "rb");
    int status = 0, windows = 0;
    if (!f || !window || !probs) {
        perror(argv[2]);
        status = 1;
    }
    while (status == 0 && fread(window, sizeof *window, n, f) == n) {
        genre_net_run(net, window, probs);
        for (uint32_t i = 0; i < m->n_labels; i++)
            printf(i ? " %.9g" : "%.9g", (double)probs[i]);
        putchar('\n');
        windows++;
    }
    if (f)
        fclose(f);
    if (status == 0 && windows == 0) {
        fprintf(stderr, "%s: no whole window of %zu floats\n", argv[2], n);
        status = 1;
    }
    free(window);
    free(probs);
    genre_net_del(net);
    genre_model_del(m);
    return status;
}
