/* An audio file played into the ring in real time: demo mode, and a way to
 * run genred with no audio hardware at all.  A reader thread delivers
 * blocks of PulseAudio's fragment size (the latency) and sleeps to absolute
 * CLOCK_MONOTONIC deadlines, so pacing does not drift however long each
 * decode takes; if it falls behind (a stalled machine) it catches up
 * without sleeping rather than skipping audio.  Each block it writes is
 * announced (genred_source_notify), as PulseAudio's fragments are.  It
 * decodes a block in pieces of READ_FRAMES, so a block of a second or two
 * needs no buffer of that size, and it sleeps on a semaphore that closing
 * posts, so closing does not wait for the end of a block. */
#include "source_impl.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "genre/audiofile.h"

/* Frames decoded per read. */
#define READ_FRAMES 4096

typedef struct file_source {
    genred_source base;
    genre_audiofile *file;
    int loop;
    size_t block_frames;            /* frames per delivery */
    float *piece;                   /* READ_FRAMES frames */
    pthread_t thread;
    int thread_running;
    sem_t wake;                     /* posted to end the reader's sleep at once */
    int wake_ready;
    _Atomic int stop;
    _Atomic int health;             /* enum genred_source_health */
    char why[512];                  /* written before health is released */
} file_source;

static void add_seconds(struct timespec *t, double s)
{
    long long ns = (long long)(s * 1e9);
    t->tv_sec += (time_t)(ns / 1000000000LL);
    t->tv_nsec += (long)(ns % 1000000000LL);
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static void finish(file_source *s, enum genred_source_health h, const char *why)
{
    genre_set_error(s->why, sizeof s->why, "%s", why);
    atomic_store_explicit(&s->health, (int)h, memory_order_release);
}

/* Up to want frames from the file into the ring (fewer only where the file
 * ends; a looping file starts again at the next call); the frames written,
 * or -1 when the reader must stop (health set: the end, an error). */
static ssize_t read_block(file_source *s, size_t want, uint64_t *since_rewind)
{
    char err[256];
    size_t done = 0;
    while (done < want) {
        size_t n = want - done < READ_FRAMES ? want - done : READ_FRAMES;
        ssize_t got = genre_audiofile_read(s->file, s->piece, n, err, sizeof err);
        if (got < 0) {
            char why[512];
            genre_set_error(why, sizeof why, "cannot read %s: %s", s->base.name, err);
            finish(s, GENRED_SOURCE_FAILED, why);
            return -1;
        }
        if (got == 0) {
            if (done > 0)
                break;      /* deliver what there is; the end comes next time */
            if (!s->loop) {
                finish(s, GENRED_SOURCE_FINISHED, "end of file");
                return -1;
            }
            if (*since_rewind == 0) {
                finish(s, GENRED_SOURCE_FAILED, "the file has no audio to loop");
                return -1;
            }
            if (genre_audiofile_rewind(s->file) != 0) {
                finish(s, GENRED_SOURCE_FAILED, "cannot rewind the file to loop it");
                return -1;
            }
            /* Frames since the last rewind: a file that yields nothing
             * twice in a row is empty, and looping it would spin. */
            *since_rewind = 0;
            continue;
        }
        *since_rewind += (uint64_t)got;
        genred_ring_write_all(s->base.ring, s->piece, (size_t)got * (size_t)s->base.channels);
        done += (size_t)got;
    }
    return (ssize_t)done;
}

static void *reader_thread(void *arg)
{
    file_source *s = arg;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    uint64_t since_rewind = 0;
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        ssize_t got = read_block(s, s->block_frames, &since_rewind);
        if (got < 0)
            return NULL;
        genred_source_announce(&s->base);
        add_seconds(&deadline, (double)got / s->base.rate);
        while (sem_clockwait(&s->wake, CLOCK_MONOTONIC, &deadline) != 0 && errno == EINTR)
            ;
    }
    return NULL;
}

