/* genre_stream, the stream classifier (src/lib/stream.c): the same audio in
 * chunks of any size gives the same windows; window positions and times;
 * a stream shorter than a window; reset and renew; a version-1 model;
 * tapping a node's frames; cancellation, also from another thread. */
#include "check.h"

#include "genre/frontend.h"
#include "genre/model.h"
#include "genre/pipeline.h"
#include "genre/stream.h"

#include <math.h>
#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#define RATE 44100
#define CHANNELS 2
#define WINDOW 64
#define HOP 20
#define LABELS 3

typedef struct collected {
    size_t n;
    uint64_t start[4096], end[4096];
    double start_s[4096], end_s[4096];
    bool partial[4096];
    float probs[4096][LABELS];
} collected;

static int collect(void *user, const genre_stream_window *w)
{
    collected *c = user;
    if (c->n == 4096)
        return 1;
    c->start[c->n] = w->start;
    c->end[c->n] = w->end;
    c->start_s[c->n] = w->start_s;
    c->end_s[c->n] = w->end_s;
    c->partial[c->n] = w->partial;
    memcpy(c->probs[c->n], w->probs, sizeof c->probs[0]);
    c->n++;
    return 0;
}

typedef struct frame_log {
    float *frames;
    size_t n;
} frame_log;

static int log_frame(void *user, const float *frame)
{
    frame_log *l = user;
    if (l->n == 8192)
        return 1;
    memcpy(l->frames + l->n * 96, frame, 96 * sizeof *frame);
    l->n++;
    return 0;
}

static int stop(void *user, const genre_stream_window *w)
{
    (void)user;
    (void)w;
    return 7;
}

typedef struct tap_log {
    float v[8192][4];
    size_t n;
    int out_of_order;
} tap_log;

static int log_tap(void *user, uint64_t t, const float *frame)
{
    tap_log *l = user;
    if (t != l->n)
        l->out_of_order = 1;
    if (l->n == 8192)
        return 1;
    memcpy(l->v[l->n++], frame, sizeof l->v[0]);
    return 0;
}

typedef struct cancel_job {
    genre_stream *s;
} cancel_job;

static void *cancel_soon(void *arg)
{
    cancel_job *job = arg;
    struct timespec t = {0, 20000000};
    nanosleep(&t, NULL);
    genre_stream_cancel(job->s);
    return NULL;
}

static float *random_floats(size_t n, unsigned *seed, float scale)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        v[i] = scale * ((float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f);
    }
    return v;
}

/* input -> affine -> conv 5x8 -> relu -> freq_max -> conv 3x1 -> relu ->
 * time_maxmean -> dense -> softmax, random weights. */
typedef struct test_model {
    genre_model model;
    genre_node nodes[9];
    const char *labels[LABELS];
    float mean[96], std[96];
    float *w[8];
} test_model;

static void node(genre_node *n, const char *name, uint32_t type, int32_t input)
{
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->type = type;
    n->n_inputs = 1;
    n->inputs[0] = input;
}

