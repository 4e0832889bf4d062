/* The tools' worker fan-out (src/tools/fanout.c): every item worked once,
 * reported once, in item order, on the calling thread; each worker's state
 * made and freed once; items taken on demand. */
#include "check.h"

#include "fanout.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

enum { ITEMS = 200 };

typedef struct ctx {
    pthread_t caller;
    atomic_int worked[ITEMS];
    int reported[ITEMS];
    size_t next_report;
    int out_of_order, off_thread;
    atomic_int starts, stops;
} ctx;

static void *start(void *c_)
{
    ctx *c = c_;
    atomic_fetch_add(&c->starts, 1);
    return malloc(16);
}

static void work(void *c_, void *state, size_t i)
{
    ctx *c = c_;
    (void)state;
    /* Uneven item times, so workers finish out of order. */
    struct timespec ts = {0, (long)((i * 7919) % 13) * 20000L};
    nanosleep(&ts, NULL);
    atomic_fetch_add(&c->worked[i], 1);
}

static void stop(void *c_, void *state)
{
    ctx *c = c_;
    atomic_fetch_add(&c->stops, 1);
    free(state);
}

static void done(void *c_, size_t i)
{
    ctx *c = c_;
    c->out_of_order |= i != c->next_report;
    c->off_thread |= !pthread_equal(pthread_self(), c->caller);
    /* Reported only once its work is done. */
    c->out_of_order |= atomic_load(&c->worked[i]) != 1;
    c->reported[i]++;
    c->next_report = i + 1;
}

int main(void)
{
    const fanout_ops ops = {.start = start, .work = work, .stop = stop, .done = done};
    unsigned jobs_cases[] = {1, 3, 8, 0};
    for (size_t k = 0; k < sizeof jobs_cases / sizeof jobs_cases[0]; k++) {
        ctx *c = calloc(1, sizeof *c);
        c->caller = pthread_self();
        fanout_run(ITEMS, jobs_cases[k], &ops, c);
        int each_once = 1;
        for (int i = 0; i < ITEMS; i++)
            each_once &= atomic_load(&c->worked[i]) == 1 && c->reported[i] == 1;
        CHECK_MSG(each_once, "jobs %u: every item worked and reported once", jobs_cases[k]);
        CHECK_MSG(!c->out_of_order && !c->off_thread, "jobs %u: order %d, thread %d",
                  jobs_cases[k], c->out_of_order, c->off_thread);
        unsigned want = jobs_cases[k] ? jobs_cases[k] : 1;
        CHECK_MSG(atomic_load(&c->starts) == (int)want && atomic_load(&c->stops) == (int)want,
                  "jobs %u: %d starts, %d stops", jobs_cases[k], atomic_load(&c->starts),
                  atomic_load(&c->stops));
        free(c);
    }
    /* No items: nothing worked or reported, nothing hangs. */
    ctx *c = calloc(1, sizeof *c);
    c->caller = pthread_self();
    fanout_run(0, 4, &ops, c);
    CHECK(c->next_report == 0);
    free(c);
    return check_exit_status("test_fanout");
}
