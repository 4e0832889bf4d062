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
#include "genred/log.h"
#include "genred/source.h"

enum genred_state {
    GENRED_STATE_WARMING = 0,   /* the window is not full yet */
    GENRED_STATE_OK,            /* a genre is reported */
    GENRED_STATE_SILENCE,       /* input below silence_dbfs */
    GENRED_STATE_NO_INPUT,      /* no source, or it failed / ended */
    GENRED_STATE_BAD_INPUT,     /* the window's audio has NaN or infinite samples */
    GENRED_STATE_MODEL_ERROR,   /* the network's output is not finite */
    GENRED_STATE_DEGRADED,      /* a genre, but audio was lost inside the window */
};

const char *genred_state_name(enum genred_state s);

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

/* Replace the model (with its stream classifier, genre/stream.h, which the
 * inference thread feeds with the feature thread's frames) and/or the
 * source in one step.
 * model == NULL keeps the current model; replace_source == 0 keeps the
 * current source (source == NULL with replace_source detaches it: no
 * input).  Everything that can fail (pipeline for the new rate/front-end,
 * buffers) is prepared before anything is swapped: on failure -1 is
 * returned, nothing changed and the caller still owns model/stream/source.  On
 * success the engine owns them and has closed what they replaced.  The
 * window (and with it ten seconds of context) survives a model swap when
 * the front-end is identical and the source stays. */
int genred_engine_replace(genred_engine *e, genre_model *model, genre_stream *stream,
                          const char *model_name, genred_source *source, int replace_source,
                          char *err, size_t errlen);
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
