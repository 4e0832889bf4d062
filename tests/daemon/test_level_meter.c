/* The daemon's level meter (src/daemon/level_meter.c): blocks covering the
 * window, the level of what is inside it, NaN/inf samples replaced and
 * remembered while their block is in the window, losses likewise. */
#include "check.h"

#include "genred/level_meter.h"

#include <math.h>
#include <string.h>

static void fill(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        x[i] = v;
}

int main(void)
{
    genred_level_meter m;
    /* 1 s window at 1000 Hz stereo: 10 blocks of 100 frames (200 samples). */
    CHECK(genred_level_meter_init(&m, 1.0, 1000, 2) == 0);
    CHECK(m.n_blocks == 10);
    CHECK(m.block_samples == 200);
    CHECK(genred_level_meter_dbfs(&m) == -120.0);

    /* A full-scale square wave: 0 dBFS. */
    float x[4000];
    fill(x, 2000, 1.0f);
    CHECK(genred_level_meter_add(&m, x, 2000) == 0);
    CHECK_MSG(fabs(genred_level_meter_dbfs(&m)) < 1e-9, "%g", genred_level_meter_dbfs(&m));

    /* A second of a tenth of full scale pushes the first second out of
     * every block but the one being filled (empty now): -20 dBFS. */
    fill(x, 2000, 0.1f);
    genred_level_meter_add(&m, x, 2000);
    CHECK_MSG(fabs(genred_level_meter_dbfs(&m) + 20.0) < 1e-6, "%g", genred_level_meter_dbfs(&m));

    /* NaN and infinity: replaced by 0, counted, remembered... */
    fill(x, 10, 0.1f);
    x[3] = NAN;
    x[7] = INFINITY;
    CHECK(genred_level_meter_add(&m, x, 10) == 2);
    CHECK(x[3] == 0 && x[7] == 0);
    CHECK(genred_level_meter_has_nonfinite(&m));
    CHECK(isfinite(genred_level_meter_dbfs(&m)));
    /* ... until their block leaves the window (the rest of it and ten more blocks). */
    fill(x, 4000, 0.1f);
    genred_level_meter_add(&m, x, 190);
    CHECK(genred_level_meter_has_nonfinite(&m));
    genred_level_meter_add(&m, x, 2000);
    CHECK(!genred_level_meter_has_nonfinite(&m));

    /* Losses: counted in the block being filled, gone with it. */
    uint64_t events, frames;
    genred_level_meter_add_loss(&m, 2, 480);
    genred_level_meter_add_loss(&m, 1, 20);
    genred_level_meter_losses(&m, &events, &frames);
    CHECK(events == 3 && frames == 500);
    genred_level_meter_add(&m, x, 1999);
    genred_level_meter_losses(&m, &events, &frames);
    CHECK_MSG(events == 3, "still inside the window: %llu", (unsigned long long)events);
    genred_level_meter_add(&m, x, 201);
    genred_level_meter_losses(&m, &events, &frames);
    CHECK_MSG(events == 0 && frames == 0, "%llu events", (unsigned long long)events);

    /* Reset forgets everything; free leaves an empty meter. */
    genred_level_meter_add_loss(&m, 1, 1);
    genred_level_meter_reset(&m);
    genred_level_meter_losses(&m, &events, &frames);
    CHECK(events == 0 && genred_level_meter_dbfs(&m) == -120.0);
    genred_level_meter_free(&m);
    CHECK(m.sumsq == NULL && m.n_blocks == 0);
    genred_level_meter_free(&m);

    /* A window shorter than a block still has one block. */
    CHECK(genred_level_meter_init(&m, 0.01, 16000, 1) == 0);
    CHECK(m.n_blocks == 1 && m.block_samples == 1600);
    genred_level_meter_free(&m);
    return check_exit_status("test_level_meter");
}
