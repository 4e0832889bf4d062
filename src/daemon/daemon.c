/* The genred main loop: wiring between the engine (threads), the audio
 * source, the socket server and systemd.  Everything here runs on the main
 * thread; the engine's threads reach it only through ev_async. */
#include "genred/daemon.h"

#include <errno.h>
#include <ev.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "build_config.h"
#include "genre/file.h"
#include "genre/frontend.h"
#include "genre/json.h"
#include "genre/model.h"
#include "genre/stream.h"
#include "genred/clock.h"
#include "genred/config.h"
#include "genred/engine.h"
#include "genred/notify.h"
#include "genred/report.h"
#include "genred/server.h"
#include "genred/source.h"


/* How often the main loop looks at the audio source's health: a silent
 * source counts as gone after 2 s at the least (source_impl.h), and every
 * look wakes the process. */
#define HEALTH_CHECK_SECONDS 1.0
/* Device retry backoff: first retry after 0.5 s, doubling up to 10 s.  It
 * starts again from 0.5 s only once a source has kept running for
 * RETRY_STABLE_SECONDS: a source that opens and fails again at once (an
 * empty looped file, a flapping device) must not be retried every
 * second for ever. */
#define RETRY_FIRST_SECONDS 0.5
#define RETRY_MAX_SECONDS 10.0
#define RETRY_STABLE_SECONDS 10.0
/* Largest model file read (the model loader's own limit). */
#define GENRED_MODEL_FILE_MAX ((size_t)256 << 20)
/* At most one "audio dropped" warning per this many seconds. */
#define LOSS_WARNING_SECONDS 10.0
/* File descriptors genred may need besides one per client: stdio, epoll,
 * libev's signal and async fds, the listening and notify sockets, the
 * server's spare fd, the config and model files during a reload, and the
 * audio source twice over while a reload prepares a new one (ALSA and
 * PulseAudio clients use several each). */
#define FD_RESERVE 64
/* The debug-level statistics line. */
#define STATS_LOG_SECONDS 60.0

struct genred {
    genred_log *log;
    genred_options opt;
    genred_config cfg;              /* the configuration in force */
    char config_path[GENRED_CONFIG_PATH_MAX];   /* "" = built-in defaults */
    char model_path[GENRED_CONFIG_PATH_MAX];    /* resolved path of the model in use */
    uint32_t model_crc;

    struct ev_loop *loop;
    genred_server *server;
    genred_engine *engine;
    genred_notify notify;

    ev_async result_async;
    ev_signal sighup, sigterm, sigint;
    ev_timer health_timer, retry_timer, stats_timer, watchdog_timer;

    /* Audio source state when the engine has none. */
    int source_wanted;              /* a source should be running (0: file ended) */
    double retry_delay;             /* the next retry's delay */
    double source_since;            /* CLOCK_MONOTONIC s when the current source came up */
    char input_error[512];          /* why the source is down, "" if it is not */
    /* Losses already reported (engine totals), and when. */
    uint64_t reported_overruns, reported_dropped, reported_gaps, reported_gap_frames;
    double loss_warning_mono;

    /* The latest result and its status object, for `status`. */
    genred_result last;
    const char *last_genre;         /* label of last (model-owned) or NULL */
    int have_last;
    double last_result_mono;
    genre_json status;
    genre_json scratch;

    double start_mono;
    unsigned long config_generation;
    double last_reload;             /* epoch seconds, 0 = never */
    char last_reload_error[1024];
    int exit_status;
};

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- configuration ----------------------------------------------------------- */

