/* Dispatch to the device or file implementation. */
#include "source_impl.h"

#include <math.h>

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

genred_source *genred_source_open(const genred_audio_config *cfg, genred_log *log, char *err,
                                  size_t errlen)
{
    if (cfg->source == GENRED_SOURCE_FILE)
        return genred_source_file_open(cfg, log, err, errlen);
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

double genred_source_rate(const genred_source *s) { return s->rate; }
int genred_source_channels(const genred_source *s) { return s->channels; }
const char *genred_source_kind(const genred_source *s) { return s->kind; }
const char *genred_source_name(const genred_source *s) { return s->name; }
genred_ring *genred_source_ring(genred_source *s) { return s->ring; }

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
