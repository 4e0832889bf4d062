/* The convolutional network of a model: conv2d (libgenre's own vector
 * kernels, src/lib/conv_kernel.h; batch norm already folded in by the
 * exporter), ReLU, max-pool, global mean+max
 * pooling, dense, softmax.  Every buffer is allocated in _new; _run does no
 * allocation.  One genre_net is used by one thread at a time; several nets
 * may share one model. */
#ifndef GENRE_NET_H
#define GENRE_NET_H

#include <stddef.h>
#include "genre/model.h"

typedef struct genre_net genre_net;

/* Validates the layer list against the input shape [1][window_frames][n_mels]
 * and the label count; NULL with a reason on any mismatch. */
genre_net *genre_net_new(const genre_model *model, char *err, size_t errlen);
/* The same with `threads` (1..64) threads per window, the caller's
 * included: each conv layer's output rows are handed out in blocks to
 * whichever thread is free (genre/pool.h), so a thread that does not get a
 * core delays the window by at most one block.  The result does not depend
 * on the thread count, and is the same on every AVX2 or AVX-512 machine.  threads = 1 is genre_net_new. */
genre_net *genre_net_new_threads(const genre_model *model, size_t threads, char *err,
                                 size_t errlen);
/* Threads per window this net was made with. */
size_t genre_net_threads(const genre_net *net);
/* window: window_frames x n_mels floats, time-major (normalised log-mel).
 * probs: n_labels floats, summing to 1.  Returns 0. */
int genre_net_run(genre_net *net, const float *window, float *probs);
/* Output size of the last layer (== n_labels for a valid model). */
size_t genre_net_output_size(const genre_net *net);
void genre_net_del(genre_net *net);

#endif
