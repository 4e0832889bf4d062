/* Feature and inference threads around the rolling window (see engine.h). */
#include "genred/clock.h"
#include "genred/engine.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "genre/level.h"
#include "genre/pipeline.h"
#include "genre/rank.h"
#include "genre/stream.h"
#include "genre/window.h"
#include "genred/level_meter.h"

/* Frames read from the ring per pipeline call: the pipeline's own chunk,
 * so it never splits a call. */
#define CHUNK_FRAMES GENRE_PIPELINE_MAX_CHUNK
/* How the feature thread waits for audio.  It sleeps on a semaphore,
 * which a source that says when audio arrives (PulseAudio, a file:
 * genred_source_notify) posts after each delivery, and the inference
 * thread posts to ask for a drain.  A PortAudio callback must not make
 * system calls, so it posts nothing: its ring is drained every
 * FEATURE_PERIOD_NS (the ring, 4 s, holds 40 periods), and a result due
 * asks for a drain at once and waits for it (at most DRAIN_WAIT_NS).  A
 * source that posts is drained once per delivery -- once per interval
 * with the automatic latency -- and a result is computed at the drain of
 * the first delivery from half a delivery before its due time, so its
 * window ends with audio that has just arrived (if deliveries come at
 * least once per interval; longer ones would hold results back, so then
 * it asks for a drain as with PortAudio).
 * FALLBACK_PERIOD_NS only bounds the sleep should the posts stop. */
#define FEATURE_PERIOD_NS 100000000L
#define FALLBACK_PERIOD_NS 2000000000L
#define DRAIN_WAIT_NS 50000000L

/* Everything a source has lost so far: the ring's drops and what the
 * source itself reports. */
typedef struct genred_loss_totals {
    uint64_t drop_events, dropped_frames, overflows, gaps, gap_frames;
} genred_loss_totals;

static genred_loss_totals loss_totals(genred_source *src)
{
    genred_ring *ring = genred_source_ring(src);
    genred_source_losses sl;
    genred_source_get_losses(src, &sl);
    return (genred_loss_totals){
        .drop_events = genred_ring_drop_events(ring),
        .dropped_frames = genred_ring_dropped(ring) / (uint64_t)genred_source_channels(src),
        .overflows = sl.overflows,
        .gaps = sl.gaps,
        .gap_frames = sl.gap_frames,
    };
}

/* What the inference thread runs.  A new set is handed over, not swapped
 * in under the thread's feet: the main thread leaves it in `pending` and
 * the inference thread adopts it between two results, so a reload never
 * waits for an inference in progress (which a large model on a slow
 * machine can make seconds long). */
typedef struct net_parts {
    genre_model *model;
    genre_stream *stream;       /* the model's stream classifier */
    float *fresh;               /* frames new since the last turn */
    float *raw;                 /* network output */
    genred_smoother smoother;   /* its recent outputs */
    uint64_t generation;        /* which replace made it (results carry it) */
} net_parts;

static void net_parts_free(net_parts *p)
{
    genre_stream_del(p->stream);
    genre_model_del(p->model);
    free(p->fresh);
    free(p->raw);
    genred_smoother_free(&p->smoother);
    memset(p, 0, sizeof *p);
}

struct genred_engine {
    genred_log *log;
    void (*on_result)(void *user);
    void *user;

    /* Main thread's parts.  The feature thread's (source, pipeline,
     * chunk, level) are replaced only while it stands; window, source and
     * pending under `lock`.  `model` is the newest model (pending or
     * running): the one whose labels the main thread reports with. */
    genre_model *model;
    uint64_t generation;
    char model_name[256];
    genred_source *source;
    genre_pipeline *pipeline;
    genre_window *window;
    float *chunk;               /* feature thread: CHUNK_FRAMES * channels */
    genred_level_meter level;   /* feature thread */
    genred_loss_totals seen;    /* feature thread: the current source's losses so far */
    int started;                /* genred_engine_start was called, _stop was not */

    /* Inference thread's own state. */
    net_parts active;
    uint64_t window_gen_seen;   /* window_gen the stream was last reset for */
    uint64_t consumed;          /* window frames given to the stream */
    uint64_t stream_origin;     /* window frame that is stream frame 0 */
    genred_result work;         /* result being built */

