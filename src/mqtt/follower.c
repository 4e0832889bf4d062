/* One genred connection, kept up (follower.h). */
#include "follower.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "genred/protocol.h"
#include "log_once.h"

#define READ_CHUNK 65536
/* A connection that lasted this long starts the backoff afresh, and its
 * end is news again; a genred that fails right after every connection
 * keeps backing off and is logged once. */
#define STABLE_AFTER 10.0

struct follower {
    struct ev_loop *loop;
    genred_log *log;
    follower_events events;
    char *path, *label;
    int fd;
    ev_io io;
    ev_timer retry;
    double backoff;             /* next retry delay */
    int up;                     /* a status/result arrived on this connection */
    double up_since;            /* ev_now when it did */
    int announced;              /* "following" was logged since the last stable connection */
    char *buf;                  /* unread bytes: at most one partial line */
    size_t len, cap;
    log_once logged;            /* the last problem logged, so a repeat is not */
};

/* A problem, logged once (log_once.h); the end of a stable connection is
 * news even when it ends as the last one did. */
#define problem(f, ...)                                                                        \
    do {                                                                                       \
        if ((f)->up && ev_now((f)->loop) - (f)->up_since >= STABLE_AFTER)                      \
            log_once_reset(&(f)->logged);                                                      \
        log_once_msg(&(f)->logged, (f)->log, (f)->label, __VA_ARGS__);                             \
    } while (0)

static void schedule_retry(follower *f)
{
    ev_timer_stop(f->loop, &f->retry);
    ev_timer_set(&f->retry, f->backoff, 0);
    ev_timer_start(f->loop, &f->retry);
    f->backoff = f->backoff * 2 > FOLLOWER_RETRY_MAX ? FOLLOWER_RETRY_MAX : f->backoff * 2;
}

/* End the connection (if any) and try again after the backoff. */
static void drop(follower *f)
{
    if (f->fd >= 0) {
        ev_io_stop(f->loop, &f->io);
        close(f->fd);
        f->fd = -1;
    }
    f->len = 0;
    int was_up = f->up;
    f->up = 0;
    if (was_up && ev_now(f->loop) - f->up_since >= STABLE_AFTER) {
        f->backoff = FOLLOWER_RETRY_FIRST;
        f->announced = 0;
    }
    if (was_up && f->events.down)
        f->events.down(f->events.user);
    schedule_retry(f);
}