static void make_model(test_model *t)
{
    memset(t, 0, sizeof *t);
    unsigned seed = 3;
    genre_model *m = &t->model;
    m->format_version = 2;
    m->frontend = genre_frontend_default_spec();
    m->frontend.window_frames = WINDOW;
    m->frontend.mel_norm = GENRE_MEL_NORM_AREA;
    m->frontend.log_offset = 1e-4f;
    for (int b = 0; b < 96; b++)
        t->mean[b] = -9.21f, t->std[b] = 2.3f;
    m->frontend.norm_mean = t->mean;
    m->frontend.norm_std = t->std;
    t->labels[0] = "a", t->labels[1] = "b", t->labels[2] = "c";
    m->n_labels = LABELS;
    m->labels = t->labels;
    genre_node *n = t->nodes;
    node(&n[0], "in_bn", GENRE_LAYER_AFFINE, GENRE_NODE_INPUT);
    n[0].p[0] = 1;
    t->w[0] = random_floats(2, &seed, 1.0f);
    n[0].weight = t->w[0], n[0].bias = t->w[0] + 1, n[0].weight_len = n[0].bias_len = 1;
    node(&n[1], "conv", GENRE_LAYER_CONV2D, 0);
    uint32_t p1[6] = {1, 4, 5, 8, 2, 0};
    memcpy(n[1].p, p1, sizeof p1);
    t->w[1] = random_floats(4 * 5 * 8 + 4, &seed, 0.3f);
    n[1].weight = t->w[1], n[1].bias = t->w[1] + 160, n[1].weight_len = 160, n[1].bias_len = 4;
    node(&n[2], "conv_relu", GENRE_LAYER_RELU, 1);
    node(&n[3], "conv_fmax", GENRE_LAYER_FREQ_MAX, 2);
    node(&n[4], "mid", GENRE_LAYER_CONV2D, 3);
    uint32_t p4[6] = {4, 3, 3, 1, 1, 0};
    memcpy(n[4].p, p4, sizeof p4);
    t->w[2] = random_floats(3 * 4 * 3 + 3, &seed, 0.3f);
    n[4].weight = t->w[2], n[4].bias = t->w[2] + 36, n[4].weight_len = 36, n[4].bias_len = 3;
    node(&n[5], "mid_relu", GENRE_LAYER_RELU, 4);
    node(&n[6], "pool", GENRE_LAYER_TIME_MAXMEAN, 5);
    node(&n[7], "out", GENRE_LAYER_DENSE, 6);
    n[7].p[0] = 6, n[7].p[1] = LABELS;
    t->w[3] = random_floats(6 * LABELS + LABELS, &seed, 1.0f);
    n[7].weight = t->w[3], n[7].bias = t->w[3] + 18, n[7].weight_len = 18, n[7].bias_len = 3;
    node(&n[8], "probs", GENRE_LAYER_SOFTMAX, 7);
    m->n_nodes = 9;
    m->nodes = n;
}

static void free_model(test_model *t)
{
    for (int i = 0; i < 8; i++)
        free(t->w[i]);
}

/* The whole signal (`channels` interleaved) pushed `chunk` frames at a time. */
static int run(genre_stream *s, const float *audio, int channels, size_t frames, size_t chunk,
               collected *c)
{
    memset(c, 0, sizeof *c);
    for (size_t at = 0; at < frames; at += chunk) {
        size_t n = frames - at < chunk ? frames - at : chunk;
        if (genre_stream_push(s, audio + at * (size_t)channels, n, collect, c))
            return -1;
    }
    return genre_stream_finish(s, collect, c);
}

static float max_diff(const collected *a, const collected *b)
{
    float d = 0;
    for (size_t w = 0; w < a->n && w < b->n; w++)
        for (int k = 0; k < LABELS; k++)
            d = fmaxf(d, fabsf(a->probs[w][k] - b->probs[w][k]));
    return d;
}

