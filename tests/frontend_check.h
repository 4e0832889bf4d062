/* Minimal assertions for the front-end tests (suite `frontend`): a failed
 * CHECK prints where and why, counts, and the test exits non-zero. */
#ifndef FRONTEND_CHECK_H
#define FRONTEND_CHECK_H

#include <stdio.h>

#define CHECK(counter, cond, ...)                                                   \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
            (*(counter))++;                                                         \
        }                                                                           \
    } while (0)

#endif
