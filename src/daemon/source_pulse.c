/* Live capture from a PulseAudio server (or PipeWire's pulse server) over
 * its native protocol, with no ALSA and no PortAudio in between.
 *
 * Why a second live path: through PortAudio and ALSA's pulse plugin the same
 * audio crosses two extra threads that wake some 20-80 times a second
 * (PortAudio's polling thread and the plugin's libpulse thread), which cost
 * several times what genred's own work does, and PortAudio 19.6 loads every
 * plugin ALSA's configuration names while it lists devices (some 16 MiB of
 * libraries).  Here libpulse's one thread receives fragments of the
 * latency (genred_source_fragment_frames; with the automatic latency, one
 * per result interval), and nothing else is loaded (doc/benchmarks.md has
 * the figures).
 *
 * The read callback runs on libpulse's mainloop thread.  Like the PortAudio
 * callback it only copies the fragment into the SPSC ring (dropping it
 * whole, counted, when the ring is full), updates the gap detector and bumps
 * atomic counters; it never blocks, allocates or logs.  Unlike it, once the
 * fragment's last piece is in (a timer SETTLE_USEC after the latest piece)
 * it also says that audio arrived (sem_post, genred_source_notify): this is
 * not a real-time thread but libpulse's I/O thread, which makes several
 * system calls per fragment anyway, and it lets a result be computed as
 * soon as its audio is here.  The stream and
 * context state callbacks only set an atomic flag and an error code, so
 * the main thread's health check reads atomics and never takes libpulse's
 * lock.  Opening and closing take that lock as libpulse requires. */
#include "source_impl.h"


#include <pulse/pulseaudio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long opening may wait for the server to answer. */
#define CONNECT_TIMEOUT_USEC (5 * PA_USEC_PER_SEC)
/* The pieces of one fragment arrive within a millisecond or two of each
 * other (measured: at most 1.2 ms apart, bursts 1 s apart at the automatic
 * latency). */
#define SETTLE_USEC (5 * PA_MSEC_PER_SEC)

typedef struct pulse_source {
    genred_source base;             /* first: the generic part */
    pa_threaded_mainloop *loop;
    pa_context *context;
    pa_stream *stream;
    int started;
    size_t frame_bytes;
    double latency;                     /* the configured capture latency, seconds */
    char want[GENRED_CONFIG_NAME_MAX];  /* the source asked for; "" = the default */
    genred_capture capture;             /* overflows: the server dropped data for us */
    uint64_t fragment_frames;           /* asked for, then as granted */
    /* The server sends a fragment as a burst of pieces (of up to 64 KiB,
     * not aligned to the fragment size); the burst is announced once, when
     * no piece came for SETTLE_USEC.  Mainloop thread only. */
    pa_time_event *settle;
    _Atomic int failed;                 /* the context or stream failed */
    _Atomic int error;                  /* its pa_context_errno */
    /* Set on the mainloop thread while opening (under its lock). */
    int info_done, info_rate, info_channels;
    int timed_out;
} pulse_source;

/* ---- libpulse's thread --------------------------------------------------- */

static void note_failure(pulse_source *s)
{
    atomic_store_explicit(&s->error, pa_context_errno(s->context), memory_order_relaxed);
    atomic_store_explicit(&s->failed, 1, memory_order_release);
}

static void context_state(pa_context *c, void *user)
{
    pulse_source *s = user;
    pa_context_state_t st = pa_context_get_state(c);
    if (st == PA_CONTEXT_FAILED || st == PA_CONTEXT_TERMINATED)
        note_failure(s);
    pa_threaded_mainloop_signal(s->loop, 0);
}

static void stream_state(pa_stream *st, void *user)
{
    pulse_source *s = user;
    pa_stream_state_t state = pa_stream_get_state(st);
    if (state == PA_STREAM_FAILED || state == PA_STREAM_TERMINATED)
        note_failure(s);
    pa_threaded_mainloop_signal(s->loop, 0);
}

