/* Assertions for fuzz harnesses that stay on in release builds (unlike
 * assert) and name the broken promise before aborting, so libFuzzer and the
 * corpus replay both report it as a crash with a readable reason. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* A refusal must say why: a non-empty, NUL-terminated, single-line message. */
#define FUZZ_CHECK_MSG(err)                                                           \
    do {                                                                              \
        FUZZ_CHECK((err)[0] != '\0');                                                 \
        FUZZ_CHECK(memchr((err), '\0', sizeof(err)) != NULL);                         \
        FUZZ_CHECK(strchr((err), '\n') == NULL);                                      \
    } while (0)

/* FUZZ_VERBOSE=1 in the environment: say what happened to each input (for
 * checking that seeds really reach the code behind the parsers). */
#define FUZZ_NOTE(...)                                                                \
    do {                                                                              \
        if (getenv("FUZZ_VERBOSE"))                                                   \
            fprintf(stderr, __VA_ARGS__);                                             \
    } while (0)

#endif