/* Defaults, then the config file, then the command line. */
static int build_config(const genred_options *opt, genred_config *cfg, char *path_out,
                        char *err, size_t errlen)
{
    genred_config_defaults(cfg);
    path_out[0] = '\0';
    const char *path = opt->config_path;
    if (!path && access(GENRED_CONFIG_DEFAULT, F_OK) == 0)
        path = GENRED_CONFIG_DEFAULT;
    if (path) {
        if (genred_config_load(cfg, path, err, errlen))
            return -1;
        snprintf(path_out, GENRED_CONFIG_PATH_MAX, "%s", path);
    }
    if (opt->socket_path)
        snprintf(cfg->socket.path, sizeof cfg->socket.path, "%s", opt->socket_path);
    if (opt->file) {
        cfg->audio.source = GENRED_SOURCE_FILE;
        snprintf(cfg->audio.file, sizeof cfg->audio.file, "%s", opt->file);
        cfg->audio.loop = opt->loop;
    }
    if (opt->model_path)
        snprintf(cfg->model_path, sizeof cfg->model_path, "%s", opt->model_path);
    if (opt->log_level >= 0)
        cfg->log_level = opt->log_level;
    if (genred_config_validate(cfg, err, errlen)) {
        char why[512];
        snprintf(why, sizeof why, "%s", err ? err : "");
        genre_set_error(err, errlen, "%s%s%s", path ? path : "command line", ": ", why);
        return -1;
    }
    return 0;
}

/* max_clients must fit under RLIMIT_NOFILE with FD_RESERVE to spare:
 * otherwise clients can take every fd, and then the watchdog, a reload or
 * the audio source fail instead of a client being refused.  The soft limit
 * is raised to what is needed when the hard limit allows (not possible
 * under genred.service's SystemCallFilter, whose LimitNOFILE= sets it). */
static int check_fd_limit(const genred_config *cfg, genred_log *log, char *err, size_t errlen)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    rlim_t need = (rlim_t)cfg->socket.max_clients + FD_RESERVE;
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
        struct rlimit raised = {need, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            genred_info(log, "raised the file descriptor limit from %llu to %llu for "
                        "max_clients = %zu", (unsigned long long)rl.rlim_cur,
                        (unsigned long long)need, cfg->socket.max_clients);
            return 0;
        }
    }
    genre_set_error(err, errlen,
                    "[socket] max_clients = %zu needs %llu file descriptors, but the limit is "
                    "%llu (hard %llu): lower max_clients or raise the limit (LimitNOFILE= in "
                    "genred.service, ulimit -n)",
                    cfg->socket.max_clients, (unsigned long long)need,
                    (unsigned long long)rl.rlim_cur,
                    (unsigned long long)(rl.rlim_max == RLIM_INFINITY ? 0 : rl.rlim_max));
    return -1;
}

/* Without a configured model, the installed one.  There is no fallback to
 * the source tree: an installed binary must not depend on (or silently use)
 * the checkout it was built from; tests and ./dev name their model. */
static void resolve_model_path(const genred_config *cfg, char *out, size_t cap)
{
    snprintf(out, cap, "%s", cfg->model_path[0] ? cfg->model_path : GENRE_MODEL_INSTALLED);
}

static int load_model(const char *path, int threads, genre_model **model, genre_stream **stream,
                      char *err, size_t errlen)
{
    char why[512];
    /* Read here, without blocking (genre/file.h), rather than by
     * genre_model_load: a FIFO named as the model would stall the main
     * loop in open(2) on a reload. */
    size_t size;
    char *image = genre_file_read_regular(path, GENRED_MODEL_FILE_MAX, &size, why, sizeof why);
    if (!image) {
        genre_set_error(err, errlen, "cannot load model %s", why);
        return -1;
    }
    *model = genre_model_load_buffer(image, size, why, sizeof why);
    free(image);
    if (!*model) {
        genre_set_error(err, errlen, "cannot load model %s: %s", path, why);
        return -1;
    }
    /* The model's stream classifier, for frames only (0 channels: the
     * engine's feature thread runs the pipeline).  Front-end settings the front-end refuses (mel
     * bands narrower than an FFT bin, ...) are refused by the loader
     * already, with the front-end's own check, so the model is named at
     * load time rather than when a source is attached.  No window grid
     * (hop 0): the inference thread asks for the newest window. */
    *stream = genre_stream_new(*model, (*model)->frontend.sample_rate, 0, 0, (size_t)threads, why,
                               sizeof why);
    if (!*stream) {
        genre_set_error(err, errlen, "cannot load model %s: %s", path, why);
        genre_model_del(*model);
        *model = NULL;
        return -1;
    }
    return 0;
}

