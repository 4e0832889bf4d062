/* The network of a version-2 model (a graph, doc/model-format.md) run as a
 * streaming network.
 *
 * Every node before a time_maxmean works frame by frame ("same" padding in
 * time), so its output for a frame depends only on the frames around it.
 * genre_graph computes each frame of those nodes once, when the frame and
 * the look-ahead its convolutions need have arrived, and keeps what later
 * frames and windows still need in per-node buffers.  A window result then
 * costs only the pooling over the window's frames and what follows it.
 * Outside the stream (before its first frame, after its end once
 * genre_graph_end is called) every convolution's input is zero, so a whole
 * stream computed this way equals the network run on all of it at once with
 * zero padding -- the definition training and PyTorch use.
 *
 * Usage:
 *     genre_graph *g = genre_graph_new(model, 1, err, sizeof err);
 *     genre_graph_push(g, frames, n);              // normalised front-end frames
 *     if (genre_graph_ready(g) >= end)
 *         genre_graph_window(g, end - w, end, probs, err, sizeof err);
 *     ...
 *     genre_graph_end(g);                          // a file's end: zeros after it
 *     genre_graph_del(g);
 *
 * The convolutions run on libgenre's own vector kernels, the best set the
 * CPU has (AVX-512F, AVX2+FMA, or portable code): the same floats on every
 * AVX2 or AVX-512 machine and for any thread count.
 *
 * Threads: one genre_graph is used by one thread at a time, except for
 * genre_graph_cancel (with `threads`
 * > 1 it hands conv blocks to its own pool); several graphs may share one
 * model.  No call after _new allocates. */
#ifndef GENRE_GRAPH_H
#define GENRE_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "genre/model.h"

typedef struct genre_graph genre_graph;

/* model must be a version-2 model (n_nodes > 0).  threads 1..64 counts the
 * caller.  NULL with a reason. */
genre_graph *genre_graph_new(const genre_model *model, size_t threads, char *err, size_t errlen);
/* Forget the stream: the next pushed frame is frame 0 again. */
void genre_graph_reset(genre_graph *g);
/* Appends n frames of n_mels floats (normalised as the model's front-end
 * emits them).  When pushed frames would overflow the buffers, the graph
 * computes what it can; a window that was not asked for before its frames
 * left the buffers (about a window and a chunk behind the newest frame) is
 * then gone.  0, or -1 after genre_graph_end (with a message). */
int genre_graph_push(genre_graph *g, const float *frames, size_t n, char *err, size_t errlen);
/* The stream has ended: frames after the last pushed one read as zeros. */
void genre_graph_end(genre_graph *g);
/* Frames pushed so far. */
uint64_t genre_graph_frames(const genre_graph *g);
/* Windows may end at any frame up to this: every pushed frame minus the
 * look-ahead of the convolutions (all pushed frames after _end). */
uint64_t genre_graph_ready(const genre_graph *g);
/* Frames of look-ahead the convolutions need (the delay of a live result). */
size_t genre_graph_lookahead(const genre_graph *g);
/* The result for frames [start, end): probs gets n_labels values.  Windows
 * must come in order (start never smaller than the last window's start),
 * end <= genre_graph_ready(), end - start <= the model's window_frames.
 * 0, or -1 with a message. */
int genre_graph_window(genre_graph *g, uint64_t start, uint64_t end, float *probs, char *err,
                       size_t errlen);
/* The network on n frames from scratch (reset, push, end, window [0, n)):
 * what a non-streaming engine computes for one window. */
int genre_graph_run(genre_graph *g, const float *frames, size_t n, float *probs, char *err,
                    size_t errlen);
/* Every frame of the frame-domain node `node` (by name) goes to sink as it
 * is computed, in order, each once -- the per-frame embeddings a feature
 * tool writes (genre-features --node).  *floats gets the frame size.  The
 * node must be kept by the graph: a conv's relu / affine / freq_max fused
 * into it are, only the last of them (the message names it).  Frames are
 * computed when windows need them; after genre_graph_end, genre_graph_flush
 * computes the rest.  One tap per graph; 0, or -1 with a message. */
int genre_graph_tap(genre_graph *g, const char *node, genre_node_sink sink, void *user,
                    size_t *floats, char *err, size_t errlen);
/* After genre_graph_end: compute every frame not computed yet (a tapped
 * node's last frames).  0, or -1 with a message. */
int genre_graph_flush(genre_graph *g, char *err, size_t errlen);
/* Any thread, also while another is inside _push, _window or _run: those
 * give up after the conv chunk in progress and return -1 ("cancelled"), as
 * does every later call that computes.  For abandoning a computation whose
 * result is no longer wanted; a cancelled graph stays cancelled. */
void genre_graph_cancel(genre_graph *g);
size_t genre_graph_threads(const genre_graph *g);
void genre_graph_del(genre_graph *g);

#endif