static void stream_overflow(pa_stream *st, void *user)
{
    (void)st;
    pulse_source *s = user;
    genred_capture_overflow(&s->capture);
}

static void read_fragments(pa_stream *st, size_t nbytes, void *user)
{
    (void)nbytes;
    pulse_source *s = user;
    const void *data;
    size_t n;
    while (pa_stream_peek(st, &data, &n) == 0 && n > 0) {
        uint64_t frames = n / s->frame_bytes;
        if (data)
            genred_ring_write_all(s->base.ring, data, frames * (size_t)s->base.channels);
        else    /* a hole the server reports in the record stream: lost */
            genred_capture_overflow(&s->capture);
        genred_capture_delivered(&s->capture, frames);
        pa_stream_drop(st);
    }
    pa_context_rttime_restart(s->context, s->settle, pa_rtclock_now() + SETTLE_USEC);
}

static void fragment_settled(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv,
                             void *user)
{
    (void)api, (void)e, (void)tv;
    pulse_source *s = user;
    genred_source_announce(&s->base);
}

static void source_info(pa_context *c, const pa_source_info *info, int eol, void *user)
{
    (void)c;
    pulse_source *s = user;
    if (eol == 0 && info) {
        s->info_rate = (int)info->sample_spec.rate;
        s->info_channels = info->sample_spec.channels;
    }
    if (eol != 0)
        s->info_done = 1;
    pa_threaded_mainloop_signal(s->loop, 0);
}

/* ---- main thread ----------------------------------------------------------- */

static const char *pulse_error(pulse_source *s)
{
    return pa_strerror(s->context ? pa_context_errno(s->context) : PA_ERR_UNKNOWN);
}

static void wake_up(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv, void *user)
{
    (void)api, (void)e, (void)tv;
    pulse_source *s = user;
    s->timed_out = 1;
    pa_threaded_mainloop_signal(s->loop, 0);
}

/* Waits (the mainloop locked) until done(), the context fails or
 * CONNECT_TIMEOUT_USEC pass -- a server that accepts the connection but
 * never answers (stopped, wedged) must not hold up the main thread for
 * longer.  1 when done. */
static int wait_until(pulse_source *s, int (*done)(pulse_source *))
{
    s->timed_out = 0;
    pa_time_event *timer =
        pa_context_rttime_new(s->context, pa_rtclock_now() + CONNECT_TIMEOUT_USEC, wake_up, s);
    int ok;
    while (!(ok = done(s)) && !s->timed_out &&
           !atomic_load_explicit(&s->failed, memory_order_acquire))
        pa_threaded_mainloop_wait(s->loop);     /* every state change signals */
    if (timer)
        pa_threaded_mainloop_get_api(s->loop)->time_free(timer);
    return ok;
}

static int context_ready(pulse_source *s)
{
    return pa_context_get_state(s->context) == PA_CONTEXT_READY;
}

static int stream_ready(pulse_source *s)
{
    return pa_stream_get_state(s->stream) == PA_STREAM_READY;
}

static int info_done(pulse_source *s) { return s->info_done; }

