/* Lock-free single-producer single-consumer ring of float samples, the hand-off
 * between the audio callback (producer) and the feature thread (consumer).
 *
 * The producer never blocks, locks or allocates: a write that does not fit
 * is dropped whole and counted, so the callback stays real-time safe and the
 * interleaved frame alignment is never broken.  Exactly one thread may write
 * and exactly one (other) thread may read at a time. */
#ifndef GENRED_RING_H
#define GENRED_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct genred_ring genred_ring;

/* Capacity is min_capacity rounded up to a power of two (floats); NULL when
 * min_capacity is 0 or absurd (> 2^30 floats) or memory is short. */
genred_ring *genred_ring_new(size_t min_capacity);
size_t genred_ring_capacity(const genred_ring *r);

/* Producer: copy all n floats in, or none when they do not fit (then they
 * are counted as dropped).  Returns 1 when written, 0 when dropped. */
int genred_ring_write_all(genred_ring *r, const float *data, size_t n);
/* Producer: how many floats fit right now. */
size_t genred_ring_write_space(const genred_ring *r);

/* Consumer: copy up to max floats out, oldest first; returns how many. */
size_t genred_ring_read(genred_ring *r, float *out, size_t max);
/* Consumer: how many floats are waiting. */
size_t genred_ring_read_available(const genred_ring *r);

/* Any thread: totals since creation. */
uint64_t genred_ring_written(const genred_ring *r);     /* floats accepted */
uint64_t genred_ring_dropped(const genred_ring *r);     /* floats dropped */
uint64_t genred_ring_drop_events(const genred_ring *r); /* writes dropped */

void genred_ring_del(genred_ring *r);

#endif
