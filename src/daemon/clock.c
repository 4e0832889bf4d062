#include "genred/clock.h"

#include <time.h>

static double seconds_of(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double genred_mono_now(void) { return seconds_of(CLOCK_MONOTONIC); }
double genred_wall_now(void) { return seconds_of(CLOCK_REALTIME); }