static void handle_line(follower *f, char *line, size_t len)
{
    char why[200];
    json_value *v = json_parse(line, len, why, sizeof why);
    if (!v || v->type != JSON_OBJECT || !json_get_string(v, "type")) {
        problem(f, "genred sent a line that is not a protocol object (%s); reconnecting",
                v ? "no \"type\"" : why);
        json_free(v);
        drop(f);
        return;
    }
    const char *type = json_get_string(v, "type");
    double protocol;
    if (strcmp(type, "hello") == 0) {
        if (json_get_number(v, "protocol", &protocol) != 0 || protocol != GENRED_PROTOCOL_VERSION) {
            problem(f, "genred speaks protocol %s, this bridge %d; reconnecting",
                    json_get(v, "protocol") ? "another version" : "no version",
                    GENRED_PROTOCOL_VERSION);
            json_free(v);
            drop(f);
            return;
        }
    } else if (strcmp(type, "status") == 0 || strcmp(type, "result") == 0) {
        if (!f->up) {
            f->up = 1;
            f->up_since = ev_now(f->loop);
            genred_log_msg(f->log, f->announced ? GENRED_LOG_DEBUG : GENRED_LOG_INFO,
                           "%s: following genred at %s", f->label, f->path);
            f->announced = 1;
        }
        if (f->events.result)
            f->events.result(f->events.user, v);
    } else if (strcmp(type, "error") == 0) {
        const char *e = json_get_string(v, "error");
        genred_warning(f->log, "%s: genred answered with an error: %s", f->label, e ? e : "?");
    }
    /* ok, change and object types this bridge does not know: ignored, as
     * the protocol asks of clients. */
    json_free(v);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    follower *f = w->data;
    if (f->cap - f->len < READ_CHUNK) {
        size_t cap = f->len + READ_CHUNK;
        char *nb = realloc(f->buf, cap);
        if (!nb) {
            problem(f, "out of memory; reconnecting");
            drop(f);
            return;
        }
        f->buf = nb;
        f->cap = cap;
    }
    ssize_t n = recv(f->fd, f->buf + f->len, f->cap - f->len, 0);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        problem(f, "reading from genred at %s: %s; reconnecting", f->path, strerror(errno));
        drop(f);
        return;
    }
    if (n == 0) {
        problem(f, "genred at %s closed the connection; reconnecting", f->path);
        drop(f);
        return;
    }
    f->len += (size_t)n;
    size_t start = 0;
    char *nl;
    int fd = f->fd;
    while (f->fd == fd && (nl = memchr(f->buf + start, '\n', f->len - start))) {
        size_t len = (size_t)(nl - (f->buf + start));
        handle_line(f, f->buf + start, len);
        start += len + 1;
    }
    if (f->fd != fd)
        return;     /* a line made it reconnect; the buffer is already empty */
    memmove(f->buf, f->buf + start, f->len - start);
    f->len -= start;
    if (f->len > FOLLOWER_LINE_MAX) {
        problem(f, "genred sent a line longer than %d bytes; reconnecting", FOLLOWER_LINE_MAX);
        drop(f);
        return;
    }
    /* Keep memory flat: the buffer shrinks back after a long line. */
    if (f->len == 0 && f->cap > 2 * READ_CHUNK) {
        free(f->buf);
        f->buf = NULL;
        f->cap = 0;
    }
}

static void connect_now(follower *f)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(f->path) >= sizeof addr.sun_path) {
        problem(f, "socket path too long: %s", f->path);
        schedule_retry(f);
        return;
    }
    memcpy(addr.sun_path, f->path, strlen(f->path) + 1);
    f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd < 0) {
        problem(f, "socket: %s", strerror(errno));
        schedule_retry(f);
        return;
    }
    /* A UNIX connect completes at once or fails at once (EAGAIN: genred's
     * backlog is full, tried again later). */
    if (connect(f->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        problem(f, "cannot connect to genred at %s: %s", f->path, strerror(errno));
        close(f->fd);
        f->fd = -1;
        schedule_retry(f);
        return;
    }
    static const char request[] = "watch\nstatus\n";
    ssize_t n = send(f->fd, request, sizeof request - 1, MSG_NOSIGNAL);
    if (n != (ssize_t)(sizeof request - 1)) {
        problem(f, "cannot send to genred at %s: %s", f->path,
                n < 0 ? strerror(errno) : "short write");
        close(f->fd);
        f->fd = -1;
        schedule_retry(f);
        return;
    }
    ev_io_set(&f->io, f->fd, EV_READ);
    ev_io_start(f->loop, &f->io);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    connect_now(w->data);
}

follower *follower_new(struct ev_loop *loop, const char *path, const char *label, genred_log *log,
                       follower_events events)
{
    follower *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->path = strdup(path);
    f->label = strdup(label);
    if (!f->path || !f->label) {
        follower_del(f);
        return NULL;
    }
    f->loop = loop;
    f->log = log;
    f->events = events;
    f->fd = -1;
    f->backoff = FOLLOWER_RETRY_FIRST;
    ev_io_init(&f->io, on_readable, -1, EV_READ);
    f->io.data = f;
    ev_timer_init(&f->retry, on_retry, 0, 0);
    f->retry.data = f;
    return f;
}

void follower_start(follower *f)
{
    connect_now(f);
}

int follower_up(const follower *f)
{
    return f->up;
}

void follower_del(follower *f)
{
    if (!f)
        return;
    if (f->loop) {
        ev_io_stop(f->loop, &f->io);
        ev_timer_stop(f->loop, &f->retry);
    }
    if (f->fd >= 0)
        close(f->fd);
    free(f->buf);
    free(f->path);
    free(f->label);
    free(f);
}