static genred_engine_params engine_params(const genred_config *cfg)
{
    genred_engine_params p = {
        .interval = cfg->inference.interval,
        .smoothing = cfg->inference.smoothing,
        .silence_dbfs = cfg->inference.silence_dbfs,
    };
    return p;
}

static genred_server_limits server_limits(const genred_config *cfg)
{
    genred_server_limits l = {
        .max_clients = cfg->socket.max_clients,
        .max_line = cfg->socket.max_line,
        .max_queued = cfg->socket.max_queued,
        .idle_timeout = cfg->socket.idle_timeout,
    };
    return l;
}

/* ---- results ------------------------------------------------------------------ */

static void rebuild_status(genred *d)
{
    genre_json_reset(&d->status);
    genred_report_result(&d->status, "status", &d->last, genred_engine_model(d->engine),
                         genred_engine_model_name(d->engine));
}

static void on_result(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop, (void)revents;
    genred *d = w->data;
    genred_result r;
    if (!genred_engine_take_result(d->engine, &r))
        return;
    const genre_model *model = genred_engine_model(d->engine);
    const char *model_name = genred_engine_model_name(d->engine);
    const char *genre = genred_report_genre(&r, model);
    /* Compared with the previous result even across a model swap (which
     * clears last_genre): the new model's first genre or state, a
     * model-error say, is announced and logged like any other change. */
    int changed = d->last.seq > 0 &&
                  (r.state != d->last.state ||
                   (genre != d->last_genre && (!genre || !d->last_genre ||
                                               strcmp(genre, d->last_genre) != 0)));
    const char *previous = d->last_genre;

    genre_json_reset(&d->scratch);
    genred_report_result(&d->scratch, "result", &r, model, model_name);
    if (!d->scratch.failed)
        genred_server_broadcast(d->server, d->scratch.buf, d->scratch.len);
    if (changed) {
        genre_json_reset(&d->scratch);
        genred_report_change(&d->scratch, &r, previous, genre);
        if (!d->scratch.failed)
            genred_server_broadcast(d->server, d->scratch.buf, d->scratch.len);
    }
    /* The log says every change, and also the very first result when it
     * is already more than warming (a slow start can see bad audio before
     * the first result). */
    if (changed || (d->last.seq == 0 && r.state != GENRED_STATE_WARMING)) {
        if (genre)
            genred_info(d->log, "genre: %s (%.0f%%)", genre, 100.0 * r.confidence);
        else if (r.state == GENRED_STATE_BAD_INPUT)
            genred_warning(d->log, "state: bad-input (NaN or infinite samples in the audio, "
                           "replaced by silence; no genre while they are in the window)");
        else if (r.state == GENRED_STATE_MODEL_ERROR)
            genred_warning(d->log, "state: model-error (the output of model %s is not finite; "
                           "no genre)", model_name);
        else
            genred_info(d->log, "state: %s", genred_state_name(r.state));
        genred_notify_status(&d->notify, "%s%s%s", genred_state_name(r.state),
                             genre ? ": " : "", genre ? genre : "");
    }
    d->last = r;
    d->last_genre = genre;
    d->have_last = 1;
    d->last_result_mono = genred_mono_now();
    rebuild_status(d);
}

/* Called on the inference thread: only wake the main loop. */
static void wake_main_loop(void *user)
{
    genred *d = user;
    ev_async_send(d->loop, &d->result_async);
}

static int copy_out(const genre_json *j, char *out, size_t cap)
{
    if (j->failed || !j->buf || j->len + 1 > cap)
        return -1;
    memcpy(out, j->buf, j->len + 1);
    return (int)j->len;
}

static int status_json(void *user, char *out, size_t cap)
{
    genred *d = user;
    if (!d->status.buf)
        rebuild_status(d);
    return copy_out(&d->status, out, cap);
}

