/* Deterministic random test data for the network tests (test_net,
 * test_graph): a xorshift generator whose state lives in the caller's frame,
 * uniform floats and integers, and the relative difference the network
 * checks compare with. */
#ifndef GENRE_TEST_RANDOM_H
#define GENRE_TEST_RANDOM_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct rng {
    uint64_t s;     /* any non-zero seed */
} rng;

static inline uint64_t next_u64(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

/* Uniform in [-1, 1). */
static inline float uniform(rng *r)
{
    return (float)((next_u64(r) >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* Uniform integer in [lo, hi]. */
static inline size_t irange(rng *r, size_t lo, size_t hi)
{
    return lo + (size_t)(next_u64(r) % (uint64_t)(hi - lo + 1));
}

/* n values uniform in [-scale, scale), malloc'd (at least one element). */
static inline float *random_floats(rng *r, size_t n, float scale)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = uniform(r) * scale;
    return v;
}

/* Largest |a-b| relative to max(1, |b|); infinity when either is NaN. */
static inline double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
        if (!(d <= worst))
            worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}

#endif
