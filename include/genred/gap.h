/* Capture gaps: audio that never reached genred because the process or the
 * machine stalled -- SIGSTOP, a suspended virtual machine, a scheduler
 * stall longer than the device's buffer.  The device drops what it cannot
 * hold and delivers the rest late, often with no overflow flag at all
 * (PulseAudio through ALSA's pulse plugin sets none), so the loss is found
 * from the clock: a live device delivers rate frames per second, and a
 * delivery that comes much later than the frames before it account for is
 * a gap.
 *
 * The detector is plain arithmetic on the times of deliveries, cheap and
 * non-blocking, for the capture callback itself (tests/daemon/test_gap.c drives it
 * with made-up times):
 *
 *     genred_gap_detector g;
 *     genred_gap_init(&g, 48000, 0.25);
 *     ...in each capture callback, with now = CLOCK_MONOTONIC seconds:
 *     uint64_t lost = genred_gap_update(&g, now, frames);
 *
 * What it tolerates: jitter below the threshold; a device clock a little
 * faster or slower than the system's (it follows slow drift); audio the
 * device had buffered arriving in a burst (that part of a stall was not
 * lost, and is taken off the gap). */
#ifndef GENRED_GAP_H
#define GENRED_GAP_H

#include <stdint.h>

typedef struct genred_gap_detector {
    double rate;            /* frames per second */
    double threshold;       /* seconds a delivery may be late before it is a gap */
    int started;
    double base;            /* when frame 0 would have been delivered, at the device's pace */
    uint64_t frames;        /* frames delivered */
    double pending;         /* seconds of a gap not settled yet (a burst may follow) */
    double pending_since;   /* when the stall of the pending gap ended */
} genred_gap_detector;

/* rate > 0; threshold_s: the largest lateness that is still jitter (a few
 * device buffers; at least 0.1 s is used). */
void genred_gap_init(genred_gap_detector *g, double rate, double threshold_s);
/* One delivery of `frames` frames at `now` (monotonic seconds).  Returns
 * the frames of a gap that this delivery settled (the stall ended and the
 * device's buffered audio has arrived), else 0. */
uint64_t genred_gap_update(genred_gap_detector *g, double now, uint64_t frames);

#endif
