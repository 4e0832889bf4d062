/* Feature and inference threads around the rolling window (see engine.h). */
#include "genred/clock.h"
#include "genred/engine.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "genre/pipeline.h"
#include "genre/stream.h"
#include "genre/window.h"

/* Frames read from the ring per pipeline call: the pipeline's own chunk,
 * so it never splits a call. */
#define CHUNK_FRAMES GENRE_PIPELINE_MAX_CHUNK
/* How the feature thread waits for audio.  The capture callback must not
 * make system calls that could block, and a condition variable would need
 * a mutex, so it cannot signal anything; an eventfd write would be
 * tolerable but buys nothing here.  Instead the feature thread polls the
 * ring every 10 ms while it is empty: that is 100 cheap wake-ups a second
 * (not a busy loop), and 10 ms of added latency is negligible next to the
 * one-second inference interval and the 10-second window. */
#define POLL_NS 10000000L
/* The input level is kept as sums of squares over 100 ms blocks covering
 * the window, so it describes the same audio the network sees. */
#define LEVEL_BLOCK_SECONDS 0.1
/* Level of digital silence: -inf dB, reported as this floor. */
#define LEVEL_FLOOR_DBFS -120.0
#define SMOOTHING_MAX 60

const char *genred_state_name(enum genred_state s)
{
    switch (s) {
    case GENRED_STATE_WARMING: return "warming";
    case GENRED_STATE_OK: return "ok";
    case GENRED_STATE_SILENCE: return "silence";
    case GENRED_STATE_NO_INPUT: return "no-input";
    case GENRED_STATE_BAD_INPUT: return "bad-input";
    case GENRED_STATE_MODEL_ERROR: return "model-error";
    }
    return "?";
}

typedef struct level_meter {
    double *sumsq;              /* per block */
    uint64_t *count;            /* samples per block */
    uint64_t *nonfinite;        /* NaN/infinite samples per block (counted in count) */
    size_t n_blocks, cur;       /* cur: the block being filled */
    uint64_t block_samples;     /* samples (all channels) per full block */
} level_meter;

struct genred_engine {
    genred_log *log;
    void (*on_result)(void *user);
    void *user;

    /* Parts: replaced only by the main thread while both threads stand. */
    genre_model *model;
    genre_stream *stream;       /* inference thread: the model's stream classifier */
    char model_name[256];
    genred_source *source;
    genre_pipeline *pipeline;
    genre_window *window;
    float *chunk;               /* feature thread: CHUNK_FRAMES * channels */
    level_meter level;          /* feature thread */
    float *fresh;               /* inference thread: frames new since its last turn */
    uint64_t consumed;          /* inference thread: window frames given to the stream */
    uint64_t stream_origin;     /* inference thread: window frame that is stream frame 0 */
    float *raw;                 /* inference thread: network output */
    float *history;             /* inference thread: SMOOTHING_MAX x n_labels */
    size_t history_count, history_pos;
    genred_result work;         /* inference thread: result being built */

    /* Shared by the feature and inference threads (and the main thread
     * for parameters and statistics). */
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* inference thread's timed wait */
    int stop_inference;
    genred_engine_params params;
    uint64_t source_frames;     /* frames consumed from the current source */
    double level_dbfs;
    double stream_base;         /* stream seconds before the current source */
    double window_epoch;        /* stream seconds at the last window reset */
    uint64_t inferences;
    double inference_ms_last, inference_ms_sum;
    int input_nonfinite;        /* the level blocks (the window) hold NaN/inf samples */
    uint64_t nonfinite_samples, model_errors;
    /* Totals of sources already closed. */
    uint64_t frames_base, dropped_base, drop_events_base, overflows_base;

    _Atomic int stop_feature;
    pthread_t feature_thread, inference_thread;
    int feature_running, inference_running;

    /* The hand-off to the main thread. */
    pthread_mutex_t slot_lock;
    genred_result slot;
    int slot_new;
};