    /* Shared by the feature and inference threads (and the main thread
     * for parameters and statistics). */
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* inference thread's timed wait */
    pthread_cond_t drained_cond;    /* a drain finished (or a wait for one must end) */
    /* The feature thread's wake-up: posted by a source that says when
     * audio arrives (genred_source_notify), by a drain request and by a
     * stop. */
    sem_t feature_wake;
    double delivery_seconds;        /* the source's delivery period; 0: it does not post */
    uint64_t drains_started, drains_done;
    int feature_running_shared;     /* feature_running, for the inference thread */
    int stop_inference;
    int inference_done;         /* the inference thread has left its loop */
    net_parts pending;          /* model != NULL: waiting for the inference thread */
    uint64_t window_gen;        /* bumped when the window starts over */
    genred_engine_params params;
    uint64_t source_frames;     /* frames consumed from the current source */
    double level_dbfs;
    double stream_base;         /* stream seconds before the current source */
    double window_epoch;        /* stream seconds at the last window reset */
    uint64_t inferences;
    double inference_ms_last, inference_ms_sum;
    int input_nonfinite;        /* the level blocks (the window) hold NaN/inf samples */
    uint64_t window_loss_events;    /* losses inside the window's audio */
    double window_lost_s;           /* and the seconds they lost */
    uint64_t nonfinite_samples, model_errors;
    /* Totals of sources already closed. */
    uint64_t frames_base;
    genred_loss_totals losses_base;

    _Atomic int stop_feature;
    pthread_t feature_thread, inference_thread;
    int feature_running, inference_running;

