/* Ranking a model's output: the top label and the k best, the one rule
 * every program reports with (genred, genre-classify and its segments).
 * Ties go to the lower index.  Meant for finite values: a NaN compares
 * false both ways, so it is skipped unless it comes first (callers check
 * outputs for non-finite values before ranking them: genred's model-error
 * state, genre-classify's outcome).  Test: tests/lib/test_rank.c. */
#ifndef GENRE_RANK_H
#define GENRE_RANK_H

#include <stddef.h>

/* Index of the largest of p[0..n-1]; 0 when n is 0. */
size_t genre_argmax(const float *p, size_t n);
/* The indices of the k largest values, largest first, into order[0..k-1]
 * (k is capped at n).  Returns how many were written. */
size_t genre_top_k(const float *p, size_t n, size_t k, size_t *order);

#endif
