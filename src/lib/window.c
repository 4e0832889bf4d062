/* Rolling frame window.  Every frame is written to row i and row i+frames
 * of a 2*frames-row buffer, so the latest `frames` rows always sit
 * contiguously at rows [pos, pos+frames): the network reads them in place. */
#include "genre/window.h"

#include <stdlib.h>
#include <string.h>

struct genre_window {
    size_t frames, n_mels;
    size_t pos;         /* row of the oldest frame in the view = next row to write */
    uint64_t count;
    float *rows;        /* 2 * frames * n_mels */
};

genre_window *genre_window_new(size_t frames, size_t n_mels)
{
    if (frames == 0 || n_mels == 0 || frames > SIZE_MAX / 2 / n_mels / sizeof(float))
        return NULL;
    genre_window *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->frames = frames;
    w->n_mels = n_mels;
    /* calloc: the rows not yet written read as the pad value 0. */
    w->rows = calloc(2 * frames * n_mels, sizeof *w->rows);
    if (!w->rows) {
        free(w);
        return NULL;
    }
    return w;
}

void genre_window_push(genre_window *w, const float *frame)
{
    if (!w || !frame)
        return;
    const size_t row_bytes = w->n_mels * sizeof *w->rows;
    memcpy(w->rows + w->pos * w->n_mels, frame, row_bytes);
    memcpy(w->rows + (w->pos + w->frames) * w->n_mels, frame, row_bytes);
    w->pos = (w->pos + 1) % w->frames;
    w->count++;
}

uint64_t genre_window_count(const genre_window *w)
{
    return w ? w->count : 0;
}

int genre_window_full(const genre_window *w)
{
    return w && w->count >= w->frames;
}

const float *genre_window_view(const genre_window *w)
{
    return w ? w->rows + w->pos * w->n_mels : NULL;
}

void genre_window_reset(genre_window *w)
{
    if (!w)
        return;
    memset(w->rows, 0, 2 * w->frames * w->n_mels * sizeof *w->rows);
    w->pos = 0;
    w->count = 0;
}

void genre_window_del(genre_window *w)
{
    if (!w)
        return;
    free(w->rows);
    free(w);
}
