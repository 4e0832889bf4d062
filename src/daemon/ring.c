/* SPSC float ring.  head and tail are free-running 64-bit counters (they
 * never wrap in practice: 2^64 floats is millennia of audio), reduced modulo
 * the power-of-two capacity only to index the buffer.  The producer owns
 * head, the consumer owns tail; each publishes its counter with a release
 * store after touching the data and reads the other's with an acquire load
 * before touching it, which is what orders the float copies between the
 * two threads. */
#include "genred/ring.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define RING_MAX_CAPACITY ((size_t)1 << 30)
/* Keeps the producer's and the consumer's counters on separate cache lines
 * so the two cores do not bounce one line back and forth. */
#define CACHE_LINE 64

struct genred_ring {
    alignas(CACHE_LINE) _Atomic uint64_t head;      /* written by the producer */
    _Atomic uint64_t dropped;                       /* producer-side statistics */
    _Atomic uint64_t drop_events;
    alignas(CACHE_LINE) _Atomic uint64_t tail;      /* written by the consumer */
    alignas(CACHE_LINE) size_t capacity, mask;
    float *data;
};

genred_ring *genred_ring_new(size_t min_capacity)
{
    if (min_capacity == 0 || min_capacity > RING_MAX_CAPACITY)
        return NULL;
    size_t capacity = 1;
    while (capacity < min_capacity)
        capacity <<= 1;
    genred_ring *r = aligned_alloc(CACHE_LINE, sizeof *r);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->data = malloc(capacity * sizeof *r->data);
    if (!r->data) {
        free(r);
        return NULL;
    }
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->dropped, 0);
    atomic_init(&r->drop_events, 0);
    r->capacity = capacity;
    r->mask = capacity - 1;
    return r;
}

size_t genred_ring_capacity(const genred_ring *r)
{
    return r->capacity;
}

size_t genred_ring_write_space(const genred_ring *r)
{
    /* The producer's own head needs no ordering; the consumer's tail must
     * be acquired so the slots it freed are really free. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    return r->capacity - (size_t)(head - tail);
}

int genred_ring_write_all(genred_ring *r, const float *data, size_t n)
{
    if (n == 0)
        return 1;
    if (n > genred_ring_write_space(r)) {
        atomic_fetch_add_explicit(&r->dropped, n, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->drop_events, 1, memory_order_relaxed);
        return 0;
    }
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t start = (size_t)head & r->mask;
    size_t first = r->capacity - start;
    if (first > n)
        first = n;
    memcpy(r->data + start, data, first * sizeof *data);
    memcpy(r->data, data + first, (n - first) * sizeof *data);
    atomic_store_explicit(&r->head, head + n, memory_order_release);
    return 1;
}

size_t genred_ring_read_available(const genred_ring *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    return (size_t)(head - tail);
}

size_t genred_ring_read(genred_ring *r, float *out, size_t max)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t n = (size_t)(head - tail);
    if (n > max)
        n = max;
    if (n == 0)
        return 0;
    size_t start = (size_t)tail & r->mask;
    size_t first = r->capacity - start;
    if (first > n)
        first = n;
    memcpy(out, r->data + start, first * sizeof *out);
    memcpy(out + first, r->data, (n - first) * sizeof *out);
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    return n;
}

uint64_t genred_ring_written(const genred_ring *r)
{
    return atomic_load_explicit(&r->head, memory_order_relaxed);
}

uint64_t genred_ring_dropped(const genred_ring *r)
{
    return atomic_load_explicit(&r->dropped, memory_order_relaxed);
}

uint64_t genred_ring_drop_events(const genred_ring *r)
{
    return atomic_load_explicit(&r->drop_events, memory_order_relaxed);
}

void genred_ring_del(genred_ring *r)
{
    if (!r)
        return;
    free(r->data);
    free(r);
}
