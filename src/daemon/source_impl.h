/* What every source implementation shares; private to src/daemon. */
#ifndef GENRED_SOURCE_IMPL_H
#define GENRED_SOURCE_IMPL_H

#include "genred/gap.h"
#include "genred/source.h"

#include <semaphore.h>
#include <stdatomic.h>

/* Seconds of audio the ring holds: enough that a feature thread held up by
 * a reload (threads stopped and restarted) or a slow moment loses nothing. */
#define SOURCE_RING_SECONDS 4.0

/* A live device that delivers nothing for this long (or for many of its own
 * buffer periods, if those are long, but never longer than the maximum) is
 * treated as gone. */
#define SOURCE_STALL_SECONDS_MIN 2.0
#define SOURCE_STALL_SECONDS_MAX 10.0
#define SOURCE_STALL_LATENCY_FACTOR 20.0
/* A delivery later than this (plus a few buffer latencies) than the audio
 * before it accounts for is a capture gap (genred/gap.h). */
#define SOURCE_GAP_THRESHOLD_SECONDS 0.25
#define SOURCE_GAP_LATENCY_FACTOR 4.0

/* Frames per delivery from a live device: the largest power of two within
 * half the latency asked for (at least 256), so that the device buffer
 * still holds two deliveries' worth.  Left to itself PortAudio asked ALSA's
 * pulse plugin for ~13-ms periods at latency 0.1 s: some 80 wake-ups a
 * second in each of PortAudio's and libpulse's threads, which cost more CPU
 * than the network (bench/run --only daemon). */
unsigned long genred_source_period_frames(double rate, double latency);
/* Frames per delivery where the buffer is not the device's own and results
 * wait for the delivery that ends their window (PulseAudio, whose server
 * holds up to 4 MB for the stream; a file): the latency's worth, at least
 * 256 (48000 at 48 kHz and 1 s: with the automatic latency, one delivery
 * per result).  Longer deliveries wake genred less and delay no result. */
unsigned long genred_source_fragment_frames(double rate, double latency);

/* The capture side of genred_source_notify: posts the semaphore the engine
 * gave, if any (sem_post never blocks). */
void genred_source_announce(genred_source *s);

/* What a live source counts while it captures: the capture callback's
 * deliveries, the device's own overflows and the capture gaps found from
 * the clock (written by the callback, atomics any thread may read), and the
 * main thread's silence watch that declares a device gone. */
typedef struct genred_capture {
    _Atomic uint64_t frames;            /* frames the callback saw */
    _Atomic uint64_t overflows;         /* reported by the device or server */
    _Atomic uint64_t gaps, gap_frames;  /* capture gaps the callback found */
    genred_gap_detector gap;            /* the callback's own */
    double stall_limit;                 /* main thread from here on */
    uint64_t last_frames;
    double last_progress, last_check;
} genred_capture;

/* Before the callback first runs; latency: the device's buffer latency. */
void genred_capture_init(genred_capture *c, double rate, double latency);
/* The capture callback: frames arrived now.  Reads the vDSO clock and
 * updates atomics: no system call, no lock. */
void genred_capture_delivered(genred_capture *c, uint64_t frames);
/* The capture callback: the device or server lost audio of its own. */
void genred_capture_overflow(genred_capture *c);
/* Main thread, now = CLOCK_MONOTONIC seconds: 1 when no frames came for
 * longer than the limit (the device counts as gone; why says so, naming
 * the device), else 0. */
int genred_capture_silent(genred_capture *c, const char *name, double now, char *why,
                          size_t whylen);
/* Any thread. */
void genred_capture_losses(const genred_capture *c, genred_source_losses *out);

typedef struct genred_source_ops {
    int (*start)(genred_source *s, char *err, size_t errlen);
    enum genred_source_health (*check)(genred_source *s, double now, char *why, size_t whylen);
    void (*losses)(const genred_source *s, genred_source_losses *out);   /* any thread */
    void (*close)(genred_source *s);    /* stops, frees the implementation and s */
} genred_source_ops;

struct genred_source {
    const genred_source_ops *ops;
    const char *kind;
    char name[GENRED_CONFIG_PATH_MAX];
    double rate;
    int channels;
    genred_ring *ring;
    genred_log *log;
    /* Sources that say when audio arrives: their delivery period, and the
     * semaphore to post after each delivery (genred_source_notify). */
    double delivery_seconds;
    _Atomic(sem_t *) arrived;
};

/* Allocates the ring for rate/channels into s->ring; 0 or -1. */
int genred_source_init_ring(genred_source *s, char *err, size_t errlen);

genred_source *genred_source_pa_open(const genred_audio_config *cfg, genred_log *log, char *err,
                                     size_t errlen);
genred_source *genred_source_pulse_open(const genred_audio_config *cfg, genred_log *log,
                                        char *err, size_t errlen);
genred_source *genred_source_file_open(const genred_audio_config *cfg, genred_log *log,
                                       char *err, size_t errlen);

#endif
