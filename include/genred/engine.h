/* The daemon's audio-to-genre engine: two threads around one rolling
 * window.
 *
 *   feature thread:   source ring -> downmix/resample/log-mel (libgenre
 *                     pipeline) -> rolling window; tracks the input level.
 *   inference thread: every `interval` seconds copies the window and runs
 *                     the network, smooths, decides the state and hands
 *                     the result to the main thread (on_result callback,
 *                     which the daemon points at ev_async_send).
 *
 * The window is guarded by a mutex the two threads share (the audio
 * callback never touches it: it only writes the ring).  Everything that
 * replaces parts (model, source, parameters) is called from the main thread
 * and never waits for an inference: the feature thread is stopped and
 * restarted around a change of its own parts (one pipeline chunk's wait),
 * and a new model is handed to the inference thread, which takes it over
 * between two results and abandons a computation in progress for it
 * (genre_stream_cancel).  The source keeps capturing into its ring
 * meanwhile, so no audio is lost to a swap.  Results of a replaced model
 * that were still being computed are dropped, never reported with the new
 * model's labels. */
#ifndef GENRED_ENGINE_H
#define GENRED_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "genre/model.h"
#include "genre/stream.h"
#include "genred/decision.h"
#include "genred/log.h"
#include "genred/source.h"

typedef struct genred_engine_params {
    double interval;            /* seconds between results */
    int smoothing;              /* mean of the last N network outputs */
    double silence_dbfs;
} genred_engine_params;

typedef struct genred_result {
    uint64_t seq;               /* 1, 2, ... per result */
    enum genred_state state;
    double progress;            /* warming: fill of the window, 0..1 */
    int has_probs;              /* a network output exists (now or earlier) */
    int top;                    /* label index of the genre, -1 when none */
    float confidence;           /* probs[top] */
    size_t n_labels;
    float probs[GENRE_MODEL_MAX_LABELS];
    int has_window;
    double window_start, window_end;    /* stream seconds */
    double time;                /* wall clock, epoch seconds */
    double level_dbfs;          /* RMS level over the window's audio */
    double lost_s;              /* audio lost at points inside the window (drops, gaps) */
    double inference_ms;        /* network time of this result, 0 if none ran */
} genred_result;

typedef struct genred_engine_stats {
    uint64_t frames;            /* input frames consumed, all sources */
    uint64_t overruns;          /* ring-full drops + device overflows */
    uint64_t dropped_frames;    /* frames lost to a full ring */
    uint64_t gaps;              /* capture gaps (the process or machine stalled) */
    uint64_t gap_frames;        /* frames the gaps lost (an estimate) */
    uint64_t nonfinite_samples; /* NaN/infinite input samples (replaced by 0) */
    uint64_t model_errors;      /* network outputs that were not finite */
    uint64_t inferences;
    double inference_ms_last, inference_ms_mean;
    double level_dbfs;
} genred_engine_stats;

typedef struct genred_engine genred_engine;

/* on_result runs on the inference thread after each new result. */
genred_engine *genred_engine_new(const genred_engine_params *params, genred_log *log,
                                 void (*on_result)(void *user), void *user, char *err,
                                 size_t errlen);

/* What a change hands over: a model (with its stream classifier,
 * genre/stream.h, which the inference thread feeds with the feature
 * thread's frames, and the name reports show), a source, or both at once
 * (a reload that changes both must never run the new model on the old
 * source's features or the other way round). */
typedef struct genred_engine_change {
    genre_model *model;         /* NULL: keep the current model */
    genre_stream *stream;       /* with model: its stream classifier */
    const char *model_name;
    int replace_source;         /* 0: keep the current source */
    genred_source *source;      /* with replace_source: the new one; NULL detaches (no input) */
} genred_engine_change;

/* Apply a change in one step.  Everything that can fail (pipeline for the
 * new rate/front-end, buffers) is prepared before anything is swapped: on
 * failure -1 is returned, nothing changed and the caller still owns what
 * it handed over.  On success the engine owns it and has closed what it
 * replaced.  The window (and with it ten seconds of context) survives a
 * model change when the front-end is identical and the source stays. */
int genred_engine_apply(genred_engine *e, const genred_engine_change *change, char *err,
                        size_t errlen);
/* genred_engine_apply for one part. */
int genred_engine_set_model(genred_engine *e, genre_model *model, genre_stream *stream,
                            const char *model_name, char *err, size_t errlen);
int genred_engine_set_source(genred_engine *e, genred_source *source, char *err, size_t errlen);
void genred_engine_set_params(genred_engine *e, const genred_engine_params *params);
/* Start / stop the two threads (idempotent).  _stop cancels an inference
 * in progress and waits at most 2 s for the inference thread; -1 when it
 * is still busy then (a layer too large to notice the cancellation soon),
 * and the engine must not be freed while it is. */
int genred_engine_start(genred_engine *e, char *err, size_t errlen);
int genred_engine_stop(genred_engine *e);

/* Main thread: the newest result since the last call; 1 if there was one. */
int genred_engine_take_result(genred_engine *e, genred_result *out);
void genred_engine_get_stats(genred_engine *e, genred_engine_stats *out);
/* Main thread: current model (labels), its display name, the source. */
const genre_model *genred_engine_model(const genred_engine *e);
const char *genred_engine_model_name(const genred_engine *e);
genred_source *genred_engine_source(genred_engine *e);

/* Stops the threads and frees everything, model and source included.  If
 * the inference thread does not stop in time (genred_engine_stop), the
 * engine is left to it, without callbacks, for the process exit to end. */
void genred_engine_del(genred_engine *e);

#endif
