/* Test harness for genred's socket server (suite `protocol`): an ev loop
 * running genred_server with fake daemon callbacks.  A timer makes a new
 * fake result every --interval-ms, broadcasts it as "result" and, when
 * the fake genre or state changes, a "change" object -- the same objects
 * the real daemon produces.  SIGHUP applies the --reload-* limits (as a
 * configuration reload would); SIGTERM/SIGINT shut down cleanly.
 *
 * Prints "ready" on stdout once listening, so tests can synchronise. */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "genre/json.h"
#include "genred/server.h"

static const char *const genres[] = {"blues", "classical", "country", "disco", "hiphop",
                                     "jazz", "metal", "pop", "reggae", "rock"};
#define N_GENRES (sizeof genres / sizeof genres[0])
#define WARMING_RESULTS 3

typedef struct harness {
    genred_server *server;
    unsigned long long seq;
    unsigned change_every;      /* results per fake genre */
    size_t pad;                 /* bytes of filler in each result, to fill queues quickly */
    int status_fails;
    double started;
    genre_json json;
    const char *last_genre;     /* NULL while warming */
    const char *forced_state;   /* --state: report this state (no genre unless "ok") */
    genred_server_limits reload_limits;
} harness;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* genre_json_number keeps 6 significant digits, too few for epoch seconds. */
static void put_epoch(genre_json *j, double t)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.3f", t);
    genre_json_raw(j, buf);
}

/* The server's warnings, on stderr as a daemon would log them. */
static void print_warning(void *user, const char *message)
{
    (void)user;
    fprintf(stderr, "server_harness: warning: %s\n", message);
}

static const char *current_state(const harness *h)
{
    if (h->forced_state)
        return h->forced_state;
    return h->seq < WARMING_RESULTS ? "warming" : "ok";
}

static const char *current_genre(const harness *h)
{
    if (strcmp(current_state(h), "ok") != 0)
        return NULL;
    return genres[((h->seq - WARMING_RESULTS) / h->change_every) % N_GENRES];
}

/* A result object shaped like the daemon's (doc/protocol.md). */
static void build_result(harness *h, const char *type)
{
    genre_json *j = &h->json;
    const char *genre = current_genre(h);
    genre_json_reset(j);
    genre_json_begin_object(j);
    genre_json_key(j, "type");
    genre_json_string(j, type);
    genre_json_key(j, "state");
    genre_json_string(j, current_state(h));
    genre_json_key(j, "seq");
    genre_json_int(j, (long long)h->seq);
    genre_json_key(j, "genre");
    genre_json_string(j, genre);
    if (strcmp(current_state(h), "warming") == 0) {
        genre_json_key(j, "progress");
        genre_json_number(j, (double)h->seq / WARMING_RESULTS);
    } else {
        /* The current genre gets 0.55, the rest share 0.45 evenly; with no
         * genre (silence, no input) all are equal. */
        if (genre) {
            genre_json_key(j, "confidence");
            genre_json_number(j, 0.55);
        }
        genre_json_key(j, "probabilities");
        genre_json_begin_object(j);
        for (size_t i = 0; i < N_GENRES; i++) {
            genre_json_key(j, genres[i]);
            genre_json_number(j, !genre ? 0.1 : genres[i] == genre ? 0.55 : 0.05);
        }
        genre_json_end_object(j);
    }
    genre_json_key(j, "window");
    genre_json_begin_object(j);
    genre_json_key(j, "start");
    genre_json_number(j, (double)h->seq);
    genre_json_key(j, "end");
    genre_json_number(j, (double)h->seq + 10.0);
    genre_json_end_object(j);
    genre_json_key(j, "time");
    put_epoch(j, wall_now());
    genre_json_key(j, "level_dbfs");
    genre_json_number(j, -23.5);
    genre_json_key(j, "model");
    genre_json_string(j, "genre.gmdl");
    if (h->pad) {
        char *filler = malloc(h->pad + 1);
        if (filler) {
            memset(filler, 'x', h->pad);
            filler[h->pad] = '\0';
            genre_json_key(j, "padding");
            genre_json_string(j, filler);
            free(filler);
        }
    }
    genre_json_end_object(j);
}

static int copy_out(const genre_json *j, char *out, size_t cap)
{
    if (j->failed || j->len + 1 > cap)
        return -1;
    memcpy(out, j->buf, j->len + 1);
    return (int)j->len;
}

static int fake_status_json(void *user, char *out, size_t cap)
{
    harness *h = user;
    if (h->status_fails)
        return -1;
    build_result(h, "status");
    return copy_out(&h->json, out, cap);
}

