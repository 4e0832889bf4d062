/* The decision: from the network's output and what is known of the
 * window's audio to what genred reports -- the state, the smoothed
 * probabilities and the genre.  Pure functions and one small history; the
 * inference thread owns the history.  Test: tests/daemon/test_decision.c.
 *
 * The states, in the order they are decided (the first that applies):
 *   no-input     no source
 *   bad-input    NaN/infinite samples inside the window
 *   warming      no whole window yet (progress = ready fraction)
 *   model-error  the network's output is not finite
 *   silence      the window is below silence_dbfs
 *   degraded     a genre, but audio was lost inside the window
 *   ok           a genre
 * Only degraded and ok enter the smoothing history and name a genre; every
 * other state empties the history, so the mean never spans a gap, a
 * silence or an output that was garbage. */
#ifndef GENRED_DECISION_H
#define GENRED_DECISION_H

#include <stddef.h>
#include <stdint.h>

enum genred_state {
    GENRED_STATE_WARMING = 0,   /* the window is not full yet */
    GENRED_STATE_OK,            /* a genre is reported */
    GENRED_STATE_SILENCE,       /* input below silence_dbfs */
    GENRED_STATE_NO_INPUT,      /* no source, or it failed / ended */
    GENRED_STATE_BAD_INPUT,     /* the window's audio has NaN or infinite samples */
    GENRED_STATE_MODEL_ERROR,   /* the network's output is not finite */
    GENRED_STATE_DEGRADED,      /* a genre, but audio was lost inside the window */
};

/* The state's name on the wire (doc/protocol.md). */
const char *genred_state_name(enum genred_state s);

/* What the inference thread knows when a result is due. */
typedef struct genred_window_facts {
    int have_input;             /* a source is attached */
    int nonfinite;              /* the window's audio held NaN/infinite samples */
    int full;                   /* a whole window (with its look-ahead) is ready */
    int output_finite;          /* full: every network output is finite */
    double level_dbfs;          /* the window's level */
    double silence_dbfs;        /* below this, silence */
    uint64_t loss_events;       /* audio lost inside the window */
} genred_window_facts;

enum genred_state genred_decide_state(const genred_window_facts *f);
/* Whether a result in state s names a genre (and enters the history). */
int genred_state_has_genre(enum genred_state s);

/* The most outputs [inference] smoothing may average. */
#define GENRED_SMOOTHING_MAX 60

/* The last `capacity` network outputs, for the mean of the newest few. */
typedef struct genred_smoother {
    float *history;             /* capacity x n_labels, a ring */
    size_t n_labels, capacity;
    size_t count, pos;          /* outputs held; the slot written next */
} genred_smoother;

/* 0, or -1 out of memory. */
int genred_smoother_init(genred_smoother *s, size_t n_labels, size_t capacity);
void genred_smoother_free(genred_smoother *s);
/* Forget every output (the next mean starts afresh). */
void genred_smoother_reset(genred_smoother *s);
/* Add one output (n_labels values) and write the mean of the newest
 * min(smoothing, held) outputs to out; smoothing is at least 1 and at
 * most capacity. */
void genred_smoother_push(genred_smoother *s, const float *output, size_t smoothing, float *out);

#endif
