/* The decision (decision.h). */
#include "genred/decision.h"

#include <stdlib.h>
#include <string.h>

const char *genred_state_name(enum genred_state s)
{
    switch (s) {
    case GENRED_STATE_WARMING: return "warming";
    case GENRED_STATE_OK: return "ok";
    case GENRED_STATE_DEGRADED: return "degraded";
    case GENRED_STATE_SILENCE: return "silence";
    case GENRED_STATE_NO_INPUT: return "no-input";
    case GENRED_STATE_BAD_INPUT: return "bad-input";
    case GENRED_STATE_MODEL_ERROR: return "model-error";
    }
    return "?";
}

enum genred_state genred_decide_state(const genred_window_facts *f)
{
    if (!f->have_input)
        return GENRED_STATE_NO_INPUT;
    /* No genre for a window that had garbage in it. */
    if (f->nonfinite)
        return GENRED_STATE_BAD_INPUT;
    if (!f->full)
        return GENRED_STATE_WARMING;
    /* Overflowing weights and the like: the output must not become a
     * genre, nor enter the history, where it would poison the next means. */
    if (!f->output_finite)
        return GENRED_STATE_MODEL_ERROR;
    if (f->level_dbfs < f->silence_dbfs)
        return GENRED_STATE_SILENCE;
    /* A genre, but the window is not the continuous audio it claims to be. */
    return f->loss_events ? GENRED_STATE_DEGRADED : GENRED_STATE_OK;
}

int genred_state_has_genre(enum genred_state s)
{
    return s == GENRED_STATE_OK || s == GENRED_STATE_DEGRADED;
}

int genred_smoother_init(genred_smoother *s, size_t n_labels, size_t capacity)
{
    memset(s, 0, sizeof *s);
    s->history = malloc(capacity * n_labels * sizeof *s->history);
    if (!s->history)
        return -1;
    s->n_labels = n_labels;
    s->capacity = capacity;
    return 0;
}

void genred_smoother_free(genred_smoother *s)
{
    free(s->history);
    memset(s, 0, sizeof *s);
}

void genred_smoother_reset(genred_smoother *s)
{
    s->count = s->pos = 0;
}

void genred_smoother_push(genred_smoother *s, const float *output, size_t smoothing, float *out)
{
    const size_t n = s->n_labels;
    memcpy(s->history + s->pos * n, output, n * sizeof *output);
    s->pos = (s->pos + 1) % s->capacity;
    if (s->count < s->capacity)
        s->count++;
    size_t use = smoothing < s->count ? smoothing : s->count;
    if (use < 1)
        use = 1;
    for (size_t k = 0; k < n; k++)
        out[k] = 0;
    for (size_t i = 0; i < use; i++) {
        size_t slot = (s->pos + s->capacity - 1 - i) % s->capacity;
        const float *h = s->history + slot * n;
        for (size_t k = 0; k < n; k++)
            out[k] += h[k];
    }
    for (size_t k = 0; k < n; k++)
        out[k] /= (float)use;
}