static int stats_json(void *user, char *out, size_t cap)
{
    genred *d = user;
    genred_source *src = genred_engine_source(d->engine);
    const genred_audio_config *a = &d->cfg.audio;
    genred_stats_facts f = {
        .uptime = genred_mono_now() - d->start_mono,
        .state = d->have_last ? d->last.state : GENRED_STATE_WARMING,
        .source_kind = genred_source_kind_name(a->source),
        .source_name = src ? genred_source_name(src)
                           : a->source == GENRED_SOURCE_FILE ? a->file : a->device,
        .source_open = src != NULL,
        .sample_rate = src ? genred_source_rate(src) : 0,
        .channels = src ? genred_source_channels(src) : 0,
        .input_error = d->input_error,
        .inference = &d->cfg.inference,
        .config_generation = d->config_generation,
        .config_path = d->config_path,
        .last_reload = d->last_reload,
        .last_reload_error = d->last_reload_error,
        .model_name = genred_engine_model_name(d->engine),
        .model_path = d->model_path,
    };
    genred_engine_get_stats(d->engine, &f.engine);
    genre_json_reset(&d->scratch);
    genred_report_stats(&d->scratch, &f);
    return copy_out(&d->scratch, out, cap);
}

static void server_warning(void *user, const char *message)
{
    genred *d = user;
    genred_warning(d->log, "%s", message);
}

/* ---- the audio source: health checks and retries --------------------------------- */

