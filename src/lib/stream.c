/* The stream classifier (include/genre/stream.h): a pipeline feeding either
 * a streaming graph (version-2 models) or a rolling window and a chain net
 * (version 1). */
#include "genre/stream.h"

#include "genre/error.h"
#include "genre/graph.h"
#include "genre/net.h"
#include "genre/pipeline.h"
#include "genre/window.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct genre_stream {
    const genre_model *model;
    genre_pipeline *pipeline;
    double in_rate;
    int channels;
    size_t hop, threads;
    genre_graph *graph;         /* version 2 */
    genre_net *net;             /* version 1, on the rolling window */
    genre_window *window;
    float *probs;
    uint64_t frames;            /* front-end frames so far */
    uint64_t next_end;          /* end frame of the next window */
    bool any_window;
    bool tapped;                /* genre_stream_tap: finish computes every frame */
    atomic_bool cancelled;      /* genre_stream_cancel, from any thread */
    genre_window_sink sink;     /* during _push / _finish */
    void *user;
    char err[256];
};

static genre_stream_window window_of(const genre_stream *s, uint64_t start, uint64_t end,
                                     bool partial)
{
    const genre_frontend_spec *fe = &s->model->frontend;
    return (genre_stream_window){
        .start = start,
        .end = end,
        .start_s = (double)start * fe->hop / fe->sample_rate,
        .end_s = ((double)(end - 1) * fe->hop + fe->n_fft) / fe->sample_rate,
        .partial = partial,
        .probs = s->probs,
    };
}

static int deliver(genre_stream *s, uint64_t start, uint64_t end, bool partial)
{
    genre_stream_window w = window_of(s, start, end, partial);
    s->any_window = true;
    return s->sink ? s->sink(s->user, &w) : 0;
}

/* Every graph window whose frames and look-ahead have arrived. */
static int graph_windows(genre_stream *s)
{
    const size_t wf = s->model->frontend.window_frames;
    while (s->hop && genre_graph_ready(s->graph) >= s->next_end) {
        uint64_t start = s->next_end - wf;
        if (genre_graph_window(s->graph, start, s->next_end, s->probs, s->err, sizeof s->err))
            return -1;
        int rc = deliver(s, start, s->next_end, false);
        s->next_end += s->hop;
        if (rc)
            return rc;
    }
    return 0;
}

/* -1 with the error set once genre_stream_cancel was called. */
static int check_cancelled(genre_stream *s)
{
    if (!atomic_load_explicit(&s->cancelled, memory_order_relaxed))
        return 0;
    snprintf(s->err, sizeof s->err, "cancelled");
    return -1;
}

static int on_frame(void *user, const float *frame)
{
    genre_stream *s = user;
    if (check_cancelled(s))
        return -1;
    s->frames++;
    if (s->graph) {
        if (genre_graph_push(s->graph, frame, 1, s->err, sizeof s->err))
            return -1;
        return graph_windows(s);
    }
    genre_window_push(s->window, frame);
    if (!s->hop || s->frames != s->next_end)
        return 0;
    s->next_end += s->hop;
    genre_net_run(s->net, genre_window_view(s->window), s->probs);
    return deliver(s, s->frames - s->model->frontend.window_frames, s->frames, false);
}