static int pulse_start(genred_source *base, char *err, size_t errlen)
{
    pulse_source *s = (pulse_source *)base;
    const pa_buffer_attr attr = {
        .maxlength = (uint32_t)-1,      /* the server's default (4 MB) */
        .tlength = (uint32_t)-1, .prebuf = (uint32_t)-1, .minreq = (uint32_t)-1,
        .fragsize = (uint32_t)(s->fragment_frames * s->frame_bytes),
    };
    /* A named source is that source or nothing: when it goes away the
     * server kills the stream (reported as input lost) instead of moving
     * it.  The default follows the server's (or PULSE_SOURCE's) default. */
    pa_stream_flags_t flags = PA_STREAM_ADJUST_LATENCY | (s->want[0] ? PA_STREAM_DONT_MOVE : 0);
    pa_threaded_mainloop_lock(s->loop);
    s->settle = pa_context_rttime_new(s->context, PA_USEC_INVALID, fragment_settled, s);
    int ok = s->settle &&
             pa_stream_connect_record(s->stream, s->want[0] ? s->want : NULL, &attr, flags) == 0 &&
             wait_until(s, stream_ready);
    if (ok) {
        const char *dev = pa_stream_get_device_name(s->stream);
        if (dev)
            snprintf(base->name, sizeof base->name, "%s", dev);
        /* The server may grant another fragment size than asked for. */
        const pa_buffer_attr *got = pa_stream_get_buffer_attr(s->stream);
        if (got && got->fragsize >= s->frame_bytes) {
            s->fragment_frames = got->fragsize / s->frame_bytes;
            base->delivery_seconds = (double)s->fragment_frames / base->rate;
        }
        genred_debug(base->log, "recording %s: fragments of %.3f s", base->name,
                     (double)s->fragment_frames / base->rate);
    } else {
        genre_set_error(err, errlen, "cannot record from %s: %s", base->name, pulse_error(s));
    }
    pa_threaded_mainloop_unlock(s->loop);
    s->started = ok;
    return ok ? 0 : -1;
}

static enum genred_source_health pulse_check(genred_source *base, double now, char *why,
                                             size_t whylen)
{
    pulse_source *s = (pulse_source *)base;
    if (atomic_load_explicit(&s->failed, memory_order_acquire)) {
        int e = atomic_load_explicit(&s->error, memory_order_relaxed);
        genre_set_error(why, whylen, "recording from %s stopped: %s", base->name,
                        e ? pa_strerror(e) : "the source went away");
        return GENRED_SOURCE_FAILED;
    }
    return genred_capture_silent(&s->capture, base->name, now, why, whylen)
               ? GENRED_SOURCE_FAILED : GENRED_SOURCE_RUNNING;
}

static void pulse_losses(const genred_source *base, genred_source_losses *out)
{
    const pulse_source *s = (const pulse_source *)base;
    genred_capture_losses(&s->capture, out);
}

static void pulse_close(genred_source *base)
{
    pulse_source *s = (pulse_source *)base;
    if (s->loop) {
        pa_threaded_mainloop_lock(s->loop);
        if (s->settle)
            pa_threaded_mainloop_get_api(s->loop)->time_free(s->settle);
        if (s->stream) {
            pa_stream_set_read_callback(s->stream, NULL, NULL);
            pa_stream_set_state_callback(s->stream, NULL, NULL);
            if (s->started)
                pa_stream_disconnect(s->stream);
            pa_stream_unref(s->stream);
        }
        if (s->context) {
            pa_context_set_state_callback(s->context, NULL, NULL);
            pa_context_disconnect(s->context);
            pa_context_unref(s->context);
        }
        pa_threaded_mainloop_unlock(s->loop);
        pa_threaded_mainloop_stop(s->loop);
        pa_threaded_mainloop_free(s->loop);
    }
    genred_ring_del(base->ring);
    free(s);
}

static const genred_source_ops pulse_ops = {
    .start = pulse_start,
    .check = pulse_check,
    .losses = pulse_losses,
    .close = pulse_close,
};