static int fake_stats_json(void *user, char *out, size_t cap)
{
    harness *h = user;
    genre_json *j = &h->json;
    genre_json_reset(j);
    genre_json_begin_object(j);
    genre_json_key(j, "uptime");
    genre_json_number(j, wall_now() - h->started);
    genre_json_key(j, "frames");
    genre_json_int(j, (long long)h->seq * 512);
    genre_json_key(j, "overruns");
    genre_json_int(j, 0);
    genre_json_key(j, "inferences");
    genre_json_int(j, (long long)h->seq);
    genre_json_key(j, "source");
    genre_json_string(j, "harness");
    genre_json_key(j, "last_reload_error");
    genre_json_null(j);
    genre_json_key(j, "model");
    genre_json_string(j, "genre.gmdl");
    genre_json_end_object(j);
    /* Members only: drop the braces. */
    if (j->failed || j->len < 2 || j->len - 2 + 1 > cap)
        return -1;
    memcpy(out, j->buf + 1, j->len - 2);
    out[j->len - 2] = '\0';
    return (int)(j->len - 2);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    harness *h = w->data;
    h->seq++;
    const char *genre = current_genre(h);
    build_result(h, "result");
    genred_server_broadcast(h->server, h->json.buf, h->json.len);
    if (genre != h->last_genre) {
        genre_json *j = &h->json;
        genre_json_reset(j);
        genre_json_begin_object(j);
        genre_json_key(j, "type");
        genre_json_string(j, "change");
        genre_json_key(j, "seq");
        genre_json_int(j, (long long)h->seq);
        genre_json_key(j, "from");
        genre_json_string(j, h->last_genre);
        genre_json_key(j, "to");
        genre_json_string(j, genre);
        genre_json_key(j, "state");
        genre_json_string(j, current_state(h));
        genre_json_key(j, "confidence");
        genre_json_number(j, 0.55);
        genre_json_key(j, "time");
        put_epoch(j, wall_now());
        genre_json_end_object(j);
        genred_server_broadcast(h->server, j->buf, j->len);
        h->last_genre = genre;
    }
}

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void on_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    harness *h = w->data;
    genred_server_set_limits(h->server, &h->reload_limits);
}

static size_t size_arg(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end) {
        fprintf(stderr, "server_harness: invalid %s '%s'\n", what, s);
        exit(64);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"inherited-fd", required_argument, NULL, 'f'},
        {"mode", required_argument, NULL, 'm'},
        {"group", required_argument, NULL, 'g'},
        {"max-clients", required_argument, NULL, 'c'},
        {"max-line", required_argument, NULL, 'l'},
        {"max-queued", required_argument, NULL, 'q'},
        {"idle-timeout-ms", required_argument, NULL, 't'},
        {"reload-max-clients", required_argument, NULL, 'C'},
        {"reload-max-line", required_argument, NULL, 'L'},
        {"reload-max-queued", required_argument, NULL, 'Q'},
        {"interval-ms", required_argument, NULL, 'i'},
        {"change-every", required_argument, NULL, 'e'},
        {"pad", required_argument, NULL, 'p'},
        {"status-fails", no_argument, NULL, 'F'},
        {"state", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    genred_socket_spec spec = {NULL, 0660, NULL, -1};
    genred_server_limits limits = {0, 0, 0, 0};
    harness h;
    memset(&h, 0, sizeof h);
    h.change_every = 5;
    size_t interval_ms = 50;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 's': spec.path = optarg; break;
        case 'f': spec.inherited_fd = (int)size_arg(optarg, "fd"); break;
        case 'm': spec.mode = (unsigned)size_arg(optarg, "mode"); break;
        case 'g': spec.group = optarg; break;
        case 'c': limits.max_clients = size_arg(optarg, "limit"); break;
        case 'l': limits.max_line = size_arg(optarg, "limit"); break;
        case 'q': limits.max_queued = size_arg(optarg, "limit"); break;
        case 't': limits.idle_timeout = (double)size_arg(optarg, "timeout") / 1000.0; break;
        case 'C': h.reload_limits.max_clients = size_arg(optarg, "limit"); break;
        case 'L': h.reload_limits.max_line = size_arg(optarg, "limit"); break;
        case 'Q': h.reload_limits.max_queued = size_arg(optarg, "limit"); break;
        case 'i': interval_ms = size_arg(optarg, "interval"); break;
        case 'e': h.change_every = (unsigned)size_arg(optarg, "count"); break;
        case 'p': h.pad = size_arg(optarg, "size"); break;
        case 'F': h.status_fails = 1; break;
        case 'S': h.forced_state = optarg; break;
        default: return 64;
        }
    }
    if (h.change_every == 0)
        h.change_every = 1;
    h.started = wall_now();
    genre_json_init(&h.json);

    struct ev_loop *loop = ev_default_loop(0);
    genred_server_callbacks cb = {&h, fake_status_json, fake_stats_json, print_warning};
    char err[256];
    h.server = genred_server_new(loop, &spec, &limits, &cb, err, sizeof err);
    if (!h.server) {
        fprintf(stderr, "server_harness: %s\n", err);
        return 1;
    }

    ev_timer tick;
    ev_timer_init(&tick, on_tick, interval_ms / 1000.0, interval_ms / 1000.0);
    tick.data = &h;
    if (interval_ms > 0)
        ev_timer_start(loop, &tick);
    ev_signal sigterm, sigint, sighup;
    ev_signal_init(&sigterm, on_stop, SIGTERM);
    ev_signal_init(&sigint, on_stop, SIGINT);
    ev_signal_init(&sighup, on_reload, SIGHUP);
    sighup.data = &h;
    ev_signal_start(loop, &sigterm);
    ev_signal_start(loop, &sigint);
    ev_signal_start(loop, &sighup);

    printf("ready\n");
    fflush(stdout);
    ev_run(loop, 0);

    genred_server_del(h.server);
    genre_json_free(&h.json);
    ev_loop_destroy(loop);
    return 0;
}