int main(void)
{
    test_model t;
    make_model(&t);
    char err[256];
    unsigned seed = 11;
    const size_t frames = (size_t)RATE * 12;
    float *audio = random_floats(frames * CHANNELS, &seed, 0.3f);
    /* A tone sweep on top, so windows differ from each other. */
    for (size_t i = 0; i < frames; i++)
        audio[i * CHANNELS] += 0.5f * sinf(2.0f * 3.14159265f * (200.0f + 0.05f * (float)i) *
                                          (float)i / RATE);

    genre_stream *s = genre_stream_new(&t.model, RATE, CHANNELS, HOP, 1, err, sizeof err);
    CHECK_MSG(s != NULL, "stream: %s", err);
    static collected whole, pieces, threads2;
    CHECK_MSG(run(s, audio, CHANNELS, frames, frames, &whole) == 0, "one push: %s", genre_stream_error(s));
    uint64_t n_frames = genre_stream_frames(s);
    uint64_t expect = (n_frames - WINDOW) / HOP + 1;
    CHECK_MSG(whole.n == expect, "%zu windows from %llu frames, expected %llu", whole.n,
          (unsigned long long)n_frames, (unsigned long long)expect);
    for (size_t w = 0; w < whole.n; w++) {
        CHECK_MSG(whole.start[w] == w * HOP && whole.end[w] == w * HOP + WINDOW && !whole.partial[w],
              "window %zu is [%llu, %llu)", w, (unsigned long long)whole.start[w],
              (unsigned long long)whole.end[w]);
        double start_s = (double)w * HOP * 256 / 16000;
        double end_s = ((double)(w * HOP + WINDOW - 1) * 256 + 512) / 16000;
        CHECK_MSG(fabs(whole.start_s[w] - start_s) < 1e-9 && fabs(whole.end_s[w] - end_s) < 1e-9,
              "window %zu times %.6f..%.6f, expected %.6f..%.6f", w, whole.start_s[w],
              whole.end_s[w], start_s, end_s);
        float sum = 0;
        for (int k = 0; k < LABELS; k++)
            sum += whole.probs[w][k];
        CHECK_MSG(fabsf(sum - 1.0f) < 1e-5f, "window %zu probabilities sum to %g", w, sum);
    }
    CHECK(max_diff(&whole, &whole) == 0.0f);
    float spread = 0;
    for (size_t w = 1; w < whole.n; w++)
        spread = fmaxf(spread, fabsf(whole.probs[w][0] - whole.probs[0][0]));
    CHECK_MSG(spread > 1e-4f, "windows differ from each other (%g): the test can see a mix-up", spread);

    static const size_t chunks[] = {1, 7, 256, 4096, 10000};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        genre_stream_reset(s);
        CHECK_MSG(run(s, audio, CHANNELS, frames, chunks[i], &pieces) == 0, "chunks of %zu", chunks[i]);
        CHECK_MSG(pieces.n == whole.n && max_diff(&pieces, &whole) <= 1e-6f,
              "chunks of %zu: %zu windows, max diff %g", chunks[i], pieces.n,
              (double)max_diff(&pieces, &whole));
    }
    genre_stream *s2 = genre_stream_new(&t.model, RATE, CHANNELS, HOP, 2, err, sizeof err);
    CHECK_MSG(s2 && run(s2, audio, CHANNELS, frames, 333, &threads2) == 0 && threads2.n == whole.n &&
              max_diff(&threads2, &whole) <= 1e-5f,
          "2 threads: max diff %g", (double)max_diff(&threads2, &whole));
    genre_stream_del(s2);

    /* Renew: same settings reuse the stream, another rate makes a new one. */
    genre_stream *same = genre_stream_renew(s, &t.model, RATE, CHANNELS, HOP, 1, err, sizeof err);
    CHECK_MSG(same == s, "renew with the same settings keeps the stream");
    s = same;
    genre_stream *other = genre_stream_renew(s, &t.model, 48000, 1, HOP, 1, err, sizeof err);
    CHECK_MSG(other != NULL, "renew at 48 kHz mono: %s", err);
    s = other;

    /* Shorter than one window: one partial window over what there is. */
    static collected shortc;
    const size_t short_frames = 48000;      /* 1 s mono */
    float *mono = random_floats(short_frames, &seed, 0.3f);
    CHECK_MSG(run(s, mono, 1, short_frames, 1000, &shortc) == 0, "short stream");
    CHECK_MSG(shortc.n == 1 && shortc.partial[0] && shortc.start[0] == 0 &&
              shortc.end[0] == genre_stream_frames(s) && genre_stream_frames(s) < WINDOW,
          "short stream: %zu windows, partial %d, [%llu, %llu) of %llu frames", shortc.n,
          shortc.n ? shortc.partial[0] : -1, (unsigned long long)shortc.start[0],
          (unsigned long long)shortc.end[0], (unsigned long long)genre_stream_frames(s));
    /* Too short for one frame: no window at all. */
    genre_stream_reset(s);
    CHECK_MSG(run(s, mono, 1, 100, 100, &shortc) == 0 && shortc.n == 0 && genre_stream_frames(s) == 0,
          "100 samples: %zu windows", shortc.n);
    /* A sink that stops the stream: its value comes back. */
    genre_stream_reset(s);
    CHECK_MSG(genre_stream_push(s, mono, short_frames, stop, NULL) == 0 &&
                  genre_stream_finish(s, stop, NULL) == 7,
              "a sink's non-zero value is returned");
    free(mono);
    genre_stream_del(s);

    /* Frames instead of audio (made by the same pipeline), and the newest
     * window: both equal to the grid's windows. */
    genre_pipeline *pipe = genre_pipeline_new(&t.model.frontend, RATE, CHANNELS, err, sizeof err);
    frame_log log = {.frames = malloc((size_t)8192 * 96 * sizeof(float))};
    CHECK(pipe && log.frames);
    genre_pipeline_push(pipe, audio, frames, log_frame, &log);
    genre_pipeline_flush(pipe, log_frame, &log);
    genre_pipeline_del(pipe);
    CHECK_MSG(log.n == n_frames, "the pipeline made %zu frames, the stream %llu", log.n,
              (unsigned long long)n_frames);
    genre_stream *f = genre_stream_new(&t.model, 16000, 1, HOP, 1, err, sizeof err);
    genre_stream *live = genre_stream_new(&t.model, 16000, 0, 0, 1, err, sizeof err);
    CHECK(f && live);
    CHECK_MSG(live && genre_stream_push(live, audio, 10, NULL, NULL) == -1 &&
                  strstr(genre_stream_error(live), "0 channels"),
              "a frames-only stream refuses audio");
    static collected by_frames;
    genre_stream_window latest;
    CHECK_MSG(genre_stream_latest(live, &latest) == 1, "no window before any frame");
    for (size_t at = 0; at < log.n; at += 37) {
        size_t k = log.n - at < 37 ? log.n - at : 37;
        genre_stream_push_frames(f, log.frames + at * 96, k, collect, &by_frames);
    }
    genre_stream_finish(f, collect, &by_frames);
    CHECK_MSG(by_frames.n == whole.n && max_diff(&by_frames, &whole) <= 1e-6f,
              "frames pushed: %zu windows, max diff %g", by_frames.n,
              (double)max_diff(&by_frames, &whole));
    /* Live: push until the newest ready frame ends grid window 5. */
    size_t pushed = 0, matched = 0;
    while (pushed < log.n) {
        genre_stream_push_frames(live, log.frames + pushed * 96, 1, NULL, NULL);
        pushed++;
        uint64_t ready = genre_stream_ready(live);
        if (ready >= WINDOW && (ready - WINDOW) % HOP == 0 && (ready - WINDOW) / HOP < whole.n) {
            size_t w = (size_t)((ready - WINDOW) / HOP);
            CHECK(genre_stream_latest(live, &latest) == 0);
            float d = 0;
            for (int k = 0; k < LABELS; k++)
                d = fmaxf(d, fabsf(latest.probs[k] - whole.probs[w][k]));
            CHECK_MSG(latest.start == whole.start[w] && latest.end == whole.end[w] && d <= 1e-6f &&
                          !latest.partial,
                      "latest at %llu: [%llu, %llu), diff %g", (unsigned long long)ready,
                      (unsigned long long)latest.start, (unsigned long long)latest.end, (double)d);
            matched++;
        }
    }
    CHECK_MSG(matched == whole.n, "latest matched %zu of %zu grid windows", matched, whole.n);
    CHECK_MSG(genre_stream_ready(live) + 3 == log.n,
              "live look-ahead: %llu of %zu frames ready (the convs reach 2 + 1 frames ahead)",
              (unsigned long long)genre_stream_ready(live), log.n);

    /* A node's frames (genre-features --node): each frame once, in order,
     * all of them by finish, the same for any chunking and thread count;
     * fused and pooled nodes are refused with a reason. */
    static tap_log tap1, tap2;
    genre_stream *t1 = genre_stream_new(&t.model, 16000, 0, 0, 1, err, sizeof err);
    genre_stream *t2 = genre_stream_new(&t.model, 16000, 0, 0, 2, err, sizeof err);
    size_t width = 0;
    CHECK_MSG(t1 && genre_stream_tap(t1, "conv_fmax", log_tap, &tap1, &width, err, sizeof err) == 0 &&
                  width == 4,
              "tap conv_fmax: %s (width %zu)", err, width);
    CHECK(t2 && genre_stream_tap(t2, "conv_fmax", log_tap, &tap2, &width, err, sizeof err) == 0);
    CHECK(genre_stream_push_frames(t1, log.frames, log.n, NULL, NULL) == 0);
    for (size_t at = 0; at < log.n; at += 13)
        genre_stream_push_frames(t2, log.frames + at * 96, log.n - at < 13 ? log.n - at : 13, NULL, NULL);
    CHECK(genre_stream_finish(t1, NULL, NULL) == 0 && genre_stream_finish(t2, NULL, NULL) == 0);
    CHECK_MSG(tap1.n == log.n && tap2.n == log.n && !tap1.out_of_order && !tap2.out_of_order,
              "tapped %zu and %zu frames of %zu, in order: %d %d", tap1.n, tap2.n, log.n,
              !tap1.out_of_order, !tap2.out_of_order);
    CHECK_MSG(memcmp(tap1.v, tap2.v, log.n * sizeof tap1.v[0]) == 0,
              "the same node frames whole and in pieces of 13 on 2 threads");
    float tap_max = 0;
    for (size_t i = 0; i < tap1.n; i++)
        for (int k = 0; k < 4; k++)
            tap_max = fmaxf(tap_max, tap1.v[i][k]);
    CHECK_MSG(tap_max > 0, "the tapped frames are not all zero (max %g)", (double)tap_max);
    CHECK_MSG(genre_stream_tap(t1, "conv", log_tap, &tap1, &width, err, sizeof err) == -1 &&
                  strstr(err, "conv_fmax"),
              "a fused node names the step's last node: %s", err);
    CHECK_MSG(genre_stream_tap(t1, "out", log_tap, &tap1, &width, err, sizeof err) == -1 &&
                  strstr(err, "not per frame"),
              "a node after the pooling: %s", err);
    CHECK_MSG(genre_stream_tap(t1, "nope", log_tap, &tap1, &width, err, sizeof err) == -1 &&
                  strstr(err, "no node 'nope'"),
              "an unknown node: %s", err);
    genre_stream_del(t1);
    genre_stream_del(t2);

    /* Cancelled: every call that computes gives up with "cancelled", and
     * the stream stays cancelled (reset does not revive it). */
    genre_stream *c = genre_stream_new(&t.model, 16000, 0, HOP, 1, err, sizeof err);
    CHECK(c != NULL);
    static collected before_cancel;
    CHECK(genre_stream_push_frames(c, log.frames, 100, collect, &before_cancel) == 0);
    CHECK(genre_stream_latest(c, &latest) == 0);
    genre_stream_cancel(c);
    CHECK_MSG(genre_stream_latest(c, &latest) == -1 &&
                  strcmp(genre_stream_error(c), "cancelled") == 0,
              "latest after cancel: %s", genre_stream_error(c));
    CHECK(genre_stream_push_frames(c, log.frames, 10, collect, &before_cancel) == -1);
    genre_stream_reset(c);
    CHECK_MSG(genre_stream_push_frames(c, log.frames, 10, collect, &before_cancel) == -1,
              "a cancelled stream stays cancelled after reset");
    genre_stream_del(c);
    /* From another thread while the stream computes (TSan sees the flag). */
    genre_stream *busy = genre_stream_new(&t.model, 16000, 0, HOP, 1, err, sizeof err);
    cancel_job job = {.s = busy};
    pthread_t th;
    CHECK(busy && pthread_create(&th, NULL, cancel_soon, &job) == 0);
    int rc = 0;
    size_t rounds = 0;
    while (rc == 0 && rounds < 100000) {
        rc = genre_stream_push_frames(busy, log.frames, log.n, NULL, NULL);
        rounds++;
    }
    pthread_join(th, NULL);
    CHECK_MSG(rc == -1 && strcmp(genre_stream_error(busy), "cancelled") == 0,
              "a stream cancelled by another thread stops (rc %d after %zu rounds: %s)", rc, rounds,
              genre_stream_error(busy));
    genre_stream_del(busy);

    genre_stream_del(f);
    genre_stream_del(live);
    free(log.frames);
    free(audio);
    free_model(&t);
    return check_exit_status("test_stream");
}