static int open_source(genred *d, const genred_config *cfg, genred_source **out, char *err,
                       size_t errlen)
{
    genred_audio_config a = cfg->audio;
    a.latency = genred_config_latency(&cfg->audio, cfg->inference.interval);
    genred_source *s = genred_source_open(&a, d->log, err, errlen);
    if (!s)
        return -1;
    if (genred_source_start(s, err, errlen)) {
        genred_source_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

/* Retry after retry_delay, and double the delay for the time after. */
static void schedule_retry(genred *d)
{
    ev_timer_stop(d->loop, &d->retry_timer);
    ev_timer_set(&d->retry_timer, d->retry_delay, 0);
    ev_timer_start(d->loop, &d->retry_timer);
    d->retry_delay *= 2;
    if (d->retry_delay > RETRY_MAX_SECONDS)
        d->retry_delay = RETRY_MAX_SECONDS;
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    genred *d = w->data;
    if (!d->source_wanted || genred_engine_source(d->engine))
        return;
    char err[512];
    genred_source *s;
    if (open_source(d, &d->cfg, &s, err, sizeof err)) {
        genred_debug(d->log, "audio input still unavailable: %s (next try in %.1f s)", err,
                     d->retry_delay);
        snprintf(d->input_error, sizeof d->input_error, "%s", err);
        schedule_retry(d);
        return;
    }
    if (genred_engine_set_source(d->engine, s, err, sizeof err)) {
        genred_source_close(s);
        genred_warning(d->log, "audio input: %s", err);
        snprintf(d->input_error, sizeof d->input_error, "%s", err);
        schedule_retry(d);
        return;
    }
    genred_info(d->log, "audio input back: %s (%g Hz, %d channel(s))", genred_source_name(s),
                genred_source_rate(s), genred_source_channels(s));
    genred_notify_status(&d->notify, "capturing from %s", genred_source_name(s));
    d->input_error[0] = '\0';
    /* The backoff is not reset yet: on_health does that once the source
     * has proved itself. */
    d->source_since = genred_mono_now();
}

/* The source failed or ended: detach it (the engine reports no-input) and,
 * unless a file simply ended, retry with backoff. */
static void input_lost(genred *d, enum genred_source_health h, const char *why)
{
    char err[256];
    if (genred_engine_set_source(d->engine, NULL, err, sizeof err))
        genred_error(d->log, "cannot detach the audio source: %s", err);
    snprintf(d->input_error, sizeof d->input_error, "%s", why);
    if (h == GENRED_SOURCE_FINISHED) {
        genred_info(d->log, "audio input ended: %s", why);
        genred_notify_status(&d->notify, "input ended: %s", why);
        d->source_wanted = 0;
        return;
    }
    genred_warning(d->log, "audio input lost: %s; retrying in %.1f s", why, d->retry_delay);
    genred_notify_status(&d->notify, "no input: %s", why);
    schedule_retry(d);
}

/* Audio lost to a full ring (processing cannot keep up), to the device
 * (its own overflows) or to a capture gap (the process or the machine
 * stalled) is counted in stats and marks the results whose window holds
 * it (state degraded); it is also logged, at most every
 * LOSS_WARNING_SECONDS, so it does not pass unnoticed. */
static void report_losses(genred *d, double now)
{
    if (now - d->loss_warning_mono < LOSS_WARNING_SECONDS && d->loss_warning_mono > 0)
        return;
    genred_engine_stats st;
    genred_engine_get_stats(d->engine, &st);
    if (st.overruns == d->reported_overruns && st.gaps == d->reported_gaps)
        return;
    if (st.overruns != d->reported_overruns)
        genred_warning(d->log, "audio dropped: %llu overrun(s), %llu frame(s) lost since the last "
                       "report (processing cannot keep up, or the device overflowed); %llu in all",
                       (unsigned long long)(st.overruns - d->reported_overruns),
                       (unsigned long long)(st.dropped_frames - d->reported_dropped),
                       (unsigned long long)st.overruns);
    if (st.gaps != d->reported_gaps) {
        genred_source *src = genred_engine_source(d->engine);
        double rate = src ? genred_source_rate(src) : 0;
        uint64_t frames = st.gap_frames - d->reported_gap_frames;
        if (rate > 0)
            genred_warning(d->log, "audio lost: %llu capture gap(s), about %.1f s, since the last "
                           "report (genred or the machine was stalled); %llu in all",
                           (unsigned long long)(st.gaps - d->reported_gaps), (double)frames / rate,
                           (unsigned long long)st.gaps);
        else
            genred_warning(d->log, "audio lost: %llu capture gap(s), about %llu frame(s), since "
                           "the last report (genred or the machine was stalled); %llu in all",
                           (unsigned long long)(st.gaps - d->reported_gaps),
                           (unsigned long long)frames, (unsigned long long)st.gaps);
    }
    d->reported_overruns = st.overruns;
    d->reported_dropped = st.dropped_frames;
    d->reported_gaps = st.gaps;
    d->reported_gap_frames = st.gap_frames;
    d->loss_warning_mono = now;
}

static void on_health(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    genred *d = w->data;
    report_losses(d, genred_mono_now());
    genred_source *s = genred_engine_source(d->engine);
    if (!s)
        return;
    char why[512];
    double now = genred_mono_now();
    enum genred_source_health h = genred_source_check(s, now, why, sizeof why);
    if (h != GENRED_SOURCE_RUNNING)
        input_lost(d, h, why);
    else if (now - d->source_since >= RETRY_STABLE_SECONDS)
        d->retry_delay = RETRY_FIRST_SECONDS;
}

/* ---- reload ---------------------------------------------------------------------- */

static void reload(genred *d)
{
    genred_notify_reloading(&d->notify);
    d->last_reload = genred_wall_now();
    genred_info(d->log, "reloading %s",
                d->config_path[0] ? d->config_path : "the built-in configuration");
    char err[1024];
    genred_config cfg;
    char config_path[GENRED_CONFIG_PATH_MAX];
    char model_path[GENRED_CONFIG_PATH_MAX];
    genre_model *model = NULL;
    genre_stream *stream = NULL;
    genred_source *source = NULL;

    /* Everything new is prepared and checked first; only then swapped. */
    if (build_config(&d->opt, &cfg, config_path, err, sizeof err) ||
        check_fd_limit(&cfg, d->log, err, sizeof err))
        goto fail;
    resolve_model_path(&cfg, model_path, sizeof model_path);
    if (load_model(model_path, cfg.inference.threads, &model, &stream, err, sizeof err))
        goto fail;
    if (strcmp(model_path, d->model_path) == 0 && model->crc32 == d->model_crc &&
        cfg.inference.threads == d->cfg.inference.threads) {
        /* The very same model and threads: keep the running network (and its window). */
        genre_stream_del(stream);
        genre_model_del(model);
        model = NULL;
        stream = NULL;
    }
    int new_audio = genred_config_audio_differs(&cfg.audio, &d->cfg.audio);
    if (new_audio && open_source(d, &cfg, &source, err, sizeof err))
        goto fail;
    if (strcmp(cfg.socket.path, d->cfg.socket.path) != 0 || cfg.socket.mode != d->cfg.socket.mode ||
        strcmp(cfg.socket.group, d->cfg.socket.group) != 0)
        genred_warning(d->log, "[socket] path/mode/group changes take effect on restart");
    uint32_t crc = model ? model->crc32 : d->model_crc;
    genred_engine_change change = {
        .model = model,
        .stream = stream,
        .model_name = base_name(model_path),
        .replace_source = new_audio,
        .source = source,
    };
    if ((model || new_audio) && genred_engine_apply(d->engine, &change, err, sizeof err))
        goto fail;

    /* Committed. */
    if (new_audio) {
        ev_timer_stop(d->loop, &d->retry_timer);
        d->source_wanted = 1;
        d->input_error[0] = '\0';
        /* A source the configuration changed to starts with a fresh backoff. */
        d->retry_delay = RETRY_FIRST_SECONDS;
        d->source_since = genred_mono_now();
    }
    if (model) {
        genred_info(d->log, "model %s loaded (%u genres)", model_path, model->n_labels);
        /* The old model's labels are gone: until the next result, status
         * shows the last one without genre or probabilities. */
        d->last_genre = NULL;
        d->have_last = 0;
        d->last.has_probs = 0;
        d->last.top = -1;
        d->last.n_labels = 0;
    }
    snprintf(d->model_path, sizeof d->model_path, "%s", model_path);
    d->model_crc = crc;
    genred_engine_set_params(d->engine, &(genred_engine_params){
        .interval = cfg.inference.interval,
        .smoothing = cfg.inference.smoothing,
        .silence_dbfs = cfg.inference.silence_dbfs,
    });
    genred_server_limits limits = server_limits(&cfg);
    genred_server_set_limits(d->server, &limits);
    genred_log_set_level(d->log, (enum genred_log_level)cfg.log_level);
    /* The socket itself stays as it was created. */
    cfg.socket = d->cfg.socket;
    cfg.socket.max_clients = limits.max_clients;
    cfg.socket.max_line = limits.max_line;
    cfg.socket.max_queued = limits.max_queued;
    cfg.socket.idle_timeout = limits.idle_timeout;
    d->cfg = cfg;
    snprintf(d->config_path, sizeof d->config_path, "%s", config_path);
    d->config_generation++;
    d->last_reload_error[0] = '\0';
    rebuild_status(d);
    genred_info(d->log, "configuration %lu in force", d->config_generation);
    genred_notify_ready(&d->notify, "reloaded (configuration %lu)", d->config_generation);
    return;
fail:
    if (source)
        genred_source_close(source);
    if (stream)
        genre_stream_del(stream);
    if (model)
        genre_model_del(model);
    snprintf(d->last_reload_error, sizeof d->last_reload_error, "%s", err);
    genred_error(d->log, "reload failed, still running the previous configuration: %s", err);
    genred_notify_ready(&d->notify, "reload failed: %s", err);
}

/* ---- signals and timers ---------------------------------------------------------- */

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop, (void)revents;
    reload(w->data);
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    genred *d = w->data;
    genred_info(d->log, "%s received, shutting down", w->signum == SIGINT ? "SIGINT" : "SIGTERM");
    ev_break(loop, EVBREAK_ALL);
}

static void on_stats_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    genred *d = w->data;
    if (!genred_log_enabled(d->log, GENRED_LOG_DEBUG))
        return;
    genred_engine_stats st;
    genred_engine_get_stats(d->engine, &st);
    genred_debug(d->log,
                 "stats: frames %llu, overruns %llu, inferences %llu, inference %.1f ms "
                 "(mean %.1f), level %.1f dBFS, clients %zu",
                 (unsigned long long)st.frames, (unsigned long long)st.overruns,
                 (unsigned long long)st.inferences, st.inference_ms_last, st.inference_ms_mean,
                 st.level_dbfs, genred_server_client_count(d->server));
}

