/* A parallel loop over a fixed set of threads: genre_pool_run hands out the
 * tasks 0..n-1 one at a time to whichever thread asks first, the calling
 * thread included, and returns when every task has finished.
 *
 * Why not a static split: on a shared machine a worker may not get a core
 * for a while.  With tasks taken on demand the caller then does the rest
 * itself; it waits only for a task a worker has already started, never for
 * a worker that has not woken up.  Workers sleep on a condition variable
 * between loops, so an idle pool costs no CPU.
 *
 * One thread at a time may call genre_pool_run on a pool. */
#ifndef GENRE_POOL_H
#define GENRE_POOL_H

#include <stddef.h>

typedef struct genre_pool genre_pool;

/* task: the task index; slot: which thread runs it, 0 (the caller) ..
 * threads-1, for per-thread scratch. */
typedef void (*genre_pool_fn)(void *ctx, size_t task, size_t slot);

/* threads >= 1 counts the caller: threads - 1 workers are started.  NULL
 * with a reason when threads is 0 or the workers cannot be created. */
genre_pool *genre_pool_new(size_t threads, char *err, size_t errlen);
void genre_pool_run(genre_pool *pool, size_t n_tasks, genre_pool_fn fn, void *ctx);
size_t genre_pool_threads(const genre_pool *pool);
/* Stops and joins the workers. */
void genre_pool_del(genre_pool *pool);

#endif