static struct timespec to_timespec(double s)
{
    struct timespec t;
    t.tv_sec = (time_t)floor(s);
    t.tv_nsec = (long)((s - floor(s)) * 1e9);
    if (t.tv_nsec >= 1000000000L)
        t.tv_nsec = 999999999L;
    return t;
}

/* Seconds of audio one full window spans. */
static double window_seconds(const genre_frontend_spec *fe)
{
    return ((double)(fe->window_frames - 1) * fe->hop + fe->n_fft) / fe->sample_rate;
}

/* ---- level meter ------------------------------------------------------- */

static void level_free(level_meter *m)
{
    free(m->sumsq);
    free(m->count);
    free(m->nonfinite);
    memset(m, 0, sizeof *m);
}

static int level_init(level_meter *m, const genre_frontend_spec *fe, double rate, int channels)
{
    memset(m, 0, sizeof *m);
    double block_frames = round(rate * LEVEL_BLOCK_SECONDS);
    if (block_frames < 1)
        block_frames = 1;
    m->block_samples = (uint64_t)block_frames * (uint64_t)channels;
    m->n_blocks = (size_t)ceil(window_seconds(fe) / LEVEL_BLOCK_SECONDS);
    if (m->n_blocks < 1)
        m->n_blocks = 1;
    m->sumsq = calloc(m->n_blocks, sizeof *m->sumsq);
    m->count = calloc(m->n_blocks, sizeof *m->count);
    m->nonfinite = calloc(m->n_blocks, sizeof *m->nonfinite);
    if (!m->sumsq || !m->count || !m->nonfinite) {
        level_free(m);
        return -1;
    }
    return 0;
}

static void level_reset(level_meter *m)
{
    if (!m->sumsq)
        return;
    memset(m->sumsq, 0, m->n_blocks * sizeof *m->sumsq);
    memset(m->count, 0, m->n_blocks * sizeof *m->count);
    memset(m->nonfinite, 0, m->n_blocks * sizeof *m->nonfinite);
    m->cur = 0;
}

/* Also the input check: a NaN or infinite sample (a broken driver, a
 * float file of garbage) would slip past every comparison (NaN < x is
 * false, so even the silence test) and poison the features; it is
 * replaced by 0 in x and counted in its block, so the state says
 * bad-input for as long as it is inside the window.  Returns the number
 * replaced. */
static size_t level_add(level_meter *m, float *x, size_t n)
{
    size_t replaced = 0;
    while (n > 0) {
        uint64_t room = m->block_samples - m->count[m->cur];
        size_t take = n < room ? n : (size_t)room;
        double acc = 0;
        size_t bad = 0;
        for (size_t i = 0; i < take; i++) {
            if (!isfinite(x[i])) {
                x[i] = 0;
                bad++;
            }
            acc += (double)x[i] * x[i];
        }
        m->sumsq[m->cur] += acc;
        m->count[m->cur] += take;
        m->nonfinite[m->cur] += bad;
        replaced += bad;
        x += take;
        n -= take;
        if (m->count[m->cur] == m->block_samples) {
            m->cur = (m->cur + 1) % m->n_blocks;
            m->sumsq[m->cur] = 0;
            m->count[m->cur] = 0;
            m->nonfinite[m->cur] = 0;
        }
    }
    return replaced;
}

static int level_has_nonfinite(const level_meter *m)
{
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->nonfinite[i])
            return 1;
    return 0;
}

/* RMS over all blocks in dB relative to full scale (a full-scale square
 * wave reads 0 dBFS, a full-scale sine -3). */
static double level_dbfs(const level_meter *m)
{
    double s = 0;
    uint64_t c = 0;
    for (size_t i = 0; i < m->n_blocks; i++) {
        s += m->sumsq[i];
        c += m->count[i];
    }
    if (c == 0 || s <= 0)
        return LEVEL_FLOOR_DBFS;
    double db = 10.0 * log10(s / (double)c);
    return db < LEVEL_FLOOR_DBFS ? LEVEL_FLOOR_DBFS : db;
}

