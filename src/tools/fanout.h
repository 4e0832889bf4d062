/* Items processed by worker threads, their results taken in order: the
 * shape of genre-classify and genre-features (a list of files, --jobs N).
 *
 * Workers take the next item when they are free, so a worker without a
 * core delays one item, not a share of them.  The calling thread does not
 * work: it is told of each item, in item order, as soon as that item and
 * every earlier one are done, so output streams while later items are
 * still being worked on.  If no thread can be started the calling thread
 * does all the work itself, then reports.  Test: the tools' --jobs tests
 * (tests/tools/test_genre_classify.py, tests/tools/test_genre_features.py). */
#ifndef GENRE_TOOLS_FANOUT_H
#define GENRE_TOOLS_FANOUT_H

#include <stddef.h>

typedef struct fanout_ops {
    /* On each worker thread before its first item: its reusable state
     * (NULL is a valid state). */
    void *(*start)(void *ctx);
    /* Item i with this worker's state. */
    void (*work)(void *ctx, void *state, size_t item);
    /* On the worker thread after its last item. */
    void (*stop)(void *ctx, void *state);
    /* On the calling thread, in item order; may be NULL. */
    void (*done)(void *ctx, size_t item);
} fanout_ops;

/* Items 0..n_items-1 on up to `jobs` threads (0 counts as 1).  Returns
 * when every item is done and reported. */
void fanout_run(size_t n_items, unsigned jobs, const fanout_ops *ops, void *ctx);

#endif
