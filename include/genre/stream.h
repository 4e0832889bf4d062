/* The stream classifier: audio in, window results out.  The one path from
 * samples to probabilities that genre-classify, genre-features and the
 * daemon share, so a file and the same audio played live give the same
 * windows.
 *
 * Audio goes through the pipeline (downmix -> resample -> front-end) and
 * the model's network.  Windows are the model's window_frames front-end
 * frames long and end every hop_frames frames: the first ends at frame
 * window_frames, so window k covers frames [k*hop, k*hop + window_frames).
 * A version-2 model (a graph) computes each frame of its time-convolutional
 * part once, when the frame's look-ahead has arrived, so a window costs
 * little more than its pooling (genre/graph.h); a version-1 model runs its
 * whole network on every window.  A window is delivered as soon as it can
 * be computed; genre_stream_finish ends the stream (zeros after it, as in
 * training) and delivers the rest.  A stream shorter than one window gets
 * one partial window over all its frames at the end (with hop_frames > 0).
 *
 * Usage:
 *     genre_stream *s = genre_stream_new(model, rate, channels, hop, 1, err, sizeof err);
 *     while ((n = read_audio(buf)) > 0)
 *         genre_stream_push(s, buf, n, on_window, ctx);
 *     genre_stream_finish(s, on_window, ctx);
 *     genre_stream_del(s);
 *
 * One genre_stream is used by one thread at a time, except for
 * genre_stream_cancel.  _new, _renew and _del make or free an FFTW plan:
 * serialise them across threads (genre/frontend.h).  _push and _finish do
 * not allocate. */
#ifndef GENRE_STREAM_H
#define GENRE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genre/model.h"

typedef struct genre_stream_window {
    uint64_t start, end;        /* front-end frames [start, end) */
    double start_s, end_s;      /* first frame's first sample to last frame's last, seconds */
    bool partial;               /* the stream was shorter than one window */
    const float *probs;         /* n_labels values, valid during the callback */
} genre_stream_window;

/* Receives each window in order; return non-zero to stop. */
typedef int (*genre_window_sink)(void *user, const genre_stream_window *w);

typedef struct genre_stream genre_stream;

/* Interleaved float audio at in_rate Hz with `channels` channels (0: no
 * audio, only frames through genre_stream_push_frames); windows
 * every hop_frames front-end frames (0: none on a grid, only
 * genre_stream_latest); threads (1..64) for the network.  The model must
 * outlive the stream.  NULL with a reason. */
genre_stream *genre_stream_new(const genre_model *model, double in_rate, int channels,
                               size_t hop_frames, size_t threads, char *err, size_t errlen);
/* For file after file: s reset when it already takes this model, rate and
 * channel count, else deleted and remade (setting up a resampler measures
 * its filter, so reuse pays).  NULL with a reason (s is then deleted). */
genre_stream *genre_stream_renew(genre_stream *s, const genre_model *model, double in_rate,
                                 int channels, size_t hop_frames, size_t threads, char *err,
                                 size_t errlen);
/* 0, the sink's non-zero value, or -1 with a message in the stream's
 * error (genre_stream_error). */
int genre_stream_push(genre_stream *s, const float *interleaved, size_t frames,
                      genre_window_sink sink, void *user);
int genre_stream_finish(genre_stream *s, genre_window_sink sink, void *user);
/* Front-end frames (normalised, n_mels floats each) that a pipeline with
 * this model's front-end has already made, instead of audio: the daemon's
 * feature thread makes them, its inference thread classifies them.  Same
 * windows and return values as genre_stream_push. */
int genre_stream_push_frames(genre_stream *s, const float *frames, size_t n,
                             genre_window_sink sink, void *user);
/* Frames whose window results can be computed now: every frame for a
 * version-1 model, every frame but the graph's look-ahead for version 2. */
uint64_t genre_stream_ready(const genre_stream *s);
/* The newest window that can be computed now -- the window_frames frames
 * ending at the newest ready frame, or all of them (partial) before there
 * are that many -- into *w (w->probs valid until the next call).  0, 1 when
 * no frame is ready, -1 with a message. */
int genre_stream_latest(genre_stream *s, genre_stream_window *w);
/* Also every frame of a graph node (by name), in order, as the stream
 * computes it: genre_graph_tap.  _finish then computes every frame to the
 * end of the stream.  Version-2 models only; 0, or -1 with a message. */
int genre_stream_tap(genre_stream *s, const char *node, genre_node_sink sink, void *user,
                     size_t *floats, char *err, size_t errlen);
/* Any thread, also while another thread is inside _push, _push_frames,
 * _finish or _latest: those calls give up at the next frame (or before the
 * next whole-network run of a version-1 model) and return -1 with the error
 * "cancelled", as does every later call.  For a caller that must not wait
 * for a long computation whose result it no longer wants (the daemon's
 * reload and stop).  A cancelled stream stays cancelled: delete it. */
void genre_stream_cancel(genre_stream *s);
/* Starts a new stream with the same settings. */
void genre_stream_reset(genre_stream *s);
/* Front-end frames so far. */
uint64_t genre_stream_frames(const genre_stream *s);
/* Why the last call returned -1. */
const char *genre_stream_error(const genre_stream *s);
void genre_stream_del(genre_stream *s);

#endif
