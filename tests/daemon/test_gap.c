/* genred_gap_detector (src/daemon/gap.c) on made-up delivery times: no
 * gap from jitter, bunching or clock drift; a stall is found and measured,
 * less the audio the device held and delivered late. */
#include "check.h"

#include "genred/gap.h"

#include <math.h>
#include <stdlib.h>

#define RATE 48000.0
#define BLOCK 480           /* 10 ms */

typedef struct run {
    genred_gap_detector g;
    double t;               /* device time of the next block's end */
    uint64_t lost;
    int events;
    unsigned seed;
} run;

static double jitter(run *r, double amplitude)
{
    r->seed = r->seed * 1103515245u + 12345u;
    return amplitude * ((double)((r->seed >> 8) & 0xffff) / 65536.0);
}

static void deliver(run *r, double at, uint64_t frames)
{
    uint64_t lost = genred_gap_update(&r->g, at, frames);
    r->lost += lost;
    r->events += lost > 0;
}

/* seconds of steady blocks; speed = device frames per system second / RATE. */
static void steady(run *r, double seconds, double speed, double jitter_s)
{
    double block_s = BLOCK / (RATE * speed);
    for (double end = r->t + seconds; r->t < end; r->t += block_s)
        deliver(r, r->t + jitter(r, jitter_s), BLOCK);
}

static void start(run *r)
{
    genred_gap_init(&r->g, RATE, 0.25);
    r->t = 100.0;
    r->lost = 0;
    r->events = 0;
    r->seed = 7;
}

int main(void)
{
    run r;

    start(&r);
    steady(&r, 3600, 1.0, 0.008);
    CHECK_MSG(r.lost == 0, "an hour with 8 ms of jitter: %llu frames lost", (unsigned long long)r.lost);

    start(&r);
    steady(&r, 7200, 1.0 - 300e-6, 0.002);
    CHECK_MSG(r.lost == 0, "two hours of a device 300 ppm slow: %llu frames", (unsigned long long)r.lost);
    start(&r);
    steady(&r, 7200, 1.0 + 300e-6, 0.002);
    CHECK_MSG(r.lost == 0, "two hours of a device 300 ppm fast: %llu frames", (unsigned long long)r.lost);

    /* Blocks in pairs: the second right after the first, every 20 ms. */
    start(&r);
    for (int i = 0; i < 100000; i++) {
        deliver(&r, r.t, BLOCK);
        deliver(&r, r.t + 1e-4, BLOCK);
        r.t += 2.0 * BLOCK / RATE;
    }
    CHECK_MSG(r.lost == 0, "bunched blocks: %llu frames", (unsigned long long)r.lost);

    /* A 16.5 s stall; the device held its last 2 s and delivers them in a
     * burst when the process runs again: 14.5 s are lost. */
    start(&r);
    steady(&r, 30, 1.0, 0.002);
    r.t += 16.5;
    for (int i = 0; i < 200; i++)
        deliver(&r, r.t + i * 1e-5, BLOCK);
    steady(&r, 5, 1.0, 0.002);
    double lost_s = (double)r.lost / RATE;
    CHECK_MSG(r.events == 1 && fabs(lost_s - 14.5) < 0.05,
              "stall of 16.5 s with a 2-s burst after it: %d gap(s), %.3f s", r.events, lost_s);

    /* A stall that nothing was kept of, then another one later. */
    start(&r);
    steady(&r, 10, 1.0, 0.002);
    r.t += 3.0;
    steady(&r, 10, 1.0, 0.002);
    r.t += 1.0;
    steady(&r, 10, 1.0, 0.002);
    lost_s = (double)r.lost / RATE;
    CHECK_MSG(r.events == 2 && fabs(lost_s - 4.0) < 0.03, "stalls of 3 s and 1 s: %d gap(s), %.3f s",
              r.events, lost_s);

    /* Shorter than the threshold: the device's buffer covers it. */
    start(&r);
    steady(&r, 10, 1.0, 0.002);
    r.t += 0.05;
    steady(&r, 10, 1.0, 0.002);
    CHECK_MSG(r.lost == 0, "a 50-ms hiccup: %llu frames", (unsigned long long)r.lost);

    /* Not settled while the burst may still come: nothing is reported
     * right after the stall. */
    start(&r);
    steady(&r, 10, 1.0, 0.0);
    r.t += 5.0;
    deliver(&r, r.t, BLOCK);
    CHECK_MSG(r.lost == 0, "reported before the burst could arrive");
    r.t += BLOCK / RATE;
    steady(&r, 1, 1.0, 0.0);
    CHECK_MSG(r.events == 1 && fabs((double)r.lost / RATE - 5.0) < 0.02, "then settled: %.3f s",
              (double)r.lost / RATE);
    return check_exit_status("test_gap");
}
