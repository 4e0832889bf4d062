/* genre_pool: every task of every loop runs exactly once, on a valid slot,
 * and its writes are visible when genre_pool_run returns; loops follow each
 * other quickly (a worker that wakes late must not run a stale loop's
 * function); an idle pool stops cleanly; a threaded net agrees with a
 * single-threaded one while another thread hammers its own pool.  Part of
 * the TSan suite. */
#include "genre/pool.h"

#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TASKS 257
#define THREADS 4

typedef struct loop_ctx {
    uint32_t loop;                  /* which loop wrote the marks */
    uint32_t marks[MAX_TASKS];      /* loop number of the last run of each task */
    _Atomic int runs[MAX_TASKS];    /* runs of each task in this loop */
    _Atomic int bad_slot;
} loop_ctx;

static void mark(void *arg, size_t task, size_t slot)
{
    loop_ctx *c = arg;
    if (slot >= THREADS)
        atomic_fetch_add(&c->bad_slot, 1);
    c->marks[task] = c->loop;       /* plain write: the pool must publish it */
    atomic_fetch_add(&c->runs[task], 1);
}

/* Returns the number of wrong tasks, each reported on stderr (only the main
 * thread may CHECK, and this also runs on a second thread). */
static int run_loops(genre_pool *pool, int loops, const char *what)
{
    loop_ctx *c = calloc(1, sizeof *c);
    int bad = 0;
    for (int l = 1; l <= loops; l++) {
        size_t n = (size_t)(l * 37) % MAX_TASKS;  /* 0 .. MAX_TASKS-1, 0 and 1 included */
        c->loop = (uint32_t)l;
        for (size_t t = 0; t < MAX_TASKS; t++)
            atomic_store(&c->runs[t], 0);
        genre_pool_run(pool, n, mark, c);
        for (size_t t = 0; t < MAX_TASKS && bad < 5; t++) {
            int want = t < n;
            int runs = atomic_load(&c->runs[t]);
            if (runs != want || (want && c->marks[t] != (uint32_t)l)) {
                fprintf(stderr, "%s loop %d (%zu tasks): task %zu ran %d times, mark %u\n", what,
                        l, n, t, runs, c->marks[t]);
                bad++;
            }
        }
    }
    if (atomic_load(&c->bad_slot)) {
        fprintf(stderr, "%s: %d tasks on a slot >= %d\n", what, atomic_load(&c->bad_slot),
                THREADS);
        bad++;
    }
    free(c);
    return bad;
}

typedef struct other_run {
    genre_pool *pool;
    int bad;
} other_run;

static void *other_user(void *arg)
{
    other_run *o = arg;
    o->bad = run_loops(o->pool, 300, "second pool");
    return NULL;
}

int main(void)
{
    char err[256] = "";
    CHECK(genre_pool_new(0, err, sizeof err) == NULL && strstr(err, "not in 1..64"));
    CHECK(genre_pool_new(65, err, sizeof err) == NULL);

    genre_pool *single = genre_pool_new(1, err, sizeof err);
    CHECK_MSG(single && genre_pool_threads(single) == 1, "1 thread: %s", err);
    if (single)
        CHECK(run_loops(single, 50, "1 thread") == 0);
    genre_pool_del(single);

    genre_pool *pool = genre_pool_new(THREADS, err, sizeof err);
    CHECK_MSG(pool && genre_pool_threads(pool) == THREADS, "%d threads: %s", THREADS, err);
    genre_pool *pool2 = genre_pool_new(THREADS, err, sizeof err);
    CHECK_MSG(pool2 != NULL, "second pool: %s", err);
    if (pool && pool2) {
        /* Two pools driven from two threads at once (two nets in genre-classify). */
        pthread_t t;
        other_run other = {.pool = pool2, .bad = -1};
        int started = pthread_create(&t, NULL, other_user, &other) == 0;
        CHECK(started);
        CHECK(run_loops(pool, 1000, "first pool") == 0);
        if (started) {
            pthread_join(t, NULL);
            CHECK_MSG(other.bad == 0, "second pool: %d wrong", other.bad);
        }
    }
    genre_pool_del(pool);
    genre_pool_del(pool2);

    /* Created and deleted without ever running a loop. */
    genre_pool_del(genre_pool_new(3, err, sizeof err));
    return check_exit_status("test_pool");
}