genred_source *genred_source_pulse_open(const genred_audio_config *cfg, genred_log *log,
                                        char *err, size_t errlen)
{
    pulse_source *s = calloc(1, sizeof *s);
    if (!s) {
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &pulse_ops;
    s->base.kind = genred_source_kind_name(GENRED_SOURCE_PULSE);
    s->base.log = log;
    s->latency = cfg->latency;
    atomic_init(&s->failed, 0);
    atomic_init(&s->error, 0);
    atomic_init(&s->base.arrived, NULL);
    if (strcmp(cfg->device, "default") != 0)
        snprintf(s->want, sizeof s->want, "%s", cfg->device);
    snprintf(s->base.name, sizeof s->base.name, "%s",
             s->want[0] ? s->want : "the default PulseAudio source");

    s->loop = pa_threaded_mainloop_new();
    if (!s->loop) {
        genre_set_error(err, errlen, "cannot create libpulse's mainloop");
        free(s);
        return NULL;
    }
    pa_threaded_mainloop_lock(s->loop);
    s->context = pa_context_new(pa_threaded_mainloop_get_api(s->loop), "genred");
    int ok = s->context != NULL;
    if (ok) {
        pa_context_set_state_callback(s->context, context_state, s);
        /* The server or PULSE_SERVER of this user; never start one. */
        ok = pa_context_connect(s->context, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) == 0 &&
             pa_threaded_mainloop_start(s->loop) == 0 && wait_until(s, context_ready);
        if (!ok)
            genre_set_error(err, errlen, "cannot connect to the PulseAudio server: %s",
                            s->timed_out ? "it did not answer" : pulse_error(s));
    } else {
        genre_set_error(err, errlen, "cannot create a PulseAudio context");
    }

    /* The source's own rate and channel count (at most stereo, as for a
     * PortAudio device), unless the config fixes them. */
    if (ok && (cfg->rate == 0 || cfg->channels == 0)) {
        const char *name = s->want[0] ? s->want : "@DEFAULT_SOURCE@";
        const char *env = getenv("PULSE_SOURCE");
        if (!s->want[0] && env && *env)
            name = env;     /* where libpulse will connect the default */
        pa_operation *op = pa_context_get_source_info_by_name(s->context, name, source_info, s);
        ok = op && wait_until(s, info_done) && s->info_rate > 0;
        if (op)
            pa_operation_unref(op);
        if (!ok)
            genre_set_error(err, errlen, "no PulseAudio source %s: %s", name,
                            s->info_done ? "no such source" : pulse_error(s));
    }
    if (ok) {
        int channels = cfg->channels;
        if (channels == 0)
            channels = s->info_channels < 2 ? s->info_channels : 2;
        s->base.rate = cfg->rate > 0 ? cfg->rate : s->info_rate;
        s->base.channels = channels;
        s->frame_bytes = sizeof(float) * (size_t)channels;
        pa_sample_spec spec = {.format = PA_SAMPLE_FLOAT32NE, .rate = (uint32_t)s->base.rate,
                               .channels = (uint8_t)channels};
        if (!pa_sample_spec_valid(&spec)) {
            genre_set_error(err, errlen, "PulseAudio cannot record %d channel(s) at %g Hz",
                            channels, s->base.rate);
            ok = 0;
        }
        if (ok) {
            pa_channel_map map;
            pa_channel_map_init_extend(&map, (unsigned)channels, PA_CHANNEL_MAP_DEFAULT);
            s->stream = pa_stream_new(s->context, "genre classification", &spec, &map);
            if (!s->stream) {
                genre_set_error(err, errlen, "cannot create a record stream: %s",
                                pulse_error(s));
                ok = 0;
            }
        }
        if (ok) {
            pa_stream_set_state_callback(s->stream, stream_state, s);
            pa_stream_set_read_callback(s->stream, read_fragments, s);
            pa_stream_set_overflow_callback(s->stream, stream_overflow, s);
        }
    }
    pa_threaded_mainloop_unlock(s->loop);
    if (ok && genred_source_init_ring(&s->base, err, errlen))
        ok = 0;
    if (!ok) {
        pulse_close(&s->base);
        return NULL;
    }
    s->fragment_frames = genred_source_fragment_frames(s->base.rate, s->latency);
    s->base.delivery_seconds = (double)s->fragment_frames / s->base.rate;
    genred_capture_init(&s->capture, s->base.rate, s->latency);
    genred_debug(log, "PulseAudio source %s: %d channel(s), %g Hz", s->base.name,
                 s->base.channels, s->base.rate);
    return &s->base;
}