genre_stream *genre_stream_new(const genre_model *model, double in_rate, int channels,
                               size_t hop_frames, size_t threads, char *err, size_t errlen)
{
    if (!model) {
        genre_set_error(err, errlen, "stream: no model");
        return NULL;
    }
    genre_stream *s = calloc(1, sizeof *s);
    if (!s) {
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    s->model = model;
    atomic_init(&s->cancelled, false);
    s->in_rate = in_rate;
    s->channels = channels;
    s->hop = hop_frames;
    s->threads = threads;
    const genre_frontend_spec *fe = &model->frontend;
    /* channels 0: frames come from elsewhere (genre_stream_push_frames),
     * so no pipeline -- the daemon's feature thread has its own. */
    if (channels != 0 && !(s->pipeline = genre_pipeline_new(fe, in_rate, channels, err, errlen)))
        goto fail;
    s->probs = malloc(model->n_labels * sizeof *s->probs);
    if (!s->probs)
        goto fail;
    if (model->n_nodes) {
        s->graph = genre_graph_new(model, threads, err, errlen);
        if (!s->graph)
            goto fail;
    } else {
        s->net = genre_net_new_threads(model, threads, err, errlen);
        s->window = s->net ? genre_window_new(fe->window_frames, fe->n_mels) : NULL;
        if (!s->window) {
            if (s->net)
                genre_set_error(err, errlen, "out of memory");
            goto fail;
        }
    }
    genre_stream_reset(s);
    return s;
fail:
    if (!s->probs && (s->pipeline || channels == 0))
        genre_set_error(err, errlen, "out of memory");
    genre_stream_del(s);
    return NULL;
}

genre_stream *genre_stream_renew(genre_stream *s, const genre_model *model, double in_rate,
                                 int channels, size_t hop_frames, size_t threads, char *err,
                                 size_t errlen)
{
    if (s && s->model == model && s->in_rate == in_rate && s->channels == channels &&
        s->hop == hop_frames && s->threads == threads) {
        genre_stream_reset(s);
        return s;
    }
    genre_stream_del(s);
    return genre_stream_new(model, in_rate, channels, hop_frames, threads, err, errlen);
}

void genre_stream_reset(genre_stream *s)
{
    if (s->pipeline)
        genre_pipeline_reset(s->pipeline);
    if (s->graph)
        genre_graph_reset(s->graph);
    if (s->window)
        genre_window_reset(s->window);
    s->frames = 0;
    s->next_end = s->model->frontend.window_frames;
    s->any_window = false;
    s->err[0] = '\0';
}

int genre_stream_push(genre_stream *s, const float *interleaved, size_t frames,
                      genre_window_sink sink, void *user)
{
    s->sink = sink;
    s->user = user;
    if (!s->pipeline) {
        snprintf(s->err, sizeof s->err, "stream made for frames (0 channels) was given audio");
        return -1;
    }
    int rc = genre_pipeline_push(s->pipeline, interleaved, frames, on_frame, s);
    if (rc < 0 && !s->err[0])
        snprintf(s->err, sizeof s->err, "resampling failed");
    return rc;
}

int genre_stream_finish(genre_stream *s, genre_window_sink sink, void *user)
{
    s->sink = sink;
    s->user = user;
    int rc = s->pipeline ? genre_pipeline_flush(s->pipeline, on_frame, s) : 0;
    if (rc < 0 && !s->err[0])
        snprintf(s->err, sizeof s->err, "resampling failed");
    if (rc)
        return rc;
    if (s->graph) {
        genre_graph_end(s->graph);
        if ((rc = graph_windows(s)))
            return rc;
        if (s->tapped && genre_graph_flush(s->graph, s->err, sizeof s->err))
            return -1;
    }
    /* Without a grid (hop 0) windows are only asked for (_latest). */
    if (s->any_window || s->frames == 0 || s->hop == 0)
        return 0;
    if (check_cancelled(s))
        return -1;
    /* Shorter than one window: one window over what there is (a version-1
     * net sees it zero-padded in front, as the rolling window holds it). */
    if (s->graph) {
        if (genre_graph_window(s->graph, 0, s->frames, s->probs, s->err, sizeof s->err))
            return -1;
    } else {
        genre_net_run(s->net, genre_window_view(s->window), s->probs);
    }
    return deliver(s, 0, s->frames, true);
}

int genre_stream_push_frames(genre_stream *s, const float *frames, size_t n,
                             genre_window_sink sink, void *user)
{
    s->sink = sink;
    s->user = user;
    const size_t n_mels = s->model->frontend.n_mels;
    for (size_t i = 0; i < n; i++) {
        int rc = on_frame(s, frames + i * n_mels);
        if (rc)
            return rc;
    }
    return 0;
}

uint64_t genre_stream_ready(const genre_stream *s)
{
    return s->graph ? genre_graph_ready(s->graph) : s->frames;
}

int genre_stream_latest(genre_stream *s, genre_stream_window *w)
{
    const uint64_t wf = s->model->frontend.window_frames, end = genre_stream_ready(s);
    if (check_cancelled(s))
        return -1;
    if (end == 0)
        return 1;
    uint64_t start = end > wf ? end - wf : 0;
    if (s->graph) {
        if (genre_graph_window(s->graph, start, end, s->probs, s->err, sizeof s->err))
            return -1;
    } else {
        genre_net_run(s->net, genre_window_view(s->window), s->probs);
    }
    *w = window_of(s, start, end, end < wf);
    return 0;
}

int genre_stream_tap(genre_stream *s, const char *node, genre_node_sink sink, void *user,
                     size_t *floats, char *err, size_t errlen)
{
    if (!s->graph) {
        genre_set_error(err, errlen, "a version-1 model has no named nodes to tap");
        return -1;
    }
    if (genre_graph_tap(s->graph, node, sink, user, floats, err, errlen))
        return -1;
    s->tapped = true;
    return 0;
}

void genre_stream_cancel(genre_stream *s)
{
    atomic_store_explicit(&s->cancelled, true, memory_order_relaxed);
    if (s->graph)
        genre_graph_cancel(s->graph);
}

uint64_t genre_stream_frames(const genre_stream *s)
{
    return s->frames;
}

const char *genre_stream_error(const genre_stream *s)
{
    return s->err;
}

void genre_stream_del(genre_stream *s)
{
    if (!s)
        return;
    genre_pipeline_del(s->pipeline);
    genre_graph_del(s->graph);
    genre_net_del(s->net);
    genre_window_del(s->window);
    free(s->probs);
    free(s);
}
