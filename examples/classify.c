/* The genre of an audio file through libgenre's public API: every 10-s
 * window (hop 5 s) and the mean over the windows, as genre-classify does.
 *
 *   cc classify.c $(pkg-config --cflags --libs genre) -o classify
 *   ./classify /usr/share/genred/models/genre.gmdl song.flac
 *
 * Output: one line per window, "START END GENRE CONFIDENCE", then
 * "file: GENRE CONFIDENCE".  Exit status 0, or 1 with a message. */
#include <genre/genre.h>

#include <stdio.h>
#include <stdlib.h>

#define CHUNK_FRAMES 4096

typedef struct totals {
    const genre_model *model;
    double *sum;                /* per label, over the windows */
    size_t windows;
} totals;

static size_t best_of(const float *p, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (p[i] > p[best])
            best = i;
    return best;
}

/* Called by the stream for each window, in order. */
static int on_window(void *user, const genre_stream_window *w)
{
    totals *t = user;
    size_t n = t->model->n_labels;
    size_t best = best_of(w->probs, n);
    printf("%8.3f %8.3f %-12s %.3f\n", w->start_s, w->end_s, t->model->labels[best],
           w->probs[best]);
    for (size_t i = 0; i < n; i++)
        t->sum[i] += w->probs[i];
    t->windows++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL AUDIO\n", argv[0]);
        return 2;
    }
    char err[256];
    int status = 1;
    genre_model *model = genre_model_load(argv[1], err, sizeof err);
    if (!model) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    genre_audiofile *file = genre_audiofile_open(argv[2], err, sizeof err);
    genre_stream *stream = NULL;
    float *buf = NULL;
    totals t = {model, calloc(model->n_labels, sizeof(double)), 0};
    if (!file) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    int channels = genre_audiofile_channels(file);
    /* Windows every half window: 5 s for the shipped models. */
    stream = genre_stream_new(model, genre_audiofile_rate(file), channels,
                              model->frontend.window_frames / 2, 1, err, sizeof err);
    buf = malloc(sizeof(float) * CHUNK_FRAMES * (size_t)channels);
    if (!stream || !buf || !t.sum) {
        fprintf(stderr, "%s\n", stream ? "out of memory" : err);
        goto out;
    }
    ssize_t n;
    while ((n = genre_audiofile_read(file, buf, CHUNK_FRAMES, err, sizeof err)) > 0) {
        if (genre_stream_push(stream, buf, (size_t)n, on_window, &t) < 0) {
            fprintf(stderr, "%s\n", genre_stream_error(stream));
            goto out;
        }
    }
    if (n < 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    if (genre_stream_finish(stream, on_window, &t) < 0) {
        fprintf(stderr, "%s\n", genre_stream_error(stream));
        goto out;
    }
    if (t.windows > 0) {
        size_t best = 0;
        for (size_t i = 1; i < model->n_labels; i++)
            if (t.sum[i] > t.sum[best])
                best = i;
        printf("file: %s %.3f\n", model->labels[best], t.sum[best] / (double)t.windows);
        status = 0;
    }
out:
    free(buf);
    free(t.sum);
    genre_stream_del(stream);
    genre_audiofile_close(file);
    genre_model_del(model);
    return status;
}
