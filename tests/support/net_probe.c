/* Test probe for the training tests: shows what libgenre reads from a model
 * file and runs its network on windows the caller prepared.
 *
 *   net_probe info MODEL
 *       every field the C loader decoded, one per line: front-end values,
 *       normalisation, labels, layers with parameters and weights (as C99
 *       hex floats, so a comparison is exact), then the provenance text.
 *   net_probe run MODEL WINDOWS.f32
 *       WINDOWS.f32: raw little-endian float32, K windows of window_frames x
 *       n_mels already normalised values (time-major); prints K lines of
 *       n_labels probabilities (%.9g).
 *
 * The Python tests (tests/test_train_*.py) compare this against PyTorch and
 * against what train/export.py meant to write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genre/model.h"
#include "genre/net.h"

static void print_floats(const char *name, const float *v, size_t n)
{
    printf("%s %zu", name, n);
    for (size_t i = 0; i < n; i++)
        printf(" %a", (double)v[i]);
    putchar('\n');
}

static int print_info(const genre_model *m)
{
    const genre_frontend_spec *fe = &m->frontend;
    printf("format_version %u\n", (unsigned)m->format_version);
    printf("sample_rate %u\nn_fft %u\nhop %u\nwindow %u\nn_mels %u\n", (unsigned)fe->sample_rate,
           (unsigned)fe->n_fft, (unsigned)fe->hop, (unsigned)fe->stft_window, (unsigned)fe->n_mels);
    printf("fmin %a\nfmax %a\nmel_scale %u\nlog_offset %a\nwindow_frames %u\n", (double)fe->fmin,
           (double)fe->fmax, (unsigned)fe->mel_scale, (double)fe->log_offset, (unsigned)fe->window_frames);
    if (fe->norm_mean == NULL || fe->norm_std == NULL) {
        printf("norm none\n");
    } else {
        print_floats("norm_mean", fe->norm_mean, fe->n_mels);
        print_floats("norm_std", fe->norm_std, fe->n_mels);
    }
    printf("labels %u\n", (unsigned)m->n_labels);
    for (uint32_t i = 0; i < m->n_labels; i++)
        printf("label %u %s\n", (unsigned)i, m->labels[i]);
    printf("layers %u\n", (unsigned)m->n_layers);
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const genre_layer *l = &m->layers[i];
        printf("layer %u %u", (unsigned)i, (unsigned)l->type);
        for (int k = 0; k < GENRE_LAYER_PARAMS; k++)
            printf(" %u", (unsigned)l->p[k]);
        putchar('\n');
        if (l->weight != NULL)
            print_floats("weight", l->weight, l->weight_len);
        if (l->bias != NULL)
            print_floats("bias", l->bias, l->bias_len);
    }
    /* The provenance text last: everything after this line is META. */
    printf("meta\n%s", m->meta ? m->meta : "");
    return 0;
}

static int run_windows(const genre_model *m, const char *path)
{
    char err[256];
    genre_net *net = genre_net_new(m, err, sizeof err);
    if (net == NULL) {
        fprintf(stderr, "net_probe: %s\n", err);
        return 1;
    }
    size_t per_window = (size_t)m->frontend.window_frames * m->frontend.n_mels;
    size_t n_out = genre_net_output_size(net);
    float *window = malloc(per_window * sizeof *window);
    float *probs = malloc(n_out * sizeof *probs);
    FILE *in = fopen(path, "rb");
    int rc = 0;
    if (window == NULL || probs == NULL || in == NULL) {
        fprintf(stderr, "net_probe: %s: %s\n", path, in == NULL ? "cannot open" : "out of memory");
        rc = 1;
        goto done;
    }
    size_t got;
    size_t count = 0;
    while ((got = fread(window, sizeof *window, per_window, in)) == per_window) {
        genre_net_run(net, window, probs);
        for (size_t k = 0; k < n_out; k++)
            printf(k ? " %.9g" : "%.9g", (double)probs[k]);
        putchar('\n');
        count++;
    }
    if (got != 0 || count == 0) {
        fprintf(stderr, "net_probe: %s: size is not a whole, non-zero number of %zu-float windows\n",
                path, per_window);
        rc = 1;
    }
done:
    if (in != NULL)
        fclose(in);
    free(window);
    free(probs);
    genre_net_del(net);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "info") != 0 && strcmp(argv[1], "run") != 0) ||
        (strcmp(argv[1], "run") == 0 && argc != 4) || (strcmp(argv[1], "info") == 0 && argc != 3)) {
        fprintf(stderr, "usage: net_probe info MODEL | net_probe run MODEL WINDOWS.f32\n");
        return 2;
    }
    char err[256];
    genre_model *m = genre_model_load(argv[2], err, sizeof err);
    if (m == NULL) {
        fprintf(stderr, "net_probe: %s: %s\n", argv[2], err);
        return 1;
    }
    int rc = strcmp(argv[1], "info") == 0 ? print_info(m) : run_windows(m, argv[3]);
    genre_model_del(m);
    return rc;
}
