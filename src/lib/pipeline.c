/* downmix -> resample -> front-end, with all scratch allocated in _new. */
#include "genre/pipeline.h"
#include "genre/downmix.h"
#include "genre/error.h"
#include "genre/resampler.h"

#include <math.h>
#include <stdlib.h>

/* Channel counts beyond this are not audio we expect (and would make the
 * scratch size silly). */
#define PIPELINE_MAX_CHANNELS 64

struct genre_pipeline {
    const genre_frontend_spec *spec;   /* as given, for _renew */
    double in_rate;
    genre_resampler_method method;
    int channels;
    genre_resampler *resampler;
    genre_frontend *frontend;
    float *mono;                /* GENRE_PIPELINE_MAX_CHUNK samples */
    /* The frame sink of the current _push/_flush call, reached from the
     * resampler's sample sink. */
    genre_frame_sink frame_sink;
    void *frame_user;
};

genre_pipeline *genre_pipeline_new(const genre_frontend_spec *spec, double in_rate, int channels,
                                   char *err, size_t errlen)
{
    return genre_pipeline_new_method(spec, in_rate, channels, GENRE_RESAMPLER_AUTO, err, errlen);
}

genre_pipeline *genre_pipeline_new_method(const genre_frontend_spec *spec, double in_rate, int channels,
                                          genre_resampler_method method, char *err, size_t errlen)
{
    if (!spec) {
        genre_set_error(err, errlen, "pipeline: no front-end spec given");
        return NULL;
    }
    if (channels < 1 || channels > PIPELINE_MAX_CHANNELS) {
        genre_set_error(err, errlen, "pipeline: %d channels not supported (1..%d)", channels,
                        PIPELINE_MAX_CHANNELS);
        return NULL;
    }
    if (!(in_rate > 0.0) || !isfinite(in_rate)) {
        genre_set_error(err, errlen, "pipeline: invalid input sample rate %g Hz", in_rate);
        return NULL;
    }
    genre_pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        genre_set_error(err, errlen, "pipeline: out of memory");
        return NULL;
    }
    p->spec = spec;
    p->in_rate = in_rate;
    p->method = method;
    p->channels = channels;
    p->mono = malloc(GENRE_PIPELINE_MAX_CHUNK * sizeof *p->mono);
    if (!p->mono) {
        genre_set_error(err, errlen, "pipeline: out of memory");
        free(p);
        return NULL;
    }
    p->frontend = genre_frontend_new(spec, err, errlen);
    if (!p->frontend) {
        genre_pipeline_del(p);
        return NULL;
    }
    p->resampler = genre_resampler_new_method(in_rate, (double)spec->sample_rate, method, err, errlen);
    if (!p->resampler) {
        genre_pipeline_del(p);
        return NULL;
    }
    return p;
}

genre_pipeline *genre_pipeline_renew(genre_pipeline *p, const genre_frontend_spec *spec, double in_rate,
                                     int channels, char *err, size_t errlen)
{
    if (p && p->spec == spec && p->in_rate == in_rate && p->channels == channels &&
        p->method == GENRE_RESAMPLER_AUTO) {
        genre_pipeline_reset(p);
        return p;
    }
    genre_pipeline_del(p);
    return genre_pipeline_new(spec, in_rate, channels, err, errlen);
}

static int to_frontend(void *user, const float *samples, size_t n)
{
    genre_pipeline *p = user;
    return genre_frontend_push(p->frontend, samples, n, p->frame_sink, p->frame_user);
}

int genre_pipeline_push(genre_pipeline *p, const float *interleaved, size_t frames,
                        genre_frame_sink sink, void *user)
{
    if (!p || !sink || (frames > 0 && !interleaved))
        return -1;
    p->frame_sink = sink;
    p->frame_user = user;
    while (frames > 0) {
        const size_t chunk = frames < GENRE_PIPELINE_MAX_CHUNK ? frames : GENRE_PIPELINE_MAX_CHUNK;
        genre_downmix(interleaved, chunk, p->channels, p->mono);
        int rc = genre_resampler_push(p->resampler, p->mono, chunk, to_frontend, p);
        if (rc)
            return rc;
        interleaved += chunk * (size_t)p->channels;
        frames -= chunk;
    }
    return 0;
}

int genre_pipeline_flush(genre_pipeline *p, genre_frame_sink sink, void *user)
{
    if (!p || !sink)
        return -1;
    p->frame_sink = sink;
    p->frame_user = user;
    return genre_resampler_flush(p->resampler, to_frontend, p);
}

void genre_pipeline_reset(genre_pipeline *p)
{
    if (!p)
        return;
    genre_resampler_reset(p->resampler);
    genre_frontend_reset(p->frontend);
}

void genre_pipeline_del(genre_pipeline *p)
{
    if (!p)
        return;
    genre_resampler_del(p->resampler);
    genre_frontend_del(p->frontend);
    free(p->mono);
    free(p);
}
