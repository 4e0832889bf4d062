/* Dispatch to the PortAudio, PulseAudio or file implementation, and what
 * the live ones share. */
#include "source_impl.h"

#include <math.h>
#include <time.h>

int genred_source_init_ring(genred_source *s, char *err, size_t errlen)
{
    double floats = ceil(s->rate * SOURCE_RING_SECONDS) * s->channels;
    s->ring = floats > 0 && floats < (double)(1u << 30) ? genred_ring_new((size_t)floats) : NULL;
    if (!s->ring) {
        genre_set_error(err, errlen, "cannot allocate the audio ring (%g Hz, %d channels)",
                        s->rate, s->channels);
        return -1;
    }
    return 0;
}

unsigned long genred_source_period_frames(double rate, double latency)
{
    unsigned long frames = 256;
    while ((double)frames * 2.0 <= rate * latency / 2.0)
        frames *= 2;
    return frames;
}

unsigned long genred_source_fragment_frames(double rate, double latency)
{
    double frames = round(rate * latency);
    return frames > 256 ? (unsigned long)frames : 256;
}

void genred_capture_init(genred_capture *c, double rate, double latency)
{
    atomic_init(&c->frames, 0);
    atomic_init(&c->overflows, 0);
    atomic_init(&c->gaps, 0);
    atomic_init(&c->gap_frames, 0);
    /* Lateness up to a few device buffers is jitter, not a gap. */
    genred_gap_init(&c->gap, rate,
                    SOURCE_GAP_THRESHOLD_SECONDS + SOURCE_GAP_LATENCY_FACTOR * latency);
    c->stall_limit = latency * SOURCE_STALL_LATENCY_FACTOR;
    if (c->stall_limit < SOURCE_STALL_SECONDS_MIN)
        c->stall_limit = SOURCE_STALL_SECONDS_MIN;
    if (c->stall_limit > SOURCE_STALL_SECONDS_MAX)
        c->stall_limit = SOURCE_STALL_SECONDS_MAX;
    c->last_frames = 0;
    c->last_progress = c->last_check = 0;
}

void genred_capture_delivered(genred_capture *c, uint64_t frames)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);   /* the vDSO: no system call */
    uint64_t lost = genred_gap_update(&c->gap, (double)now.tv_sec + now.tv_nsec * 1e-9, frames);
    if (lost) {
        atomic_fetch_add_explicit(&c->gap_frames, lost, memory_order_relaxed);
        atomic_fetch_add_explicit(&c->gaps, 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&c->frames, frames, memory_order_relaxed);
}

void genred_capture_overflow(genred_capture *c)
{
    atomic_fetch_add_explicit(&c->overflows, 1, memory_order_relaxed);
}

int genred_capture_silent(genred_capture *c, const char *name, double now, char *why,
                          size_t whylen)
{
    uint64_t frames = atomic_load_explicit(&c->frames, memory_order_relaxed);
    /* If the main thread itself did not run for a while (the process was
     * stopped, the machine suspended), the device had no chance either:
     * its silence is judged from now on, not from before the stop. */
    int we_stalled = c->last_check > 0 && now - c->last_check > c->stall_limit / 2;
    c->last_check = now;
    if (frames != c->last_frames || c->last_progress == 0 || we_stalled) {
        c->last_frames = frames;
        c->last_progress = now;
        return 0;
    }
    if (now - c->last_progress <= c->stall_limit)
        return 0;
    genre_set_error(why, whylen, "no audio from %s for %.1f s", name, now - c->last_progress);
    return 1;
}

void genred_capture_losses(const genred_capture *c, genred_source_losses *out)
{
    out->overflows = atomic_load_explicit(&c->overflows, memory_order_relaxed);
    out->gaps = atomic_load_explicit(&c->gaps, memory_order_relaxed);
    out->gap_frames = atomic_load_explicit(&c->gap_frames, memory_order_relaxed);
}

genred_source *genred_source_open(const genred_audio_config *cfg, genred_log *log, char *err,
                                  size_t errlen)
{
    if (cfg->source == GENRED_SOURCE_FILE)
        return genred_source_file_open(cfg, log, err, errlen);
    if (cfg->source == GENRED_SOURCE_PULSE)
        return genred_source_pulse_open(cfg, log, err, errlen);
    return genred_source_pa_open(cfg, log, err, errlen);
}

int genred_source_start(genred_source *s, char *err, size_t errlen)
{
    return s->ops->start(s, err, errlen);
}

enum genred_source_health genred_source_check(genred_source *s, double now, char *why,
                                              size_t whylen)
{
    return s->ops->check(s, now, why, whylen);
}

const char *genred_source_kind_name(enum genred_source_kind kind)
{
    switch (kind) {
    case GENRED_SOURCE_FILE: return "file";
    case GENRED_SOURCE_PULSE: return "pulse";
    case GENRED_SOURCE_DEVICE: break;
    }
    return "device";
}

double genred_source_rate(const genred_source *s) { return s->rate; }
int genred_source_channels(const genred_source *s) { return s->channels; }
const char *genred_source_kind(const genred_source *s) { return s->kind; }
const char *genred_source_name(const genred_source *s) { return s->name; }
genred_ring *genred_source_ring(genred_source *s) { return s->ring; }

double genred_source_notify(genred_source *s, sem_t *sem)
{
    if (s->delivery_seconds <= 0)
        return 0;
    atomic_store_explicit(&s->arrived, sem, memory_order_release);
    return s->delivery_seconds;
}

void genred_source_announce(genred_source *s)
{
    sem_t *arrived = atomic_load_explicit(&s->arrived, memory_order_acquire);
    if (arrived)
        sem_post(arrived);
}

void genred_source_get_losses(const genred_source *s, genred_source_losses *out)
{
    *out = (genred_source_losses){0};
    if (s->ops->losses)
        s->ops->losses(s, out);
}

void genred_source_close(genred_source *s)
{
    if (s)
        s->ops->close(s);
}
