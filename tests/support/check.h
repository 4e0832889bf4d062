/* The C tests' assertions, CHECK(cond) and CHECK_MSG(cond, "format",
 * args...).  A failed check does not stop the test: it is counted and
 * reported on stderr as
 *     file:line: check failed: EXPR[: message]
 * where CHECK_MSG's printf-style message says what was expected and what
 * came instead (its arguments are evaluated only on failure), so one run
 * shows every broken case.  main() ends with
 * `return check_exit_status("name");`.
 *
 * The counters are static, so each test executable has its own; only the
 * main thread may check (test_ring's threads count their own errors). */
#ifndef GENRE_TEST_CHECK_H
#define GENRE_TEST_CHECK_H

#include <stdio.h>

static int check_count, check_failures;

/* Counts one check; a failed one also starts its report line on stderr
 * (the macro ends it).  Returns ok. */
static inline int check_counted(int ok, const char *file, int line, const char *expr)
{
    check_count++;
    if (!ok) {
        check_failures++;
        fprintf(stderr, "%s:%d: check failed: %s", file, line, expr);
    }
    return ok;
}

/* CHECK(cond): the report names the expression. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!check_counted(!!(cond), __FILE__, __LINE__, #cond))                                   \
            fputc('\n', stderr);                                                                   \
    } while (0)

/* CHECK_MSG(cond, "literal format", args...): the expression, then the
 * message (the format is checked like printf's). */
#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!check_counted(!!(cond), __FILE__, __LINE__, #cond)) {                                 \
            fprintf(stderr, ": " __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* The summary line, and main()'s exit status: 0 when every check held. */
static inline int check_exit_status(const char *test)
{
    if (check_failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", test, check_failures, check_count);
        return 1;
    }
    printf("%s: all %d checks passed\n", test, check_count);
    return 0;
}

#endif
