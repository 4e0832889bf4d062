/* Live capture through PortAudio.
 *
 * The stream callback runs on PortAudio's audio thread under real-time
 * constraints: it only copies the interleaved float frames into the SPSC
 * ring (dropping them whole, counted, when the ring is full) and bumps two
 * atomic counters.  It never locks, allocates, logs or blocks.
 *
 * Failure detection happens on the main thread (genred_source_check): the
 * finished callback fired, PortAudio says the stream is no longer active,
 * or no frames arrived for a while (a device that vanished without an
 * error).  The caller then closes the source and opens a new one later;
 * closing also terminates PortAudio, so the next open re-enumerates the
 * devices and finds one that was plugged back in. */
#include "source_impl.h"

#include "portaudio_api.h"

#include <ctype.h>
#include <fcntl.h>
#include <portaudio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

typedef struct pa_source {
    genred_source base;             /* first: the generic part */
    genred_portaudio_api pa;            /* PortAudio's calls (portaudio_api.h) */
    PaStream *stream;
    int pa_initialized;
    int started;
    genred_capture capture;             /* overflows: paInputOverflow flags */
    _Atomic int finished;               /* the stream-finished callback ran */
} pa_source;

/* ALSA and JACK print enumeration noise (unknown PCMs, "jack server is not
 * running") straight to stderr while PortAudio initialises; that is not
 * worth a line in the journal on every start and device retry.  So stderr
 * is pointed at /dev/null for the duration, unless debugging.  This runs on
 * the main thread; a line another thread logs in those few milliseconds
 * would be lost, an accepted cost. */
/* ALSA's top configuration file, as Debian's alsa-lib has it. */
#ifndef GENRED_ALSA_CONFIG_DEFAULT
#define GENRED_ALSA_CONFIG_DEFAULT "/usr/share/alsa/alsa.conf"
#endif

/* PortAudio 19.6 aborts the whole process (an assertion in its ALSA
 * BuildDeviceList) when ALSA has no configuration at all, so that is
 * checked first and reported as an error: ALSA_CONFIG_PATH (a ':'-separated
 * list; ALSA reads whichever entries exist) or the default file must name
 * a readable file.  0, or -1 with a reason. */
static int alsa_configured(char *err, size_t errlen)
{
    const char *paths = getenv("ALSA_CONFIG_PATH");
    if (!paths || !*paths)
        paths = GENRED_ALSA_CONFIG_DEFAULT;
    const char *p = paths;
    while (*p) {
        size_t len = strcspn(p, ":");
        char one[4096];
        if (len > 0 && len < sizeof one) {
            memcpy(one, p, len);
            one[len] = '\0';
            if (access(one, R_OK) == 0)
                return 0;
        }
        p += len;
        if (*p == ':')
            p++;
    }
    genre_set_error(err, errlen, "ALSA has no configuration (%s: not readable), so no audio "
                    "device can be used", paths);
    return -1;
}

static PaError pa_initialize_quietly(const genred_portaudio_api *pa, genred_log *log)
{
    if (genred_log_enabled(log, GENRED_LOG_DEBUG))
        return pa->Initialize();
    int saved = dup(STDERR_FILENO);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && devnull >= 0)
        dup2(devnull, STDERR_FILENO);
    PaError e = pa->Initialize();
    if (saved >= 0 && devnull >= 0)
        dup2(saved, STDERR_FILENO);
    if (saved >= 0)
        close(saved);
    if (devnull >= 0)
        close(devnull);
    return e;
}

static const char *pa_error_text(const genred_portaudio_api *pa, PaError e)
{
    if (e == paUnanticipatedHostError) {
        const PaHostErrorInfo *info = pa->GetLastHostErrorInfo();
        if (info && info->errorText && info->errorText[0])
            return info->errorText;
    }
    return pa->GetErrorText(e);
}

static int capture_callback(const void *input, void *output, unsigned long frames,
                            const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags,
                            void *user)
{
    (void)output, (void)time;
    pa_source *s = user;
    if (flags & paInputOverflow)
        genred_capture_overflow(&s->capture);
    if (input)
        genred_ring_write_all(s->base.ring, input, frames * (unsigned long)s->base.channels);
    genred_capture_delivered(&s->capture, frames);
    return paContinue;
}

static void finished_callback(void *user)
{
    pa_source *s = user;
    atomic_store_explicit(&s->finished, 1, memory_order_release);
}

