/* Ranking (genre/rank.h). */
#include "genre/rank.h"

#include <stdint.h>

size_t genre_argmax(const float *p, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (p[i] > p[best])
            best = i;
    return best;
}

size_t genre_top_k(const float *p, size_t n, size_t k, size_t *order)
{
    if (k > n)
        k = n;
    /* Selection: k is a handful and n a few dozen labels. */
    for (size_t q = 0; q < k; q++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            int taken = 0;
            for (size_t r = 0; r < q && !taken; r++)
                taken = order[r] == i;
            if (!taken && (best == SIZE_MAX || p[i] > p[best]))
                best = i;
        }
        order[q] = best;
    }
    return k;
}
