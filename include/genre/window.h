/* Rolling window of the last `frames` log-mel frames, always readable as one
 * contiguous time-major block (frames x n_mels) without copying: each frame
 * is stored twice in a buffer of 2*frames rows. */
#ifndef GENRE_WINDOW_H
#define GENRE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

typedef struct genre_window genre_window;

genre_window *genre_window_new(size_t frames, size_t n_mels);
void genre_window_push(genre_window *w, const float *frame);
/* Frames pushed since creation/reset (saturates nowhere: 64-bit). */
uint64_t genre_window_count(const genre_window *w);
/* Non-zero once `frames` frames have been pushed. */
int genre_window_full(const genre_window *w);
/* The latest min(count, frames) frames, oldest first, contiguous; when not
 * yet full the missing older rows are the pad value given to _new (0). */
const float *genre_window_view(const genre_window *w);
void genre_window_reset(genre_window *w);
void genre_window_del(genre_window *w);

#endif
