/* Minimal assertions for the front-end tests (suite `frontend`): a failed
 * CHECK prints where and why, counts, and the test exits non-zero. */
#ifndef FRONTEND_CHECK_H
#define FRONTEND_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(counter, cond, ...)                                                   \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
            (*(counter))++;                                                         \
        }                                                                           \
    } while (0)

/* A genre_frame_sink that appends every frame to a growable array. */
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
