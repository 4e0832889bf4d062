/* Where genred's audio comes from: a PortAudio capture device (the live
 * case) or an audio file paced in real time (demo mode, works with no
 * audio hardware at all).  Either way the samples arrive as interleaved
 * float frames in the source's lock-free ring, which the engine's feature
 * thread drains.
 *
 * Every function here but genred_source_get_losses runs on the main thread:
 * PortAudio is not
 * thread-safe, so opening, starting, checking and closing streams all
 * happen there (the capture callback and the file reader thread only ever
 * write into the ring). */
#ifndef GENRED_SOURCE_H
#define GENRED_SOURCE_H

#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "genred/config.h"
#include "genred/log.h"
#include "genred/ring.h"

typedef struct genred_source genred_source;

enum genred_source_health {
    GENRED_SOURCE_RUNNING = 0,
    GENRED_SOURCE_FAILED,       /* stream error, device gone, read error: retry later */
    GENRED_SOURCE_FINISHED,     /* a file source reached its end (not looping) */
};

/* Open the source the config names (not started yet).  NULL with a reason. */
genred_source *genred_source_open(const genred_audio_config *cfg, genred_log *log, char *err,
                                  size_t errlen);
int genred_source_start(genred_source *s, char *err, size_t errlen);
/* Look at the stream: still delivering?  now is CLOCK_MONOTONIC seconds;
 * a device that delivered nothing for a while counts as failed.  why gets
 * a reason when the answer is not RUNNING. */
enum genred_source_health genred_source_check(genred_source *s, double now, char *why,
                                              size_t whylen);
double genred_source_rate(const genred_source *s);
int genred_source_channels(const genred_source *s);
/* "device", "file" or "pulse": the source's [audio] source word. */
const char *genred_source_kind(const genred_source *s);
const char *genred_source_kind_name(enum genred_source_kind kind);
/* Device name or file path. */
const char *genred_source_name(const genred_source *s);
genred_ring *genred_source_ring(genred_source *s);
/* A source that can say when audio arrives (source = pulse) posts sem after
 * each delivery from now on; NULL stops that (sem must outlive the source
 * or be replaced by NULL first).  sem_post never blocks: the capture
 * callback may call it.  Returns the delivery period in seconds, or 0 for
 * a source that does not post (PortAudio's real-time callback makes no
 * system calls). */
double genred_source_notify(genred_source *s, sem_t *sem);
/* Audio the source knows it lost before the ring: totals since it opened. */
typedef struct genred_source_losses {
    uint64_t overflows;         /* overflows the device reported (paInputOverflow) */
    uint64_t gaps;              /* capture gaps: the clock ran on without audio (genred/gap.h) */
    uint64_t gap_frames;        /* frames those gaps lost (an estimate) */
} genred_source_losses;
/* Any thread (the counters are atomic): the feature thread reads them. */
void genred_source_get_losses(const genred_source *s, genred_source_losses *out);
/* Stop (if running) and free everything. */
void genred_source_close(genred_source *s);

/* genred --list-devices: every PortAudio input device with its index,
 * host API, channels and default rate.  0 or -1 with a reason. */
int genred_source_list_devices(FILE *out, genred_log *log, char *err, size_t errlen);

#endif