static int is_index(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* "default", an index, or a name: an exact name first, else the first
 * input device whose name contains it (case-insensitive). */
static PaDeviceIndex find_device(const genred_portaudio_api *pa, const char *want, char *err,
                                 size_t errlen)
{
    int count = pa->GetDeviceCount();
    if (count < 0) {
        genre_set_error(err, errlen, "cannot list audio devices: %s", pa_error_text(pa, count));
        return paNoDevice;
    }
    if (strcmp(want, "default") == 0) {
        PaDeviceIndex d = pa->GetDefaultInputDevice();
        if (d == paNoDevice)
            genre_set_error(err, errlen, "there is no default input device (%d devices; see "
                            "genred --list-devices)", count);
        return d;
    }
    if (is_index(want)) {
        long i = strtol(want, NULL, 10);
        if (i >= count) {
            genre_set_error(err, errlen, "no audio device with index %ld (there are %d)", i,
                            count);
            return paNoDevice;
        }
        const PaDeviceInfo *info = pa->GetDeviceInfo((PaDeviceIndex)i);
        if (!info || info->maxInputChannels < 1) {
            genre_set_error(err, errlen, "audio device %ld (%s) has no inputs", i,
                            info && info->name ? info->name : "?");
            return paNoDevice;
        }
        return (PaDeviceIndex)i;
    }
    PaDeviceIndex partial = paNoDevice;
    for (int i = 0; i < count; i++) {
        const PaDeviceInfo *info = pa->GetDeviceInfo(i);
        if (!info || !info->name || info->maxInputChannels < 1)
            continue;
        if (strcmp(info->name, want) == 0)
            return i;
        if (partial == paNoDevice && strcasestr(info->name, want))
            partial = i;
    }
    if (partial == paNoDevice)
        genre_set_error(err, errlen, "no input device matches '%s' (see genred --list-devices)",
                        want);
    return partial;
}

static int pa_start(genred_source *base, char *err, size_t errlen)
{
    pa_source *s = (pa_source *)base;
    const genred_portaudio_api *pa = &s->pa;
    PaError e = pa->StartStream(s->stream);
    if (e != paNoError) {
        genre_set_error(err, errlen, "cannot start capture on %s: %s", base->name,
                        pa_error_text(pa, e));
        return -1;
    }
    s->started = 1;
    return 0;
}

static enum genred_source_health pa_check(genred_source *base, double now, char *why,
                                          size_t whylen)
{
    pa_source *s = (pa_source *)base;
    const genred_portaudio_api *pa = &s->pa;
    if (atomic_load_explicit(&s->finished, memory_order_acquire)) {
        genre_set_error(why, whylen, "capture stream on %s stopped", base->name);
        return GENRED_SOURCE_FAILED;
    }
    PaError active = pa->IsStreamActive(s->stream);
    if (active != 1) {
        genre_set_error(why, whylen, "capture stream on %s is not active%s%s", base->name,
                        active < 0 ? ": " : "", active < 0 ? pa_error_text(pa, active) : "");
        return GENRED_SOURCE_FAILED;
    }
    return genred_capture_silent(&s->capture, base->name, now, why, whylen)
               ? GENRED_SOURCE_FAILED : GENRED_SOURCE_RUNNING;
}

static void pa_losses(const genred_source *base, genred_source_losses *out)
{
    const pa_source *s = (const pa_source *)base;
    genred_capture_losses(&s->capture, out);
}

static void pa_close(genred_source *base)
{
    pa_source *s = (pa_source *)base;
    const genred_portaudio_api *pa = &s->pa;
    if (s->stream) {
        /* Abort rather than stop: nothing recorded is worth waiting for,
         * and a wedged device must not hold up shutdown. */
        if (s->started)
            pa->AbortStream(s->stream);
        pa->CloseStream(s->stream);
    }
    if (s->pa_initialized)
        pa->Terminate();
    genred_ring_del(base->ring);
    free(s);
}

static const genred_source_ops pa_ops = {
    .start = pa_start,
    .check = pa_check,
    .losses = pa_losses,
    .close = pa_close,
};

genred_source *genred_source_pa_open(const genred_audio_config *cfg, genred_log *log, char *err,
                                     size_t errlen)
{
    pa_source *s = calloc(1, sizeof *s);
    if (!s) {
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &pa_ops;
    s->base.kind = genred_source_kind_name(GENRED_SOURCE_DEVICE);
    s->base.log = log;
    atomic_init(&s->finished, 0);

    const genred_portaudio_api *pa = &s->pa;
    if (genred_portaudio_load(&s->pa, err, errlen) || alsa_configured(err, errlen)) {
        free(s);
        return NULL;
    }
    PaError e = pa_initialize_quietly(pa, log);
    if (e != paNoError) {
        genre_set_error(err, errlen, "cannot initialise PortAudio: %s", pa_error_text(pa, e));
        free(s);
        return NULL;
    }
    s->pa_initialized = 1;

    PaDeviceIndex dev = find_device(pa, cfg->device, err, errlen);
    if (dev == paNoDevice)
        goto fail;
    const PaDeviceInfo *info = pa->GetDeviceInfo(dev);
    const PaHostApiInfo *api = info ? pa->GetHostApiInfo(info->hostApi) : NULL;
    if (!info) {
        genre_set_error(err, errlen, "audio device %d vanished", dev);
        goto fail;
    }
    snprintf(s->base.name, sizeof s->base.name, "%s", info->name ? info->name : "?");

    /* Native channels means the device's own count, but at most stereo:
     * the signal is downmixed to mono anyway, and ALSA's "default" and plug
     * devices claim dozens of channels they would only synthesise. */
    int channels = cfg->channels;
    if (channels == 0)
        channels = info->maxInputChannels < 2 ? info->maxInputChannels : 2;
    if (channels > info->maxInputChannels) {
        genre_set_error(err, errlen, "%s has %d input channels, %d configured", s->base.name,
                        info->maxInputChannels, channels);
        goto fail;
    }
    double rate = cfg->rate > 0 ? cfg->rate : info->defaultSampleRate;
    PaStreamParameters in = {
        .device = dev,
        .channelCount = channels,
        .sampleFormat = paFloat32,      /* interleaved */
        .suggestedLatency = cfg->latency,
        .hostApiSpecificStreamInfo = NULL,
    };
    e = pa->IsFormatSupported(&in, NULL, rate);
    if (e != paFormatIsSupported) {
        genre_set_error(err, errlen, "%s cannot capture %d channel(s) at %g Hz: %s",
                        s->base.name, channels, rate, pa_error_text(pa, e));
        goto fail;
    }
    s->base.rate = rate;
    s->base.channels = channels;
    if (genred_source_init_ring(&s->base, err, errlen))
        goto fail;
    e = pa->OpenStream(&s->stream, &in, NULL, rate,
                       genred_source_period_frames(rate, cfg->latency), paNoFlag,
                       capture_callback, s);
    if (e != paNoError) {
        s->stream = NULL;
        genre_set_error(err, errlen, "cannot open %s: %s", s->base.name, pa_error_text(pa, e));
        goto fail;
    }
    pa->SetStreamFinishedCallback(s->stream, finished_callback);
    const PaStreamInfo *si = pa->GetStreamInfo(s->stream);
    double latency = si ? si->inputLatency : cfg->latency;
    genred_capture_init(&s->capture, rate, latency);
    genred_debug(log, "opened %s (%s, index %d): %d channel(s), %g Hz, latency %.3f s",
                 s->base.name, api && api->name ? api->name : "?", dev, channels, rate, latency);
    return &s->base;
fail:
    pa_close(&s->base);
    return NULL;
}

int genred_source_list_devices(FILE *out, genred_log *log, char *err, size_t errlen)
{
    genred_portaudio_api api;
    const genred_portaudio_api *pa = &api;
    if (genred_portaudio_load(&api, err, errlen) || alsa_configured(err, errlen))
        return -1;
    PaError e = pa_initialize_quietly(pa, log);
    if (e != paNoError) {
        genre_set_error(err, errlen, "cannot initialise PortAudio: %s", pa_error_text(pa, e));
        return -1;
    }
    int count = pa->GetDeviceCount();
    if (count < 0) {
        genre_set_error(err, errlen, "cannot list audio devices: %s", pa_error_text(pa, count));
        pa->Terminate();
        return -1;
    }
    PaDeviceIndex def = pa->GetDefaultInputDevice();
    int inputs = 0;
    fprintf(out, "%5s  %-8s %4s %8s  %s\n", "index", "host-api", "in", "rate", "name");
    for (int i = 0; i < count; i++) {
        const PaDeviceInfo *info = pa->GetDeviceInfo(i);
        if (!info || info->maxInputChannels < 1)
            continue;
        const PaHostApiInfo *api = pa->GetHostApiInfo(info->hostApi);
        fprintf(out, "%5d  %-8s %4d %8g  %s%s\n", i, api && api->name ? api->name : "?",
                info->maxInputChannels, info->defaultSampleRate, info->name ? info->name : "?",
                i == def ? "  (default)" : "");
        inputs++;
    }
    if (inputs == 0)
        fprintf(out, "(no input devices)\n");
    pa->Terminate();
    return 0;
}