/* ---- feature thread ------------------------------------------------------- */

static int on_frame(void *user, const float *frame)
{
    genred_engine *e = user;
    pthread_mutex_lock(&e->lock);
    genre_window_push(e->window, frame);
    pthread_mutex_unlock(&e->lock);
    return 0;
}

static void *feature_main(void *arg)
{
    genred_engine *e = arg;
    genred_ring *ring = genred_source_ring(e->source);
    const size_t channels = (size_t)genred_source_channels(e->source);
    const size_t chunk_floats = CHUNK_FRAMES * channels;
    const struct timespec poll = {0, POLL_NS};
    while (!atomic_load_explicit(&e->stop_feature, memory_order_relaxed)) {
        size_t n = genred_ring_read(ring, e->chunk, chunk_floats);
        if (n == 0) {
            nanosleep(&poll, NULL);
            continue;
        }
        /* The producer only ever writes whole frames, so n is too. */
        size_t frames = n / channels;
        size_t replaced = level_add(&e->level, e->chunk, n);
        double db = level_dbfs(&e->level);
        int nonfinite = level_has_nonfinite(&e->level);
        pthread_mutex_lock(&e->lock);
        e->source_frames += frames;
        e->level_dbfs = db;
        e->input_nonfinite = nonfinite;
        e->nonfinite_samples += replaced;
        pthread_mutex_unlock(&e->lock);
        if (genre_pipeline_push(e->pipeline, e->chunk, frames, on_frame, e) < 0)
            genred_warning(e->log, "feature pipeline failed on %zu frames; continuing", frames);
    }
    return NULL;
}

/* ---- inference thread ------------------------------------------------------ */

static void publish(genred_engine *e, const genred_result *r)
{
    pthread_mutex_lock(&e->slot_lock);
    e->slot = *r;
    e->slot_new = 1;
    pthread_mutex_unlock(&e->slot_lock);
    if (e->on_result)
        e->on_result(e->user);
}

static void smooth(genred_engine *e, const float *raw, size_t n_labels, size_t smoothing,
                   float *out)
{
    memcpy(e->history + e->history_pos * n_labels, raw, n_labels * sizeof *raw);
    e->history_pos = (e->history_pos + 1) % SMOOTHING_MAX;
    if (e->history_count < SMOOTHING_MAX)
        e->history_count++;
    size_t use = smoothing < e->history_count ? smoothing : e->history_count;
    for (size_t k = 0; k < n_labels; k++)
        out[k] = 0;
    for (size_t i = 0; i < use; i++) {
        size_t slot = (e->history_pos + SMOOTHING_MAX - 1 - i) % SMOOTHING_MAX;
        const float *h = e->history + slot * n_labels;
        for (size_t k = 0; k < n_labels; k++)
            out[k] += h[k];
    }
    for (size_t k = 0; k < n_labels; k++)
        out[k] /= (float)use;
}