    /* The hand-off to the main thread: results of an older generation
     * than slot_generation (a model since replaced) are dropped. */
    pthread_mutex_t slot_lock;
    genred_result slot;
    int slot_new;
    uint64_t slot_generation;
    int detached;               /* the engine outlives genred_engine_del: no callbacks */
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

/* ---- feature thread ------------------------------------------------------- */

static int on_frame(void *user, const float *frame)
{
    genred_engine *e = user;
    pthread_mutex_lock(&e->lock);
    genre_window_push(e->window, frame);
    pthread_mutex_unlock(&e->lock);
    return 0;
}

/* Everything the ring holds, through the pipeline into the window. */
static void drain(genred_engine *e, genred_ring *ring, size_t channels)
{
    const size_t chunk_floats = CHUNK_FRAMES * channels;
    size_t n;
    while ((n = genred_ring_read(ring, e->chunk, chunk_floats)) > 0) {
        /* Losses found since the last read happened before these samples
         * (give or take what the ring held): the window joins audio from
         * before and after them, and says so while they are inside it. */
        genred_loss_totals now = loss_totals(e->source);
        uint64_t events = (now.drop_events - e->seen.drop_events) +
                          (now.overflows - e->seen.overflows) + (now.gaps - e->seen.gaps);
        uint64_t lost = (now.dropped_frames - e->seen.dropped_frames) +
                        (now.gap_frames - e->seen.gap_frames);
        if (events || lost)
            genred_level_meter_add_loss(&e->level, events, lost);
        e->seen = now;
        /* The producer only ever writes whole frames, so n is too. */
        size_t frames = n / channels;
        size_t replaced = genred_level_meter_add(&e->level, e->chunk, n);
        double db = genred_level_meter_dbfs(&e->level);
        int nonfinite = genred_level_meter_has_nonfinite(&e->level);
        uint64_t window_events, window_lost;
        genred_level_meter_losses(&e->level, &window_events, &window_lost);
        pthread_mutex_lock(&e->lock);
        e->source_frames += frames;
        e->level_dbfs = db;
        e->input_nonfinite = nonfinite;
        e->window_loss_events = window_events;
        e->window_lost_s = (double)window_lost / genred_source_rate(e->source);
        e->nonfinite_samples += replaced;
        pthread_mutex_unlock(&e->lock);
        if (genre_pipeline_push(e->pipeline, e->chunk, frames, on_frame, e) < 0)
            genred_warning(e->log, "feature pipeline failed on %zu frames; continuing", frames);
        if (atomic_load_explicit(&e->stop_feature, memory_order_relaxed))
            return;
    }
}

static void *feature_main(void *arg)
{
    genred_engine *e = arg;
    genred_ring *ring = genred_source_ring(e->source);
    const size_t channels = (size_t)genred_source_channels(e->source);
    /* Set before this thread starts, changed only while it stands. */
    const long period_ns = e->delivery_seconds > 0 ? FALLBACK_PERIOD_NS : FEATURE_PERIOD_NS;
    int posted = 1;
    while (!atomic_load_explicit(&e->stop_feature, memory_order_relaxed)) {
        /* Posts that came while draining are served by the drain below. */
        while (sem_trywait(&e->feature_wake) == 0)
            ;
        /* Only a drain that was asked for (a delivery, a request) counts
         * for a result waiting for one; a timed one may find nothing new. */
        pthread_mutex_lock(&e->lock);
        uint64_t serving = e->drains_started += (uint64_t)posted;
        pthread_mutex_unlock(&e->lock);
        drain(e, ring, channels);
        pthread_mutex_lock(&e->lock);
        e->drains_done = serving;
        pthread_cond_broadcast(&e->drained_cond);
        pthread_mutex_unlock(&e->lock);
        struct timespec ts = to_timespec(genred_mono_now() + period_ns * 1e-9);
        int rc;
        while ((rc = sem_clockwait(&e->feature_wake, CLOCK_MONOTONIC, &ts)) != 0 && errno == EINTR)
            ;
        posted = rc == 0;
    }
    return NULL;
}

/* ---- inference thread ------------------------------------------------------ */

static void publish(genred_engine *e, const genred_result *r, uint64_t generation)
{
    pthread_mutex_lock(&e->slot_lock);
    int current = generation == e->slot_generation && !e->detached;
    if (current) {
        e->slot = *r;
        e->slot_new = 1;
    }
    /* Inside the lock, so genred_engine_del can detach the callback from
     * a thread it gives up waiting for. */
    if (current && e->on_result)
        e->on_result(e->user);
    pthread_mutex_unlock(&e->slot_lock);
}

/* Called with e->lock held: adopt the parts a replace left, if any.  The
 * replaced parts go to *retired, for freeing outside the lock. */
static void adopt_pending(genred_engine *e, net_parts *retired)
{
    if (!e->pending.model)
        return;
    *retired = e->active;
    e->active = e->pending;
    memset(&e->pending, 0, sizeof e->pending);
    /* The new network starts from the window's current frames. */
    e->window_gen_seen = e->window_gen - 1;
    e->work.has_probs = 0;
}

/* Called with e->lock held: results wait for deliveries (the source says
 * when audio arrives, at least once per interval, give or take a
 * delivery's rounding). */
static int follows_deliveries(const genred_engine *e)
{
    return e->delivery_seconds > 0 && e->delivery_seconds <= 1.05 * e->params.interval;
}

static void *inference_main(void *arg)
{
    genred_engine *e = arg;
    genred_result *r = &e->work;

    pthread_mutex_lock(&e->lock);
    /* Results are due at last + interval; the interval is re-read while
     * waiting, so a reload that shortens it applies at once.  The first
     * result is due right away. */
    double last = genred_mono_now() - e->params.interval;
    while (!e->stop_inference) {
        net_parts retired = {0};
        adopt_pending(e, &retired);
        if (retired.model) {
            pthread_mutex_unlock(&e->lock);
            net_parts_free(&retired);
            pthread_mutex_lock(&e->lock);
            continue;   /* re-check stop and pending */
        }
        if (!e->active.model) {     /* nothing to run until a model is handed over */
            pthread_cond_wait(&e->wake, &e->lock);
            continue;
        }
        double due = last + e->params.interval;
        /* Following deliveries, a result is computed at the first one from
         * half a delivery before its due time: the one nearest to it. */
        int follow = follows_deliveries(e);
        double start = follow ? due - 0.5 * e->delivery_seconds : due;
        if (genred_mono_now() < start) {
            struct timespec ts = to_timespec(start);
            int rc = pthread_cond_timedwait(&e->wake, &e->lock, &ts);
            if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
                break;
            continue;   /* woken: re-check stop, pending and the due time */
        }
        /* The window up to now.  A source that says when audio arrives
         * (PulseAudio, a file) at least once per interval: the result waits
         * for the drain of the next delivery, so its window ends with audio
         * that has just arrived, not with audio up to a delivery period old
         * (end of window -> client: doc/benchmarks.md).  Due times stay on
         * their grid, so results stay one per interval.  Any other source:
         * the feature thread drains the ring at once. */
        if (e->feature_running_shared) {
            uint64_t target = e->drains_started + 1;
            double wait_s = follow ? 1.5 * e->delivery_seconds : DRAIN_WAIT_NS * 1e-9;
            if (!follow)
                sem_post(&e->feature_wake);
            struct timespec limit = to_timespec(genred_mono_now() + wait_s);
            while (e->drains_done < target && e->feature_running_shared && !e->stop_inference &&
                   !e->pending.model &&
                   pthread_cond_timedwait(&e->drained_cond, &e->lock, &limit) != ETIMEDOUT)
                ;
            if (e->stop_inference || e->pending.model)
                continue;
        }
        const genre_model *model = e->active.model;
        const genre_frontend_spec *fe = &model->frontend;
        const size_t n_labels = model->n_labels;
        const size_t window_floats = (size_t)fe->window_frames * fe->n_mels;
        const double frame_s = (double)fe->hop / fe->sample_rate;
        const uint64_t generation = e->active.generation;
        genre_stream *stream = e->active.stream;
        r->n_labels = n_labels;

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
        if (e->window_gen_seen != e->window_gen) {
            e->window_gen_seen = e->window_gen;
            e->consumed = 0;
            e->stream_origin = 0;
            genre_stream_reset(stream);
        }
        if (count < e->consumed || count - e->consumed > fe->window_frames) {
            genre_stream_reset(stream);
            e->consumed = count > fe->window_frames ? count - fe->window_frames : 0;
            e->stream_origin = e->consumed;
        }
        if (have_input && count > e->consumed) {
            fresh = (size_t)(count - e->consumed);
            memcpy(e->active.fresh,
                   genre_window_view(e->window) + (window_floats - fresh * fe->n_mels),
                   fresh * fe->n_mels * sizeof(float));
            e->consumed = count;
        }
        double level = e->level_dbfs;
        int nonfinite = e->input_nonfinite;
        uint64_t loss_events = e->window_loss_events;
        double lost_s = e->window_lost_s;
        double epoch = e->window_epoch;
        pthread_mutex_unlock(&e->lock);

        r->seq++;
        r->time = genred_wall_now();
        r->top = -1;
        r->confidence = 0;
        r->inference_ms = 0;
        r->progress = 0;
        double t0 = genred_mono_now();
        int stream_failed = fresh && genre_stream_push_frames(stream, e->active.fresh, fresh,
                                                              NULL, NULL);
        /* Results need a whole window whose frames have their look-ahead. */
        uint64_t ready = genre_stream_ready(stream);
        int full = ready >= fe->window_frames;
        genre_stream_window w = {0};
        if (have_input && full && !stream_failed && genre_stream_latest(stream, &w) != 0)
            stream_failed = 1;
        if (stream_failed) {
            pthread_mutex_lock(&e->lock);
            /* Cancelled by a replace or a stop: its result is not wanted. */
            int abandoned = e->stop_inference || e->pending.model;
            if (abandoned) {
                last = genred_mono_now() - params.interval;
                continue;
            }
            pthread_mutex_unlock(&e->lock);
            genred_warning(e->log, "stream classifier: %s", genre_stream_error(stream));
            genre_stream_reset(stream);
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
        r->lost_s = have_input ? lost_s : 0;
        genred_window_facts facts = {
            .have_input = have_input,
            .nonfinite = nonfinite,
            .full = full,
            .output_finite = 1,
            .level_dbfs = level,
            .silence_dbfs = params.silence_dbfs,
            .loss_events = loss_events,
        };
        float *raw = e->active.raw;
        if (have_input && !nonfinite && full) {
            memcpy(raw, w.probs, n_labels * sizeof *raw);
            r->inference_ms = (genred_mono_now() - t0) * 1000.0;
            for (size_t k = 0; k < n_labels; k++)
                facts.output_finite &= isfinite(raw[k]) != 0;
        }
        r->state = genred_decide_state(&facts);
        int model_error = r->state == GENRED_STATE_MODEL_ERROR;
        switch (r->state) {
        case GENRED_STATE_NO_INPUT:
            break;
        case GENRED_STATE_WARMING:
            r->progress = (double)ready / fe->window_frames;
            break;
        case GENRED_STATE_BAD_INPUT:
        case GENRED_STATE_MODEL_ERROR:
            /* No probabilities of an earlier window beside these states. */
            r->has_probs = 0;
            break;
        case GENRED_STATE_SILENCE:
            r->has_probs = 1;
            memcpy(r->probs, raw, n_labels * sizeof *r->probs);
            break;
        case GENRED_STATE_OK:
        case GENRED_STATE_DEGRADED:
            r->has_probs = 1;
            genred_smoother_push(&e->active.smoother, raw, (size_t)params.smoothing, r->probs);
            r->top = (int)genre_argmax(r->probs, n_labels);
            r->confidence = r->probs[r->top];
            break;
        }
        if (!genred_state_has_genre(r->state))
            genred_smoother_reset(&e->active.smoother);
        publish(e, r, generation);

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
    e->inference_done = 1;
    pthread_cond_broadcast(&e->wake);
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
    e->level_dbfs = GENRE_LEVEL_FLOOR_DBFS;
    atomic_init(&e->stop_feature, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&e->wake, &ca);
    rc |= pthread_cond_init(&e->drained_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0 || pthread_mutex_init(&e->lock, NULL) != 0 ||
        pthread_mutex_init(&e->slot_lock, NULL) != 0 || sem_init(&e->feature_wake, 0, 0) != 0) {
        genre_set_error(err, errlen, "cannot create engine locks");
        free(e);
        return NULL;
    }
    return e;
}

static int frontends_equal(const genre_frontend_spec *a, const genre_frontend_spec *b)
{
    if (a->sample_rate != b->sample_rate || a->n_fft != b->n_fft || a->hop != b->hop ||
        a->stft_window != b->stft_window || a->n_mels != b->n_mels || a->fmin != b->fmin ||
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

static void stop_feature_thread(genred_engine *e)
{
    if (!e->feature_running)
        return;
    atomic_store_explicit(&e->stop_feature, 1, memory_order_relaxed);
    pthread_mutex_lock(&e->lock);
    e->feature_running_shared = 0;
    sem_post(&e->feature_wake);
    pthread_cond_broadcast(&e->drained_cond);   /* nobody waits for a drain now */
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->feature_thread, NULL);
    e->feature_running = 0;
}

static int start_feature_thread(genred_engine *e, char *err, size_t errlen)
{
    if (e->feature_running || !e->source)
        return 0;
    atomic_store_explicit(&e->stop_feature, 0, memory_order_relaxed);
    int rc = pthread_create(&e->feature_thread, NULL, feature_main, e);
    if (rc != 0) {
        genre_set_error(err, errlen, "cannot start the feature thread: %s", strerror(rc));
        return -1;
    }
    e->feature_running = 1;
    pthread_mutex_lock(&e->lock);
    e->feature_running_shared = 1;
    pthread_mutex_unlock(&e->lock);
    return 0;
}

int genred_engine_apply(genred_engine *e, const genred_engine_change *change, char *err,
                        size_t errlen)
{
    genre_model *model = change->model;
    genre_stream *stream = change->stream;
    const char *model_name = change->model_name;
    int replace_source = change->replace_source;
    genred_source *source = change->source;
    if (model && !stream) {
        genre_set_error(err, errlen, "internal error: model without its stream classifier");
        return -1;
    }
    const genre_model *m = model ? model : e->model;
    if (!m) {
        genre_set_error(err, errlen, "no model loaded");
        return -1;
    }
    genred_source *src = replace_source ? source : e->source;
    const genre_frontend_spec *fe = &m->frontend;
    int spec_same = !model || (e->model && frontends_equal(&e->model->frontend, fe));
    int new_stream = replace_source || !spec_same;    /* window and level start over */

    /* Prepare everything that can fail. */
    genre_pipeline *pipeline = NULL;
    genre_window *window = NULL;
    float *chunk = NULL;
    net_parts parts = {0};
    genred_level_meter level = {0};
    char why[256];
    if (src && (new_stream || !e->pipeline)) {
        pipeline = genre_pipeline_new(fe, genred_source_rate(src), genred_source_channels(src),
                                      why, sizeof why);
        if (!pipeline) {
            genre_set_error(err, errlen, "cannot set up features for %s: %s",
                            genred_source_name(src), why);
            return -1;
        }
        if (genred_level_meter_init(&level, genre_frontend_window_seconds(fe),
                                    genred_source_rate(src), genred_source_channels(src)))
            goto oom;
        chunk = malloc(CHUNK_FRAMES * (size_t)genred_source_channels(src) * sizeof *chunk);
        if (!chunk)
            goto oom;
    }
    if (!spec_same || !e->window) {
        window = genre_window_new(fe->window_frames, fe->n_mels);
        if (!window)
            goto oom;
    }
    if (model) {
        parts.fresh = malloc((size_t)fe->window_frames * fe->n_mels * sizeof *parts.fresh);
        parts.raw = malloc(model->n_labels * sizeof *parts.raw);
        if (!parts.fresh || !parts.raw ||
            genred_smoother_init(&parts.smoother, model->n_labels, GENRED_SMOOTHING_MAX))
            goto oom;
        parts.model = model;
        parts.stream = stream;
        parts.generation = e->generation + 1;
    }

    /* Swap.  Only the feature thread stops, and only when its own parts
     * change: it never waits for long (one pipeline chunk).  The inference
     * thread takes a new model over at its next turn (adopt_pending); the
     * source keeps capturing into its ring meanwhile, so no audio is lost
     * to a swap. */
    int feature_parts = pipeline || replace_source || new_stream;
    if (feature_parts)
        stop_feature_thread(e);
    genred_source *closing = NULL;
    net_parts unadopted = {0};
    pthread_mutex_lock(&e->lock);
    if (replace_source) {
        if (e->source) {
            genred_loss_totals t = loss_totals(e->source);
            e->frames_base += e->source_frames;
            e->losses_base.drop_events += t.drop_events;
            e->losses_base.dropped_frames += t.dropped_frames;
            e->losses_base.overflows += t.overflows;
            e->losses_base.gaps += t.gaps;
            e->losses_base.gap_frames += t.gap_frames;
            e->stream_base += (double)e->source_frames / genred_source_rate(e->source);
            closing = e->source;
            genred_source_notify(closing, NULL);
        }
        e->source = source;
        e->delivery_seconds = source ? genred_source_notify(source, &e->feature_wake) : 0;
        e->source_frames = 0;
        e->seen = (genred_loss_totals){0};
    }
    if (model) {
        /* A hand-over the inference thread has not taken yet is dropped;
         * a computation in progress is abandoned (its result would be
         * dropped anyway). */
        unadopted = e->pending;
        e->pending = parts;
        if (e->active.stream)
            genre_stream_cancel(e->active.stream);
        e->model = model;
        e->generation = parts.generation;
        pthread_cond_broadcast(&e->drained_cond);   /* a wait for audio ends: adopt it now */
        snprintf(e->model_name, sizeof e->model_name, "%s", model_name ? model_name : "");
    }
    if (window) {
        genre_window_del(e->window);
        e->window = window;
    }
    if (pipeline || !e->source) {
        genre_pipeline_del(e->pipeline);
        e->pipeline = pipeline;
        genred_level_meter_free(&e->level);
        e->level = level;
        free(e->chunk);
        e->chunk = chunk;
    }
    if (new_stream) {
        genre_window_reset(e->window);
        e->window_gen++;
        genred_level_meter_reset(&e->level);
        e->level_dbfs = GENRE_LEVEL_FLOOR_DBFS;
        e->input_nonfinite = 0;
        e->window_loss_events = 0;
        e->window_lost_s = 0;
        e->window_epoch = e->stream_base +
            (e->source ? (double)e->source_frames / genred_source_rate(e->source) : 0);
    }
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    if (model) {
        /* A result of the old model still waiting for the main thread
         * would be read with the new model's labels. */
        pthread_mutex_lock(&e->slot_lock);
        e->slot_new = 0;
        e->slot_generation = e->generation;
        pthread_mutex_unlock(&e->slot_lock);
    }
    /* The unadopted parts were never touched by the inference thread, and
     * the closed source's ring only by the feature thread, which stands. */
    if (unadopted.model && unadopted.model != e->model)
        net_parts_free(&unadopted);
    genred_source_close(closing);
    /* The swap is done and the engine owns the new parts whatever happens
     * now, so a failure to restart is logged rather than returned. */
    if (e->started && start_feature_thread(e, why, sizeof why))
        genred_error(e->log, "cannot restart the feature thread: %s", why);
    return 0;
oom:
    genre_set_error(err, errlen, "out of memory");
    genre_pipeline_del(pipeline);
    genre_window_del(window);
    genred_level_meter_free(&level);
    free(chunk);
    free(parts.fresh);
    free(parts.raw);
    genred_smoother_free(&parts.smoother);
    return -1;
}

int genred_engine_set_model(genred_engine *e, genre_model *model, genre_stream *stream,
                            const char *model_name, char *err, size_t errlen)
{
    genred_engine_change c = {.model = model, .stream = stream, .model_name = model_name};
    return genred_engine_apply(e, &c, err, errlen);
}

int genred_engine_set_source(genred_engine *e, genred_source *source, char *err, size_t errlen)
{
    genred_engine_change c = {.replace_source = 1, .source = source};
    return genred_engine_apply(e, &c, err, errlen);
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
    if (!e->inference_running) {
        e->stop_inference = 0;
        e->inference_done = 0;
        int rc = pthread_create(&e->inference_thread, NULL, inference_main, e);
        if (rc != 0) {
            genre_set_error(err, errlen, "cannot start the inference thread: %s", strerror(rc));
            return -1;
        }
        e->inference_running = 1;
    }
    e->started = 1;
    if (start_feature_thread(e, err, errlen)) {
        genred_engine_stop(e);
        return -1;
    }
    return 0;
}

/* How long genred_engine_stop waits for an inference that does not notice
 * its cancellation (one enormous layer of a version-1 model): less than
 * systemd's stop timeout (genred.service: TimeoutStopSec=5). */
#define STOP_WAIT_SECONDS 2.0

int genred_engine_stop(genred_engine *e)
{
    e->started = 0;
    stop_feature_thread(e);
    if (!e->inference_running)
        return 0;
    pthread_mutex_lock(&e->lock);
    e->stop_inference = 1;
    if (e->active.stream)
        genre_stream_cancel(e->active.stream);
    pthread_cond_signal(&e->wake);
    pthread_cond_broadcast(&e->drained_cond);
    struct timespec deadline = to_timespec(genred_mono_now() + STOP_WAIT_SECONDS);
    int rc = 0;
    while (!e->inference_done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&e->wake, &e->lock, &deadline);
    int done = e->inference_done;
    pthread_mutex_unlock(&e->lock);
    if (!done)
        return -1;
    pthread_join(e->inference_thread, NULL);
    e->inference_running = 0;
    return 0;
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
    genred_loss_totals t = e->losses_base;
    if (e->source) {
        genred_loss_totals now = loss_totals(e->source);
        t.drop_events += now.drop_events;
        t.dropped_frames += now.dropped_frames;
        t.overflows += now.overflows;
        t.gaps += now.gaps;
        t.gap_frames += now.gap_frames;
    }
    out->overruns = t.drop_events + t.overflows;
    out->dropped_frames = t.dropped_frames;
    out->gaps = t.gaps;
    out->gap_frames = t.gap_frames;
}

const genre_model *genred_engine_model(const genred_engine *e) { return e->model; }
const char *genred_engine_model_name(const genred_engine *e) { return e->model_name; }
genred_source *genred_engine_source(genred_engine *e) { return e->source; }

void genred_engine_del(genred_engine *e)
{
    if (!e)
        return;
    if (genred_engine_stop(e)) {
        /* The inference thread is still inside one computation.  Freeing
         * what it uses would crash it, and waiting could outlast systemd's
         * patience: it is left to end with the process, and told not to
         * call back into a caller that is going away. */
        pthread_mutex_lock(&e->slot_lock);
        e->detached = 1;
        pthread_mutex_unlock(&e->slot_lock);
        genred_warning(e->log, "the inference thread did not stop within %.0f s; leaving it "
                       "to the process exit", STOP_WAIT_SECONDS);
        return;
    }
    genred_source_close(e->source);
    genre_pipeline_del(e->pipeline);
    genre_window_del(e->window);
    net_parts_free(&e->active);
    net_parts_free(&e->pending);
    genred_level_meter_free(&e->level);
    free(e->chunk);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->slot_lock);
    pthread_cond_destroy(&e->wake);
    pthread_cond_destroy(&e->drained_cond);
    sem_destroy(&e->feature_wake);
    free(e);
}
