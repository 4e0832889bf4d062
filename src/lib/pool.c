/* genre_pool (see pool.h).
 *
 * The next task to hand out and the loop it belongs to share one atomic
 * word: loop generation in the high 32 bits, task index in the low 32.  A
 * worker that wakes late and still holds the previous loop's function can
 * therefore never claim a task of the current loop: its compare-and-swap
 * fails on the generation.  The caller waits for `finished` to reach the
 * task count, so it waits only for tasks that were claimed. */
#include "genre/pool.h"

#include "genre/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_POOL_THREADS 64

typedef struct worker {
    genre_pool *pool;
    size_t slot;
    pthread_t thread;
} worker;

struct genre_pool {
    size_t threads;
    worker *workers;
    size_t started;             /* workers created (for del after a failed new) */

    pthread_mutex_t lock;
    pthread_cond_t wake;        /* a new loop or stop */
    pthread_cond_t finished_cv; /* the last task of a loop finished */
    /* Guarded by lock: */
    uint32_t generation;
    bool stop;
    genre_pool_fn fn;
    void *ctx;
    size_t n_tasks;

    _Atomic uint64_t next;      /* generation << 32 | next task index */
    _Atomic size_t finished;    /* tasks of the current loop done */
};

/* Claims and runs tasks of loop `generation` until none are left. */
static void run_tasks(genre_pool *p, uint32_t generation, genre_pool_fn fn, void *ctx,
                      size_t n_tasks, size_t slot)
{
    uint64_t cur = atomic_load_explicit(&p->next, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(cur >> 32) != generation || (cur & UINT32_MAX) >= n_tasks)
            return;
        if (!atomic_compare_exchange_weak_explicit(&p->next, &cur, cur + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;   /* cur was reloaded */
        fn(ctx, (size_t)(cur & UINT32_MAX), slot);
        if (atomic_fetch_add_explicit(&p->finished, 1, memory_order_acq_rel) + 1 == n_tasks) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->finished_cv);
            pthread_mutex_unlock(&p->lock);
        }
        cur = atomic_load_explicit(&p->next, memory_order_acquire);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    genre_pool *p = w->pool;
    pthread_mutex_lock(&p->lock);
    uint32_t seen = p->generation;
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop)
            break;
        seen = p->generation;
        genre_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        size_t n_tasks = p->n_tasks;
        pthread_mutex_unlock(&p->lock);
        run_tasks(p, seen, fn, ctx, n_tasks, w->slot);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

genre_pool *genre_pool_new(size_t threads, char *err, size_t errlen)
{
    if (threads < 1 || threads > MAX_POOL_THREADS) {
        genre_set_error(err, errlen, "thread count %zu is not in 1..%d", threads, MAX_POOL_THREADS);
        return NULL;
    }
    genre_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->workers = calloc(threads, sizeof *p->workers))) {
        free(p);
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    p->threads = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->finished_cv, NULL);
    atomic_init(&p->next, 0);
    atomic_init(&p->finished, 0);
    for (size_t i = 1; i < threads; i++) {
        p->workers[i] = (worker){.pool = p, .slot = i};
        if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
            genre_set_error(err, errlen, "cannot start thread %zu of %zu", i + 1, threads);
            genre_pool_del(p);
            return NULL;
        }
        p->started = i;
    }
    return p;
}

void genre_pool_run(genre_pool *p, size_t n_tasks, genre_pool_fn fn, void *ctx)
{
    if (p->threads == 1 || n_tasks <= 1 || n_tasks > UINT32_MAX) {
        for (size_t t = 0; t < n_tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    uint32_t generation = ++p->generation;
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    atomic_store_explicit(&p->next, (uint64_t)generation << 32, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    run_tasks(p, generation, fn, ctx, n_tasks, 0);

    pthread_mutex_lock(&p->lock);
    while (atomic_load_explicit(&p->finished, memory_order_acquire) < n_tasks)
        pthread_cond_wait(&p->finished_cv, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

size_t genre_pool_threads(const genre_pool *p)
{
    return p->threads;
}

void genre_pool_del(genre_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 1; i <= p->started; i++)
        pthread_join(p->workers[i].thread, NULL);
    pthread_cond_destroy(&p->finished_cv);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}
