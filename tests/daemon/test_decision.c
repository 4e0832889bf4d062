/* The decision (src/daemon/decision.c): the state from what is known of a
 * window, in its documented order, and the smoothing history. */
#include "check.h"

#include "genred/decision.h"

#include <math.h>
#include <string.h>

/* A window that gets a genre: input, finite, full, loud, nothing lost. */
static genred_window_facts good(void)
{
    return (genred_window_facts){.have_input = 1, .full = 1, .output_finite = 1,
                                 .level_dbfs = -20, .silence_dbfs = -60};
}

static void test_states(void)
{
    genred_window_facts f = good();
    CHECK(genred_decide_state(&f) == GENRED_STATE_OK);
    f.loss_events = 1;
    CHECK(genred_decide_state(&f) == GENRED_STATE_DEGRADED);
    f.level_dbfs = -61;
    CHECK(genred_decide_state(&f) == GENRED_STATE_SILENCE);    /* silence before degraded */
    f.level_dbfs = -60;
    CHECK(genred_decide_state(&f) == GENRED_STATE_DEGRADED);   /* at the threshold: not silence */
    f.output_finite = 0;
    f.level_dbfs = -100;
    CHECK(genred_decide_state(&f) == GENRED_STATE_MODEL_ERROR); /* before silence */
    f.full = 0;
    CHECK(genred_decide_state(&f) == GENRED_STATE_WARMING);     /* no output to judge yet */
    f.nonfinite = 1;
    CHECK(genred_decide_state(&f) == GENRED_STATE_BAD_INPUT);
    f.have_input = 0;
    CHECK(genred_decide_state(&f) == GENRED_STATE_NO_INPUT);

    CHECK(genred_state_has_genre(GENRED_STATE_OK));
    CHECK(genred_state_has_genre(GENRED_STATE_DEGRADED));
    enum genred_state none[] = {GENRED_STATE_WARMING, GENRED_STATE_SILENCE,
                                GENRED_STATE_NO_INPUT, GENRED_STATE_BAD_INPUT,
                                GENRED_STATE_MODEL_ERROR};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        CHECK(!genred_state_has_genre(none[i]));

    /* The names on the wire (doc/protocol.md). */
    CHECK(strcmp(genred_state_name(GENRED_STATE_NO_INPUT), "no-input") == 0);
    CHECK(strcmp(genred_state_name(GENRED_STATE_BAD_INPUT), "bad-input") == 0);
    CHECK(strcmp(genred_state_name(GENRED_STATE_MODEL_ERROR), "model-error") == 0);
    CHECK(strcmp(genred_state_name(GENRED_STATE_DEGRADED), "degraded") == 0);
    CHECK(strcmp(genred_state_name((enum genred_state)99), "?") == 0);
}

static void test_smoother(void)
{
    genred_smoother s;
    CHECK(genred_smoother_init(&s, 2, 3) == 0);
    float out[2];
    const float a[2] = {1, 0}, b[2] = {0, 1}, c[2] = {0.5f, 0.5f};
    genred_smoother_push(&s, a, 2, out);
    CHECK(out[0] == 1 && out[1] == 0);              /* one held: its own value */
    genred_smoother_push(&s, b, 2, out);
    CHECK(out[0] == 0.5f && out[1] == 0.5f);        /* mean of the newest two */
    genred_smoother_push(&s, c, 1, out);
    CHECK(out[0] == 0.5f && out[1] == 0.5f);        /* smoothing 1: the newest only */
    genred_smoother_push(&s, a, 3, out);            /* a pushes the first a out: b, c, a */
    CHECK_MSG(fabsf(out[0] - 0.5f) < 1e-7f && fabsf(out[1] - 0.5f) < 1e-7f, "%g %g",
              out[0], out[1]);
    genred_smoother_push(&s, a, 3, out);            /* c, a, a */
    CHECK_MSG(fabsf(out[0] - 2.5f / 3) < 1e-6f, "%g", out[0]);
    genred_smoother_reset(&s);
    genred_smoother_push(&s, b, 3, out);            /* history gone */
    CHECK(out[0] == 0 && out[1] == 1);
    genred_smoother_free(&s);
    CHECK(s.history == NULL);
}

int main(void)
{
    test_states();
    test_smoother();
    return check_exit_status("test_decision");
}
