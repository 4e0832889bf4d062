/* The SPSC ring: unit checks, then a two-thread stress test.  A producer
 * writes a counting sequence in random chunk sizes (retrying dropped
 * writes, so nothing is lost on purpose), a consumer reads random chunk
 * sizes and checks every value arrives once and in order.  Built normally
 * it runs in the `daemon` suite; under ThreadSanitizer
 * (meson setup build-tsan -Db_sanitize=thread) it also proves the
 * acquire/release pairs order the data (doc/daemon.md). */
#include "genred/ring.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Small deterministic PRNG, one state per thread (xorshift64*). */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void unit_checks(void)
{
    CHECK(genred_ring_new(0) == NULL);
    CHECK(genred_ring_new(((size_t)1 << 30) + 1) == NULL);
    genred_ring *r = genred_ring_new(100);
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK(genred_ring_capacity(r) == 128);
    CHECK(genred_ring_write_space(r) == 128);
    CHECK(genred_ring_read_available(r) == 0);
    float buf[256], out[256];
    for (int i = 0; i < 256; i++)
        buf[i] = (float)i;
    CHECK(genred_ring_read(r, out, 10) == 0);
    CHECK(genred_ring_write_all(r, buf, 100) == 1);
    CHECK(genred_ring_read_available(r) == 100);
    /* Does not fit: dropped whole, counted, nothing written. */
    CHECK(genred_ring_write_all(r, buf, 29) == 0);
    CHECK(genred_ring_dropped(r) == 29);
    CHECK(genred_ring_drop_events(r) == 1);
    CHECK(genred_ring_read_available(r) == 100);
    CHECK(genred_ring_write_all(r, buf + 100, 28) == 1);   /* exactly full */
    CHECK(genred_ring_write_space(r) == 0);
    CHECK(genred_ring_written(r) == 128);
    CHECK(genred_ring_read(r, out, 90) == 90);
    for (int i = 0; i < 90; i++)
        CHECK(out[i] == (float)i);
    /* Wrap around the end of the buffer. */
    CHECK(genred_ring_write_all(r, buf + 128, 80) == 1);
    CHECK(genred_ring_read(r, out, 256) == 118);
    for (int i = 0; i < 118; i++)
        CHECK(out[i] == (float)(90 + i));
    CHECK(genred_ring_write_all(r, buf, 0) == 1);
    genred_ring_del(r);
    genred_ring_del(NULL);
}

enum { CAPACITY = 4096, MAX_CHUNK = 1500 };

typedef struct stress {
    genred_ring *ring;
    uint64_t total;
    uint64_t seed;
    uint64_t drops_seen;
} stress;

/* Values are exact in a float up to 2^24, so the sequence counts modulo
 * 2^24; the consumer checks the same. */
#define SEQ_MOD (1u << 24)

static void *producer(void *arg)
{
    stress *st = arg;
    float chunk[MAX_CHUNK];
    uint64_t sent = 0, seed = st->seed;
    while (sent < st->total) {
        size_t n = 1 + (size_t)(next_random(&seed) % MAX_CHUNK);
        if (n > st->total - sent)
            n = (size_t)(st->total - sent);
        for (size_t i = 0; i < n; i++)
            chunk[i] = (float)((sent + i) % SEQ_MOD);
        while (!genred_ring_write_all(st->ring, chunk, n)) {
            st->drops_seen++;
            sched_yield();
        }
        sent += n;
    }
    return NULL;
}

static void *consumer(void *arg)
{
    stress *st = arg;
    float chunk[MAX_CHUNK];
    uint64_t got = 0, seed = st->seed ^ 0x9e3779b97f4a7c15ULL;
    long errors = 0;
    while (got < st->total) {
        size_t want = 1 + (size_t)(next_random(&seed) % MAX_CHUNK);
        size_t n = genred_ring_read(st->ring, chunk, want);
        if (n == 0) {
            sched_yield();
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (chunk[i] != (float)((got + i) % SEQ_MOD)) {
                if (errors++ < 5)
                    fprintf(stderr, "item %llu: got %.0f, want %llu\n",
                            (unsigned long long)(got + i), (double)chunk[i],
                            (unsigned long long)((got + i) % SEQ_MOD));
            }
        }
        got += n;
    }
    return (void *)errors;
}

static void stress_test(uint64_t total)
{
    stress st = {.ring = genred_ring_new(CAPACITY), .total = total, .seed = 0x1234567887654321ULL};
    CHECK(st.ring != NULL);
    if (!st.ring)
        return;
    pthread_t p, c;
    CHECK(pthread_create(&c, NULL, consumer, &st) == 0);
    CHECK(pthread_create(&p, NULL, producer, &st) == 0);
    void *errors;
    pthread_join(p, NULL);
    pthread_join(c, &errors);
    CHECK(errors == NULL);
    CHECK(genred_ring_read_available(st.ring) == 0);
    CHECK(genred_ring_written(st.ring) == total);
    /* Every refused write was counted by the ring as a drop event. */
    CHECK(genred_ring_drop_events(st.ring) == st.drops_seen);
    printf("stress: %llu items through a %d-float ring, %llu full-ring retries, %ld order "
           "errors\n",
           (unsigned long long)total, CAPACITY, (unsigned long long)st.drops_seen, (long)errors);
    genred_ring_del(st.ring);
}

int main(int argc, char **argv)
{
    uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000ULL;
    unit_checks();
    stress_test(total);
    return check_exit_status("test_ring");
}
