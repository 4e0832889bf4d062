/* Capture gap detection from delivery times (include/genred/gap.h). */
#include "genred/gap.h"

/* Fraction of a small lateness taken into the base per delivery: follows
 * a device clock that runs slow against the system's (a few hundred ppm)
 * within a few hundred deliveries, while a stall (a jump) is far above the
 * threshold before it could be absorbed. */
#define DRIFT_FOLLOW 0.01
/* A gap is reported this long after the stall ended: the burst of audio
 * the device held during the stall has arrived by then. */
#define SETTLE_SECONDS 0.5
#define THRESHOLD_MIN 0.1

void genred_gap_init(genred_gap_detector *g, double rate, double threshold_s)
{
    *g = (genred_gap_detector){
        .rate = rate,
        .threshold = threshold_s > THRESHOLD_MIN ? threshold_s : THRESHOLD_MIN,
    };
}

uint64_t genred_gap_update(genred_gap_detector *g, double now, uint64_t frames)
{
    if (!g->started) {
        /* The first delivery's newest frame arrived now. */
        g->started = 1;
        g->frames = frames;
        g->base = now - (double)frames / g->rate;
        return 0;
    }
    g->frames += frames;
    /* How late the newest frame is against the device's steady pace. */
    double late = now - (g->base + (double)g->frames / g->rate);
    if (late > g->threshold) {
        /* A stall: the time it lasted is, for now, all lost. */
        g->pending += late;
        g->pending_since = now;
        g->base += late;
    } else if (late < 0) {
        /* Early: audio the device held arrives in a burst (after a stall,
         * that part was not lost), or its clock runs fast. */
        if (g->pending > 0)
            g->pending -= -late < g->pending ? -late : g->pending;
        g->base += late;
    } else {
        g->base += late * DRIFT_FOLLOW;
    }
    if (g->pending > 0 && now - g->pending_since >= SETTLE_SECONDS) {
        uint64_t lost = (uint64_t)(g->pending * g->rate + 0.5);
        g->pending = 0;
        return lost;
    }
    return 0;
}
