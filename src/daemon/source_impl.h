/* What every source implementation shares; private to src/daemon. */
#ifndef GENRED_SOURCE_IMPL_H
#define GENRED_SOURCE_IMPL_H

#include "genred/source.h"

/* Seconds of audio the ring holds: enough that a feature thread held up by
 * a reload (threads stopped and restarted) or a slow moment loses nothing. */
#define SOURCE_RING_SECONDS 4.0

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
};

/* Allocates the ring for rate/channels into s->ring; 0 or -1. */
int genred_source_init_ring(genred_source *s, char *err, size_t errlen);

genred_source *genred_source_pa_open(const genred_audio_config *cfg, genred_log *log, char *err,
                                     size_t errlen);
genred_source *genred_source_file_open(const genred_audio_config *cfg, genred_log *log,
                                       char *err, size_t errlen);

#endif