static int file_start(genred_source *base, char *err, size_t errlen)
{
    file_source *s = (file_source *)base;
    int rc = pthread_create(&s->thread, NULL, reader_thread, s);
    if (rc != 0) {
        genre_set_error(err, errlen, "cannot start the file reader thread: %s", strerror(rc));
        return -1;
    }
    s->thread_running = 1;
    return 0;
}

static enum genred_source_health file_check(genred_source *base, double now, char *why,
                                            size_t whylen)
{
    (void)now;
    file_source *s = (file_source *)base;
    int h = atomic_load_explicit(&s->health, memory_order_acquire);
    if (h != GENRED_SOURCE_RUNNING)
        genre_set_error(why, whylen, "%s", s->why);
    return (enum genred_source_health)h;
}

static void file_close(genred_source *base)
{
    file_source *s = (file_source *)base;
    if (s->thread_running) {
        atomic_store_explicit(&s->stop, 1, memory_order_relaxed);
        sem_post(&s->wake);
        pthread_join(s->thread, NULL);
    }
    if (s->wake_ready)
        sem_destroy(&s->wake);
    if (s->file)
        genre_audiofile_close(s->file);
    free(s->piece);
    genred_ring_del(base->ring);
    free(s);
}

static const genred_source_ops file_ops = {
    .start = file_start,
    .check = file_check,
    .losses = NULL,     /* a stalled reader catches up: only the ring can drop */
    .close = file_close,
};

genred_source *genred_source_file_open(const genred_audio_config *cfg, genred_log *log,
                                       char *err, size_t errlen)
{
    file_source *s = calloc(1, sizeof *s);
    if (!s) {
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &file_ops;
    s->base.kind = genred_source_kind_name(GENRED_SOURCE_FILE);
    s->base.log = log;
    s->loop = cfg->loop;
    atomic_init(&s->stop, 0);
    atomic_init(&s->health, GENRED_SOURCE_RUNNING);
    genre_set_error(s->base.name, sizeof s->base.name, "%s", cfg->file);
    char why[256];
    /* A regular file only, opened without blocking: this runs on the main
     * loop (start-up, reload, retries), which a FIFO would stall. */
    s->file = genre_audiofile_open_regular(cfg->file, why, sizeof why);
    if (!s->file) {
        genre_set_error(err, errlen, "cannot open audio file %s: %s", cfg->file, why);
        goto fail;
    }
    s->base.rate = genre_audiofile_rate(s->file);
    s->base.channels = genre_audiofile_channels(s->file);
    if (!(s->base.rate > 0) || s->base.channels < 1) {
        genre_set_error(err, errlen, "%s: unusable format (%g Hz, %d channels)", cfg->file,
                        s->base.rate, s->base.channels);
        goto fail;
    }
    /* Blocks as PulseAudio delivers its fragments: with the automatic
     * latency one per result, not 100 a second as with 10-ms blocks
     * (doc/benchmarks.md). */
    s->block_frames = genred_source_fragment_frames(s->base.rate, cfg->latency);
    s->base.delivery_seconds = (double)s->block_frames / s->base.rate;
    atomic_init(&s->base.arrived, NULL);
    s->piece = malloc((size_t)READ_FRAMES * (size_t)s->base.channels * sizeof *s->piece);
    if (!s->piece) {
        genre_set_error(err, errlen, "out of memory");
        goto fail;
    }
    if (sem_init(&s->wake, 0, 0) != 0) {
        genre_set_error(err, errlen, "cannot create the file reader's semaphore");
        goto fail;
    }
    s->wake_ready = 1;
    if (genred_source_init_ring(&s->base, err, errlen))
        goto fail;
    genred_debug(log, "opened %s: %d channel(s), %g Hz%s", cfg->file, s->base.channels,
                 s->base.rate, s->loop ? ", looping" : "");
    return &s->base;
fail:
    file_close(&s->base);
    return NULL;
}
