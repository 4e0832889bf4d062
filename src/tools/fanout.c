/* Worker threads over a list of items (fanout.h). */
#include "fanout.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct fanout {
    const fanout_ops *ops;
    void *ctx;
    size_t n_items, next;
    bool *finished;             /* per item */
    pthread_mutex_t lock;
    pthread_cond_t changed;     /* an item finished */
} fanout;

static void *worker(void *arg)
{
    fanout *f = arg;
    void *state = f->ops->start ? f->ops->start(f->ctx) : NULL;
    for (;;) {
        pthread_mutex_lock(&f->lock);
        size_t i = f->next++;
        pthread_mutex_unlock(&f->lock);
        if (i >= f->n_items)
            break;
        f->ops->work(f->ctx, state, i);
        pthread_mutex_lock(&f->lock);
        f->finished[i] = true;
        pthread_cond_broadcast(&f->changed);
        pthread_mutex_unlock(&f->lock);
    }
    if (f->ops->stop)
        f->ops->stop(f->ctx, state);
    return NULL;
}

/* Everything on this thread, then every report. */
static void run_here(fanout *f)
{
    void *state = f->ops->start ? f->ops->start(f->ctx) : NULL;
    for (size_t i = 0; i < f->n_items; i++)
        f->ops->work(f->ctx, state, i);
    if (f->ops->stop)
        f->ops->stop(f->ctx, state);
    for (size_t i = 0; f->ops->done && i < f->n_items; i++)
        f->ops->done(f->ctx, i);
}

void fanout_run(size_t n_items, unsigned jobs, const fanout_ops *ops, void *ctx)
{
    fanout f = {.ops = ops, .ctx = ctx, .n_items = n_items};
    if (jobs == 0)
        jobs = 1;
    if (jobs > n_items)
        jobs = n_items ? (unsigned)n_items : 1;
    f.finished = calloc(n_items ? n_items : 1, sizeof *f.finished);
    pthread_t *threads = malloc(jobs * sizeof *threads);
    if (!f.finished || !threads) {
        free(f.finished);
        free(threads);
        run_here(&f);
        return;
    }
    pthread_mutex_init(&f.lock, NULL);
    pthread_cond_init(&f.changed, NULL);
    unsigned started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&threads[started], NULL, worker, &f) != 0)
            break;
    if (started == 0) {
        run_here(&f);
    } else {
        for (size_t i = 0; i < n_items; i++) {
            pthread_mutex_lock(&f.lock);
            while (!f.finished[i])
                pthread_cond_wait(&f.changed, &f.lock);
            pthread_mutex_unlock(&f.lock);
            if (ops->done)
                ops->done(ctx, i);
        }
        for (unsigned t = 0; t < started; t++)
            pthread_join(threads[t], NULL);
    }
    pthread_cond_destroy(&f.changed);
    pthread_mutex_destroy(&f.lock);
    free(f.finished);
    free(threads);
}
