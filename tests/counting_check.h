/* CHECK(cond, fmt, ...) for the model and net tests: counts every check,
 * prints file:line and the message of each failure.  Each test file gets
 * its own counters (they are static); main() reports them and exits
 * non-zero when failures > 0. */
#ifndef GENRE_TEST_COUNTING_CHECK_H
#define GENRE_TEST_COUNTING_CHECK_H

#include <stdio.h>

static int failures, checks;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#endif
