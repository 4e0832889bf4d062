/* Sinks for the front-end tests (suite `frontend`) that append what they
 * are given to a growable array: samples (a genre_sample_sink's) or
 * whole log-mel frames (a genre_frame_sink's).  Out of memory aborts. */
#ifndef GENRE_TEST_COLLECTORS_H
#define GENRE_TEST_COLLECTORS_H

#include <stdlib.h>
#include <string.h>

typedef struct samples {
    float *data;
    size_t n, cap;
} samples;

static inline int collect_samples(void *user, const float *x, size_t n)
{
    samples *s = user;
    if (s->n + n > s->cap) {
        while (s->n + n > s->cap)
            s->cap = s->cap ? 2 * s->cap : 4096;
        s->data = realloc(s->data, s->cap * sizeof *s->data);
        if (!s->data)
            abort();
    }
    memcpy(s->data + s->n, x, n * sizeof *x);
    s->n += n;
    return 0;
}

typedef struct frames {
    float *data;
    size_t n, cap, n_mels;
} frames;

static inline int collect_frames(void *user, const float *frame)
{
    frames *f = user;
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->data = realloc(f->data, f->cap * f->n_mels * sizeof *f->data);
        if (!f->data)
            abort();
    }
    memcpy(f->data + f->n * f->n_mels, frame, f->n_mels * sizeof *frame);
    f->n++;
    return 0;
}

#endif