/* The watchdog is fed only while results keep coming: a hung inference
 * thread stops the pings and systemd restarts the service. */
static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    genred *d = w->data;
    double quiet = genred_mono_now() - d->last_result_mono;
    if (quiet < 3 * d->cfg.inference.interval + 5)
        genred_notify_watchdog(&d->notify);
    else
        genred_warning(d->log, "no result for %.0f s: not feeding the systemd watchdog", quiet);
}

/* ---- lifecycle --------------------------------------------------------------------- */

genred *genred_new(const genred_options *opt, genred_log *log, char *err, size_t errlen)
{
    genred *d = calloc(1, sizeof *d);
    if (!d) {
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    d->log = log;
    d->opt = *opt;
    d->start_mono = genred_mono_now();
    d->last_result_mono = d->start_mono;
    d->retry_delay = RETRY_FIRST_SECONDS;
    d->source_since = d->start_mono;
    genre_json_init(&d->status);
    genre_json_init(&d->scratch);
    genred_notify_init(&d->notify);

    /* The loop and the signal watchers come first.  Start-up takes a while
     * (a large model, an audio device), and until libev's handlers are in
     * place SIGHUP's default action would kill the daemon (on any thread
     * a library may have started).  A signal that comes meanwhile
     * is handled as soon as the loop runs: a reload, or a clean stop. */
    d->loop = ev_default_loop(EVFLAG_AUTO);
    if (!d->loop) {
        genre_set_error(err, errlen, "cannot create the event loop");
        goto fail;
    }
    ev_signal_init(&d->sighup, on_sighup, SIGHUP);
    ev_signal_init(&d->sigterm, on_stop_signal, SIGTERM);
    ev_signal_init(&d->sigint, on_stop_signal, SIGINT);
    d->sighup.data = d->sigterm.data = d->sigint.data = d;
    ev_signal_start(d->loop, &d->sighup);
    ev_signal_start(d->loop, &d->sigterm);
    ev_signal_start(d->loop, &d->sigint);

    if (build_config(opt, &d->cfg, d->config_path, err, errlen) ||
        check_fd_limit(&d->cfg, log, err, errlen))
        goto fail;
    genred_log_set_level(log, (enum genred_log_level)d->cfg.log_level);
    genred_info(log, "genred %s starting (configuration: %s)", GENRED_VERSION,
                d->config_path[0] ? d->config_path : "built-in defaults");

    resolve_model_path(&d->cfg, d->model_path, sizeof d->model_path);
    genre_model *model;
    genre_stream *stream;
    if (load_model(d->model_path, d->cfg.inference.threads, &model, &stream, err, errlen))
        goto fail;
    d->model_crc = model->crc32;
    genred_engine_params params = engine_params(&d->cfg);
    d->engine = genred_engine_new(&params, log, wake_main_loop, d, err, errlen);
    if (!d->engine) {
        genre_stream_del(stream);
        genre_model_del(model);
        goto fail;
    }
    if (genred_engine_set_model(d->engine, model, stream, base_name(d->model_path), err,
                                errlen)) {
        genre_stream_del(stream);
        genre_model_del(model);
        goto fail;
    }
    genred_info(log, "model %s (%u genres)", d->model_path, model->n_labels);

    ev_async_init(&d->result_async, on_result);
    d->result_async.data = d;
    ev_async_start(d->loop, &d->result_async);

    /* The audio source.  A file that cannot be opened is a configuration
     * mistake and fatal; a capture device may just not be plugged in yet,
     * so the daemon starts anyway, says "no-input" and keeps trying. */
    ev_timer_init(&d->retry_timer, on_retry, RETRY_FIRST_SECONDS, 0);
    d->retry_timer.data = d;
    d->source_wanted = 1;
    genred_source *source = NULL;
    char why[512];
    if (open_source(d, &d->cfg, &source, why, sizeof why)) {
        if (d->cfg.audio.source == GENRED_SOURCE_FILE) {
            genre_set_error(err, errlen, "%s", why);
            goto fail;
        }
        genred_warning(log, "audio input unavailable: %s; retrying", why);
        snprintf(d->input_error, sizeof d->input_error, "%s", why);
        schedule_retry(d);
    } else if (genred_engine_set_source(d->engine, source, err, errlen)) {
        genred_source_close(source);
        goto fail;
    } else {
        genred_info(log, "capturing from %s %s (%g Hz, %d channel(s))",
                    genred_source_kind(source), genred_source_name(source),
                    genred_source_rate(source), genred_source_channels(source));
    }
    if (genred_engine_start(d->engine, err, errlen))
        goto fail;

    int inherited = genred_notify_listen_fd(why, sizeof why);
    if (inherited == -2) {
        genre_set_error(err, errlen, "%s", why);
        goto fail;
    }
    genred_socket_spec sock = {
        .path = d->cfg.socket.path,
        .mode = d->cfg.socket.mode,
        .group = d->cfg.socket.group[0] ? d->cfg.socket.group : NULL,
        .inherited_fd = inherited,
    };
    genred_server_limits limits = server_limits(&d->cfg);
    genred_server_callbacks cb = {.user = d, .status_json = status_json, .stats_json = stats_json,
                                  .warning = server_warning};
    d->server = genred_server_new(d->loop, &sock, &limits, &cb, err, errlen);
    if (!d->server)
        goto fail;
    if (inherited >= 0)
        genred_info(log, "listening on the socket passed by systemd");
    else
        genred_info(log, "listening on %s", d->cfg.socket.path);

    ev_timer_init(&d->health_timer, on_health, HEALTH_CHECK_SECONDS, HEALTH_CHECK_SECONDS);
    d->health_timer.data = d;
    ev_timer_start(d->loop, &d->health_timer);
    ev_timer_init(&d->stats_timer, on_stats_timer, STATS_LOG_SECONDS, STATS_LOG_SECONDS);
    d->stats_timer.data = d;
    ev_timer_start(d->loop, &d->stats_timer);
    if (d->notify.watchdog_usec > 0) {
        double half = (double)d->notify.watchdog_usec / 2e6;
        ev_timer_init(&d->watchdog_timer, on_watchdog, half, half);
        d->watchdog_timer.data = d;
        ev_timer_start(d->loop, &d->watchdog_timer);
    }
    genred_notify_ready(&d->notify, "%s",
                        genred_engine_source(d->engine) ? "capturing" : "waiting for audio input");
    return d;
fail:
    genred_del(d);
    return NULL;
}

int genred_run(genred *d)
{
    ev_run(d->loop, 0);
    return d->exit_status;
}

void genred_del(genred *d)
{
    if (!d)
        return;
    genred_notify_stopping(&d->notify);
    /* Threads and the stream first, so nothing reports into a closing
     * server. */
    genred_engine_del(d->engine);
    if (d->server)
        genred_server_del(d->server);
    if (d->loop) {
        ev_async_stop(d->loop, &d->result_async);
        ev_timer_stop(d->loop, &d->retry_timer);
        ev_timer_stop(d->loop, &d->health_timer);
        ev_timer_stop(d->loop, &d->stats_timer);
        ev_timer_stop(d->loop, &d->watchdog_timer);
        ev_signal_stop(d->loop, &d->sighup);
        ev_signal_stop(d->loop, &d->sigterm);
        ev_signal_stop(d->loop, &d->sigint);
        ev_loop_destroy(d->loop);
    }
    genre_json_free(&d->status);
    genre_json_free(&d->scratch);
    genred_notify_close(&d->notify);
    free(d);
}