static void *inference_main(void *arg)
{
    genred_engine *e = arg;
    const genre_frontend_spec *fe = &e->model->frontend;
    const size_t n_labels = e->model->n_labels;
    const size_t window_floats = (size_t)fe->window_frames * fe->n_mels;
    const double frame_s = (double)fe->hop / fe->sample_rate;
    genred_result *r = &e->work;
    r->n_labels = n_labels;

    pthread_mutex_lock(&e->lock);
    /* Results are due at last + interval; the interval is re-read while
     * waiting, so a reload that shortens it applies at once.  The first
     * result is due right away. */
    double last = genred_mono_now() - e->params.interval;
    while (!e->stop_inference) {
        double due = last + e->params.interval;
        if (genred_mono_now() < due) {
            struct timespec ts = to_timespec(due);
            int rc = pthread_cond_timedwait(&e->wake, &e->lock, &ts);
            if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
                break;
            continue;   /* woken: re-check stop and the due time */
        }
        genred_engine_params params = e->params;
        int have_input = e->source != NULL;
        /* The frames that arrived since the last turn go to the stream
         * classifier: a graph model computes each of them once here, so a
         * result costs a turn's frames and one pooling, not a whole
         * window.  A window that restarted (new source or front-end), or
         * more new frames than the window holds (this thread was held up),
         * starts the stream over. */
        uint64_t count = genre_window_count(e->window);
        size_t fresh = 0;
        if (count < e->consumed || count - e->consumed > fe->window_frames) {
            genre_stream_reset(e->stream);
            e->consumed = count > fe->window_frames ? count - fe->window_frames : 0;
            e->stream_origin = e->consumed;
        }
        if (have_input && count > e->consumed) {
            fresh = (size_t)(count - e->consumed);
            memcpy(e->fresh, genre_window_view(e->window) + (window_floats - fresh * fe->n_mels),
                   fresh * fe->n_mels * sizeof(float));
            e->consumed = count;
        }
        double level = e->level_dbfs;
        int nonfinite = e->input_nonfinite;
        double epoch = e->window_epoch;
        pthread_mutex_unlock(&e->lock);

        r->seq++;
        r->time = genred_wall_now();
        r->top = -1;
        r->confidence = 0;
        r->inference_ms = 0;
        r->progress = 0;
        double t0 = genred_mono_now();
        int stream_failed = fresh && genre_stream_push_frames(e->stream, e->fresh, fresh, NULL, NULL);
        /* Results need a whole window whose frames have their look-ahead. */
        uint64_t ready = genre_stream_ready(e->stream);
        int full = ready >= fe->window_frames;
        genre_stream_window w = {0};
        if (have_input && full && !stream_failed && genre_stream_latest(e->stream, &w) != 0)
            stream_failed = 1;
        if (stream_failed) {
            genred_warning(e->log, "stream classifier: %s", genre_stream_error(e->stream));
            genre_stream_reset(e->stream);
            e->stream_origin = e->consumed;
            full = 0;
        }
        if (have_input && count > 0) {
            /* The window the result is for: the newest ready frames. */
            uint64_t end = e->stream_origin + ready, n = ready < fe->window_frames ? ready : fe->window_frames;
            if (!full)
                end = count, n = count < fe->window_frames ? count : fe->window_frames;
            r->has_window = end > 0;
            r->window_start = epoch + (double)(end - n) * frame_s;
            r->window_end = epoch + (double)(end - 1) * frame_s + (double)fe->n_fft / fe->sample_rate;
        }
        if (have_input)
            r->level_dbfs = level;
        int model_error = 0;
        if (!have_input) {
            r->state = GENRED_STATE_NO_INPUT;
            e->history_count = 0;
        } else if (nonfinite) {
            /* No genre for a window that had garbage in it, and no
             * probabilities of an earlier window beside this state. */
            r->state = GENRED_STATE_BAD_INPUT;
            r->has_probs = 0;
            e->history_count = 0;
        } else if (!full) {
            r->state = GENRED_STATE_WARMING;
            r->progress = (double)ready / fe->window_frames;
            e->history_count = 0;
        } else {
            memcpy(e->raw, w.probs, n_labels * sizeof *e->raw);
            r->inference_ms = (genred_mono_now() - t0) * 1000.0;
            r->has_probs = 1;
            for (size_t k = 0; k < n_labels && !model_error; k++)
                model_error = !isfinite(e->raw[k]);
            if (model_error) {
                /* Overflowing weights and the like: the output must not
                 * become a genre, nor enter the smoothing history, where
                 * it would poison the mean of the next results too. */
                r->state = GENRED_STATE_MODEL_ERROR;
                r->has_probs = 0;
                e->history_count = 0;
            } else if (level < params.silence_dbfs) {
                r->state = GENRED_STATE_SILENCE;
                memcpy(r->probs, e->raw, n_labels * sizeof *r->probs);
                e->history_count = 0;
            } else {
                r->state = GENRED_STATE_OK;
                smooth(e, e->raw, n_labels, (size_t)params.smoothing, r->probs);
                size_t top = 0;
                for (size_t k = 1; k < n_labels; k++)
                    if (r->probs[k] > r->probs[top])
                        top = k;
                r->top = (int)top;
                r->confidence = r->probs[top];
            }
        }
        publish(e, r);

        pthread_mutex_lock(&e->lock);
        e->model_errors += (uint64_t)model_error;
        if (r->inference_ms > 0) {
            e->inferences++;
            e->inference_ms_last = r->inference_ms;
            e->inference_ms_sum += r->inference_ms;
        }
        last = due;
        double now = genred_mono_now();
        if (now - last > params.interval)   /* late (slow machine): do not burst */
            last = now;
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* ---- lifecycle -------------------------------------------------------------- */

genred_engine *genred_engine_new(const genred_engine_params *params, genred_log *log,
                                 void (*on_result)(void *user), void *user, char *err,
                                 size_t errlen)
{
    genred_engine *e = calloc(1, sizeof *e);
    if (!e) {
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    e->log = log;
    e->on_result = on_result;
    e->user = user;
    e->params = *params;
    e->level_dbfs = LEVEL_FLOOR_DBFS;
    atomic_init(&e->stop_feature, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&e->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0 || pthread_mutex_init(&e->lock, NULL) != 0 ||
        pthread_mutex_init(&e->slot_lock, NULL) != 0) {
        genre_set_error(err, errlen, "cannot create engine locks");
        free(e);
        return NULL;
    }
    return e;
}

static int frontends_equal(const genre_frontend_spec *a, const genre_frontend_spec *b)
{
    if (a->sample_rate != b->sample_rate || a->n_fft != b->n_fft || a->hop != b->hop ||
        a->window != b->window || a->n_mels != b->n_mels || a->fmin != b->fmin ||
        a->fmax != b->fmax || a->mel_scale != b->mel_scale || a->log_offset != b->log_offset ||
        a->window_frames != b->window_frames)
        return 0;
    size_t bytes = a->n_mels * sizeof(float);
    if ((a->norm_mean == NULL) != (b->norm_mean == NULL) ||
        (a->norm_std == NULL) != (b->norm_std == NULL))
        return 0;
    if (a->norm_mean && memcmp(a->norm_mean, b->norm_mean, bytes) != 0)
        return 0;
    if (a->norm_std && memcmp(a->norm_std, b->norm_std, bytes) != 0)
        return 0;
    return 1;
}

int genred_engine_replace(genred_engine *e, genre_model *model, genre_stream *stream,
                          const char *model_name, genred_source *source, int replace_source,
                          char *err, size_t errlen)
{
    if (model && !stream) {
        genre_set_error(err, errlen, "internal error: model without its stream classifier");
        return -1;
    }
    const genre_model *m = model ? model : e->model;
    if (!m) {
        genre_set_error(err, errlen, "no model loaded");
        return -1;
    }
    if (model) {
        if (model->n_labels < 1 || model->n_labels > GENRED_MAX_LABELS) {
            genre_set_error(err, errlen, "model has %u labels, genred takes 1..%d",
                            model->n_labels, GENRED_MAX_LABELS);
            return -1;
        }
    }
    genred_source *src = replace_source ? source : e->source;
    const genre_frontend_spec *fe = &m->frontend;
    int spec_same = !model || (e->model && frontends_equal(&e->model->frontend, fe));
    int new_stream = replace_source || !spec_same;    /* window and level start over */

    /* Prepare everything that can fail. */
    genre_pipeline *pipeline = NULL;
    genre_window *window = NULL;
    float *fresh = NULL, *chunk = NULL, *raw = NULL, *history = NULL;
    level_meter level = {0};
    char why[256];
    if (src && (new_stream || !e->pipeline)) {
        pipeline = genre_pipeline_new(fe, genred_source_rate(src), genred_source_channels(src),
                                      why, sizeof why);
        if (!pipeline) {
            genre_set_error(err, errlen, "cannot set up features for %s: %s",
                            genred_source_name(src), why);
            return -1;
        }
        if (level_init(&level, fe, genred_source_rate(src), genred_source_channels(src)))
            goto oom;
        chunk = malloc(CHUNK_FRAMES * (size_t)genred_source_channels(src) * sizeof *chunk);
        if (!chunk)
            goto oom;
    }
    if (!spec_same || !e->window) {
        window = genre_window_new(fe->window_frames, fe->n_mels);
        fresh = malloc((size_t)fe->window_frames * fe->n_mels * sizeof *fresh);
        if (!window || !fresh)
            goto oom;
    }
    if (model) {
        raw = malloc(model->n_labels * sizeof *raw);
        history = malloc((size_t)SMOOTHING_MAX * model->n_labels * sizeof *history);
        if (!raw || !history)
            goto oom;
    }

    /* Swap.  Both threads stand still meanwhile; the source keeps
     * capturing into its ring. */
    int was_running = e->inference_running;
    genred_engine_stop(e);
    if (replace_source) {
        if (e->source) {
            genred_ring *ring = genred_source_ring(e->source);
            e->frames_base += e->source_frames;
            e->dropped_base += genred_ring_dropped(ring) / (uint64_t)genred_source_channels(e->source);
            e->drop_events_base += genred_ring_drop_events(ring);
            e->overflows_base += genred_source_device_overflows(e->source);
            e->stream_base += (double)e->source_frames / genred_source_rate(e->source);
            genred_source_close(e->source);
        }
        e->source = source;
        e->source_frames = 0;
    }
    if (model) {
        genre_stream_del(e->stream);
        genre_model_del(e->model);
        e->model = model;
        e->stream = stream;
        /* The new network starts from the window's current frames. */
        e->consumed = 0;
        e->stream_origin = 0;
        snprintf(e->model_name, sizeof e->model_name, "%s", model_name ? model_name : "");
        free(e->raw);
        free(e->history);
        e->raw = raw;
        e->history = history;
        e->history_count = e->history_pos = 0;
        e->work.has_probs = 0;
    }
    if (window) {
        genre_window_del(e->window);
        free(e->fresh);
        e->window = window;
        e->fresh = fresh;
    }
    if (pipeline || !e->source) {
        genre_pipeline_del(e->pipeline);
        e->pipeline = pipeline;
        level_free(&e->level);
        e->level = level;
        free(e->chunk);
        e->chunk = chunk;
    }
    if (new_stream) {
        genre_window_reset(e->window);
        genre_stream_reset(e->stream);
        e->consumed = 0;
        e->stream_origin = 0;
        level_reset(&e->level);
        e->level_dbfs = LEVEL_FLOOR_DBFS;
        e->input_nonfinite = 0;
        e->window_epoch = e->stream_base +
            (e->source ? (double)e->source_frames / genred_source_rate(e->source) : 0);
    }
    if (model) {
        /* A result of the old model still waiting for the main thread
         * would be read with the new model's labels. */
        pthread_mutex_lock(&e->slot_lock);
        e->slot_new = 0;
        pthread_mutex_unlock(&e->slot_lock);
    }
    /* The swap is done and the engine owns the new parts whatever happens
     * now, so a failure to restart is logged rather than returned. */
    if (was_running && genred_engine_start(e, why, sizeof why))
        genred_error(e->log, "cannot restart the engine threads: %s", why);
    return 0;
oom:
    genre_set_error(err, errlen, "out of memory");
    genre_pipeline_del(pipeline);
    genre_window_del(window);
    level_free(&level);
    free(fresh);
    free(chunk);
    free(raw);
    free(history);
    return -1;
}

void genred_engine_set_params(genred_engine *e, const genred_engine_params *params)
{
    pthread_mutex_lock(&e->lock);
    e->params = *params;
    /* Wake the inference thread so a shorter interval applies now. */
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
}

int genred_engine_start(genred_engine *e, char *err, size_t errlen)
{
    if (!e->model) {
        genre_set_error(err, errlen, "no model loaded");
        return -1;
    }
    int rc;
    if (!e->inference_running) {
        e->stop_inference = 0;
        rc = pthread_create(&e->inference_thread, NULL, inference_main, e);
        if (rc != 0) {
            genre_set_error(err, errlen, "cannot start the inference thread: %s", strerror(rc));
            return -1;
        }
        e->inference_running = 1;
    }
    if (!e->feature_running && e->source) {
        atomic_store_explicit(&e->stop_feature, 0, memory_order_relaxed);
        rc = pthread_create(&e->feature_thread, NULL, feature_main, e);
        if (rc != 0) {
            genre_set_error(err, errlen, "cannot start the feature thread: %s", strerror(rc));
            genred_engine_stop(e);
            return -1;
        }
        e->feature_running = 1;
    }
    return 0;
}

void genred_engine_stop(genred_engine *e)
{
    if (e->feature_running) {
        atomic_store_explicit(&e->stop_feature, 1, memory_order_relaxed);
        pthread_join(e->feature_thread, NULL);
        e->feature_running = 0;
    }
    if (e->inference_running) {
        pthread_mutex_lock(&e->lock);
        e->stop_inference = 1;
        pthread_cond_signal(&e->wake);
        pthread_mutex_unlock(&e->lock);
        pthread_join(e->inference_thread, NULL);
        e->inference_running = 0;
    }
}

int genred_engine_take_result(genred_engine *e, genred_result *out)
{
    pthread_mutex_lock(&e->slot_lock);
    int fresh = e->slot_new;
    if (fresh) {
        *out = e->slot;
        e->slot_new = 0;
    }
    pthread_mutex_unlock(&e->slot_lock);
    return fresh;
}

void genred_engine_get_stats(genred_engine *e, genred_engine_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&e->lock);
    out->frames = e->frames_base + e->source_frames;
    out->inferences = e->inferences;
    out->inference_ms_last = e->inference_ms_last;
    out->inference_ms_mean = e->inferences ? e->inference_ms_sum / (double)e->inferences : 0;
    out->level_dbfs = e->level_dbfs;
    out->nonfinite_samples = e->nonfinite_samples;
    out->model_errors = e->model_errors;
    pthread_mutex_unlock(&e->lock);
    out->dropped_frames = e->dropped_base;
    out->overruns = e->drop_events_base + e->overflows_base;
    if (e->source) {
        genred_ring *ring = genred_source_ring(e->source);
        out->dropped_frames += genred_ring_dropped(ring) / (uint64_t)genred_source_channels(e->source);
        out->overruns += genred_ring_drop_events(ring) + genred_source_device_overflows(e->source);
    }
}

const genre_model *genred_engine_model(const genred_engine *e) { return e->model; }
const char *genred_engine_model_name(const genred_engine *e) { return e->model_name; }
genred_source *genred_engine_source(genred_engine *e) { return e->source; }

void genred_engine_del(genred_engine *e)
{
    if (!e)
        return;
    genred_engine_stop(e);
    genred_source_close(e->source);
    genre_pipeline_del(e->pipeline);
    genre_window_del(e->window);
    genre_stream_del(e->stream);
    genre_model_del(e->model);
    level_free(&e->level);
    free(e->chunk);
    free(e->fresh);
    free(e->raw);
    free(e->history);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->slot_lock);
    pthread_cond_destroy(&e->wake);
    free(e);
}
