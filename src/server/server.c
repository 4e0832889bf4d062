#include "genred/server.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "build_config.h"
#include "genre/error.h"
#include "genre/json.h"
#include "genred/protocol.h"
#include "genred/request.h"
#include "listener.h"


/* How much of an unknown request is echoed back in the error object. */
#define ECHO_BYTES 64
/* Bytes read from one client per readiness event, so one chatty client
 * cannot starve the others or the audio path sharing the loop. */
#define READ_BUDGET (64 * 1024)
/* After ENOBUFS and friends, accept() would fail again at once; retrying
 * only after a pause keeps the loop from spinning while memory is scarce.
 * (Out of fds, the spare fd is used instead, see refuse_without_fds.) */
#define ACCEPT_PAUSE_S 0.1
/* At most one "out of file descriptors" warning per this many seconds. */
#define FD_WARNING_INTERVAL_S 10.0
/* Status and stats objects are built into a buffer that grows on demand up
 * to this size; a callback needing more is treated as failing. */
#define CALLBACK_BUFFER_MAX (1024 * 1024)
/* An emptied output queue larger than this is freed rather than kept. */
#define OUTPUT_KEEP_BYTES (64 * 1024)

typedef struct client client;

struct client {
    client *prev, *next;
    genred_server *server;
    int fd;
    ev_io read_watcher;
    ev_io write_watcher;
    ev_timer idle_timer;        /* runs while the client is not watching */
    genred_line_reader reader;
    char *out;                  /* unsent output: out[out_head .. out_head+out_len) */
    size_t out_head, out_len, out_cap;
    int watching;
    int read_closed;            /* peer sent EOF: close once output is flushed */
};

struct genred_server {
    struct ev_loop *loop;
    genred_listener listener;
    ev_io accept_watcher;
    ev_timer accept_pause;
    genred_server_limits limits;
    genred_server_callbacks cb;
    client *clients;
    size_t n_clients, n_watchers;
    unsigned long long connections_total, clients_dropped, clients_refused, clients_timed_out;
    unsigned long long requests_total, protocol_errors;
    int spare_fd;               /* /dev/null, given up to accept a client when out of fds */
    double fd_warning_time;     /* ev_now of the last "out of fds" warning, 0 = none */
    unsigned long long fd_refused;  /* refused for lack of fds since that warning */
    genre_json reply;           /* scratch for objects the server builds itself */
    char *cb_buf;               /* scratch for objects the daemon builds */
    size_t cb_cap;
};

static void apply_limits(genred_server_limits *dst, const genred_server_limits *src)
{
    genred_server_limits l = {0, 0, 0, 0};
    if (src)
        l = *src;
    dst->max_clients = l.max_clients ? l.max_clients : GENRED_SERVER_DEFAULT_MAX_CLIENTS;
    dst->max_line = l.max_line ? l.max_line : GENRED_SERVER_DEFAULT_MAX_LINE;
    dst->max_queued = l.max_queued ? l.max_queued : GENRED_SERVER_DEFAULT_MAX_QUEUED;
    dst->idle_timeout = l.idle_timeout > 0 ? l.idle_timeout : GENRED_SERVER_DEFAULT_IDLE_TIMEOUT;
}

/* ---- client lifetime ---------------------------------------------------- */

/* (Re)arm the idle timeout: a client that is not watching must send a
 * request every idle_timeout seconds, or it is closed, so idle connections
 * cannot hold every slot of max_clients for ever.  A watcher is exempt: it
 * only reads, and one that stops reading is dropped by max_queued.  A
 * client that shut down its side keeps the timer: one that then never
 * reads its replies would otherwise keep its slot too. */
static void client_touch(client *c)
{
    genred_server *s = c->server;
    if (c->watching) {
        ev_timer_stop(s->loop, &c->idle_timer);
        return;
    }
    c->idle_timer.repeat = s->limits.idle_timeout;
    ev_timer_again(s->loop, &c->idle_timer);
}

static void client_set_watching(client *c, int on)
{
    if (c->watching == on)
        return;
    c->watching = on;
    if (on)
        c->server->n_watchers++;
    else
        c->server->n_watchers--;
    client_touch(c);
}

static void client_close(client *c)
{
    genred_server *s = c->server;
    client_set_watching(c, 0);
    ev_io_stop(s->loop, &c->read_watcher);
    ev_io_stop(s->loop, &c->write_watcher);
    ev_timer_stop(s->loop, &c->idle_timer);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_clients--;
    genred_line_reader_free(&c->reader);
    free(c->out);
    free(c);
}

static int output_append(client *c, const char *data, size_t len)
{
    if (c->out_head + c->out_len + len > c->out_cap) {
        if (c->out_head > 0) {
            memmove(c->out, c->out + c->out_head, c->out_len);
            c->out_head = 0;
        }
        if (c->out_len + len > c->out_cap) {
            size_t cap = c->out_cap ? c->out_cap : 4096;
            while (cap < c->out_len + len)
                cap *= 2;
            char *nb = realloc(c->out, cap);
            if (!nb)
                return -1;
            c->out = nb;
            c->out_cap = cap;
        }
    }
    memcpy(c->out + c->out_head + c->out_len, data, len);
    c->out_len += len;
    return 0;
}

static int is_transient(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* Send json plus '\n' to c, queueing what the socket does not take.
 * Returns 0, or -1 when the client was closed (and freed): over its
 * max_queued limit, out of memory, or the peer is gone. */
static int client_send_line(client *c, const char *json, size_t len)
{
    genred_server *s = c->server;
    size_t total = len + 1;
    size_t sent = 0;
    if (c->out_len == 0) {
        struct iovec iov[2] = {{(void *)json, len}, {(void *)"\n", 1}};
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        msg.msg_iov = iov;
        msg.msg_iovlen = 2;
        /* MSG_NOSIGNAL: a vanished reader must give EPIPE here, never a
         * SIGPIPE that would kill the daemon. */
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (!is_transient(errno)) {
                client_close(c);
                return -1;
            }
            n = 0;
        }
        sent = (size_t)n;
    }
    if (sent == total)
        return 0;
    size_t rest = total - sent;
    if (c->out_len + rest > s->limits.max_queued) {
        s->clients_dropped++;
        client_close(c);
        return -1;
    }
    int rc = 0;
    if (sent < len)
        rc = output_append(c, json + sent, len - sent);
    if (rc == 0)
        rc = output_append(c, "\n", 1);
    if (rc < 0) {
        client_close(c);
        return -1;
    }
    ev_io_start(s->loop, &c->write_watcher);
    return 0;
}

static void on_client_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    client *c = w->data;
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out + c->out_head, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            client_close(c);
            return;
        }
        c->out_head += (size_t)n;
        c->out_len -= (size_t)n;
    }
    ev_io_stop(c->server->loop, &c->write_watcher);
    c->out_head = 0;
    if (c->out_cap > OUTPUT_KEEP_BYTES) {
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    if (c->read_closed)
        client_close(c);
}

/* ---- replies ------------------------------------------------------------ */

static int send_reply(client *c)
{
    genre_json *j = &c->server->reply;
    if (j->failed) {
        client_close(c);
        return -1;
    }
    return client_send_line(c, j->buf, j->len);
}

static void begin_reply(genred_server *s, const char *type)
{
    genre_json_reset(&s->reply);
    genre_json_begin_object(&s->reply);
    genre_json_key(&s->reply, "type");
    genre_json_string(&s->reply, type);
}

/* An error reply with its message; the caller may add members, then ends
 * the object. */
static void begin_error(genred_server *s, const char *message)
{
    begin_reply(s, "error");
    genre_json_key(&s->reply, "error");
    genre_json_string(&s->reply, message);
}

static int send_error(client *c, const char *message)
{
    genred_server *s = c->server;
    begin_error(s, message);
    genre_json_end_object(&s->reply);
    return send_reply(c);
}

static void build_identity(genred_server *s, const char *type)
{
    begin_reply(s, type);
    genre_json_key(&s->reply, "server");
    genre_json_string(&s->reply, "genred");
    genre_json_key(&s->reply, "version");
    genre_json_string(&s->reply, GENRED_VERSION);
    genre_json_key(&s->reply, "protocol");
    genre_json_int(&s->reply, GENRED_PROTOCOL_VERSION);
    genre_json_end_object(&s->reply);
}

/* Run a daemon callback into cb_buf, growing it while the callback reports
 * that its output did not fit.  Returns the length or -1. */
static int run_callback(genred_server *s, int (*fn)(void *, char *, size_t))
{
    if (!fn)
        return -1;
    for (;;) {
        if (!s->cb_buf) {
            s->cb_buf = malloc(4096);
            if (!s->cb_buf)
                return -1;
            s->cb_cap = 4096;
        }
        int n = fn(s->cb.user, s->cb_buf, s->cb_cap);
        if (n >= 0 && (size_t)n < s->cb_cap) {
            s->cb_buf[n] = '\0';
            /* Framing is one object per line: a raw newline from the
             * daemon would split it, so such output is refused. */
            if (memchr(s->cb_buf, '\n', (size_t)n))
                return -1;
            return n;
        }
        if (s->cb_cap >= CALLBACK_BUFFER_MAX)
            return -1;
        char *nb = realloc(s->cb_buf, s->cb_cap * 2);
        if (!nb)
            return -1;
        s->cb_buf = nb;
        s->cb_cap *= 2;
    }
}

static int reply_status(client *c)
{
    genred_server *s = c->server;
    int n = run_callback(s, s->cb.status_json);
    if (n <= 0)
        return send_error(c, "status unavailable");
    return client_send_line(c, s->cb_buf, (size_t)n);
}

static int reply_stats(client *c)
{
    genred_server *s = c->server;
    genre_json *j = &s->reply;
    begin_reply(s, genred_commands[GENRED_COMMAND_STATS].reply_type);
    genre_json_key(j, "clients");
    genre_json_int(j, (long long)s->n_clients);
    genre_json_key(j, "watchers");
    genre_json_int(j, (long long)s->n_watchers);
    genre_json_key(j, "connections_total");
    genre_json_int(j, (long long)s->connections_total);
    genre_json_key(j, "clients_dropped");
    genre_json_int(j, (long long)s->clients_dropped);
    genre_json_key(j, "clients_refused");
    genre_json_int(j, (long long)s->clients_refused);
    genre_json_key(j, "clients_timed_out");
    genre_json_int(j, (long long)s->clients_timed_out);
    genre_json_key(j, "requests_total");
    genre_json_int(j, (long long)s->requests_total);
    genre_json_key(j, "protocol_errors");
    genre_json_int(j, (long long)s->protocol_errors);
    int n = run_callback(s, s->cb.stats_json);
    if (n > 0)
        genre_json_raw(j, s->cb_buf);   /* the daemon's members, comma-separated */
    genre_json_end_object(j);
    return send_reply(c);
}

/* The acknowledgement of a command that changes the session. */
static int reply_ok(client *c, genred_command command)
{
    genred_server *s = c->server;
    begin_reply(s, genred_commands[command].reply_type);
    genre_json_key(&s->reply, "command");
    genre_json_string(&s->reply, genred_commands[command].name);
    genre_json_end_object(&s->reply);
    return send_reply(c);
}

static int reply_help(client *c)
{
    genred_server *s = c->server;
    begin_reply(s, genred_commands[GENRED_COMMAND_HELP].reply_type);
    genre_json_key(&s->reply, "commands");
    genre_json_begin_array(&s->reply);
    for (int i = 0; i < GENRED_COMMAND_COUNT; i++)
        genre_json_string(&s->reply, genred_commands[i].name);
    genre_json_end_array(&s->reply);
    genre_json_end_object(&s->reply);
    return send_reply(c);
}

static int reply_unknown(client *c, const char *line, size_t len)
{
    genred_server *s = c->server;
    char echo[ECHO_BYTES + 1];
    genred_request_sanitise(line, len, ECHO_BYTES, echo, sizeof echo);
    begin_error(s, "unknown command");
    genre_json_key(&s->reply, "request");
    genre_json_string(&s->reply, echo);
    genre_json_end_object(&s->reply);
    return send_reply(c);
}

static int reply_too_long(client *c)
{
    genred_server *s = c->server;
    s->requests_total++;
    s->protocol_errors++;
    begin_error(s, "request too long");
    genre_json_key(&s->reply, "limit");
    genre_json_int(&s->reply, (long long)s->limits.max_line);
    genre_json_end_object(&s->reply);
    return send_reply(c);
}

/* Returns -1 when the client was closed while answering. */
static int handle_line(client *c, const char *line, size_t len)
{
    genred_server *s = c->server;
    genred_request req = genred_request_parse(line, len);
    if (req.kind == GENRED_REQUEST_EMPTY)
        return 0;
    s->requests_total++;
    client_touch(c);
    if (req.kind == GENRED_REQUEST_BINARY) {
        s->protocol_errors++;
        return send_error(c, "binary data in request");
    }
    if (req.kind == GENRED_REQUEST_COMMAND) {
        switch (req.command) {
        case GENRED_COMMAND_STATUS:
            return reply_status(c);
        case GENRED_COMMAND_WATCH:
            client_set_watching(c, 1);
            return reply_ok(c, req.command);
        case GENRED_COMMAND_UNWATCH:
            client_set_watching(c, 0);
            return reply_ok(c, req.command);
        case GENRED_COMMAND_STATS:
            return reply_stats(c);
        case GENRED_COMMAND_VERSION:
            build_identity(s, genred_commands[req.command].reply_type);
            return send_reply(c);
        case GENRED_COMMAND_HELP:
            return reply_help(c);
        case GENRED_COMMAND_COUNT:
            break;
        }
    }
    s->protocol_errors++;
    return reply_unknown(c, line, len);
}

/* Returns -1 when the client was closed. */
static int feed_lines(client *c, const char *data, size_t len)
{
    while (len > 0) {
        const char *line = NULL;
        size_t line_len = 0;
        genred_line_event ev = genred_line_reader_push(&c->reader, &data, &len,
                                                       c->server->limits.max_line, &line, &line_len);
        int rc = 0;
        switch (ev) {
        case GENRED_LINE_NEED_MORE:
            break;
        case GENRED_LINE_COMPLETE:
            rc = handle_line(c, line, line_len);
            break;
        case GENRED_LINE_TOO_LONG:
            rc = reply_too_long(c);
            break;
        case GENRED_LINE_NO_MEMORY:
            client_close(c);
            return -1;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

static void on_client_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    client *c = w->data;
    char buf[4096];
    size_t budget = READ_BUDGET;
    while (budget > 0) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            client_close(c);
            return;
        }
        if (n == 0) {
            /* The peer is done sending: a partial line is dropped with the
             * rest; replies already queued are still delivered, but the
             * session (including watch) ends, so no fd lingers for a peer
             * that may be gone entirely. */
            ev_io_stop(loop, &c->read_watcher);
            c->read_closed = 1;
            client_set_watching(c, 0);
            if (c->out_len == 0)
                client_close(c);
            return;
        }
        if (feed_lines(c, buf, (size_t)n) < 0)
            return;
        budget -= (size_t)n < budget ? (size_t)n : budget;
    }
}

/* ---- accepting ---------------------------------------------------------- */

static void refuse_client(genred_server *s, int fd)
{
    char line[128];
    genre_json *j = &s->reply;
    begin_error(s, "too many clients");
    genre_json_key(j, "limit");
    genre_json_int(j, (long long)s->limits.max_clients);
    genre_json_end_object(j);
    if (!j->failed && j->len + 1 < sizeof line) {
        memcpy(line, j->buf, j->len);
        line[j->len] = '\n';
        /* Best effort: a fresh socket's buffer is empty, so this fits. */
        ssize_t ignored = send(fd, line, j->len + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)ignored;
    }
    close(fd);
    s->clients_refused++;
}

static void on_client_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    client *c = w->data;
    genred_server *s = c->server;
    s->clients_timed_out++;
    begin_error(s, "idle timeout");
    genre_json_key(&s->reply, "limit");
    genre_json_fixed(&s->reply, s->limits.idle_timeout, 1);
    genre_json_end_object(&s->reply);
    if (send_reply(c) == 0)
        client_close(c);    /* best effort: what the socket did not take is lost */
}

static void add_client(genred_server *s, int fd)
{
    client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->server = s;
    c->fd = fd;
    genred_line_reader_init(&c->reader);
    ev_io_init(&c->read_watcher, on_client_readable, fd, EV_READ);
    ev_io_init(&c->write_watcher, on_client_writable, fd, EV_WRITE);
    c->read_watcher.data = c;
    c->write_watcher.data = c;
    ev_init(&c->idle_timer, on_client_idle);
    c->idle_timer.data = c;
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    s->n_clients++;
    ev_io_start(s->loop, &c->read_watcher);
    client_touch(c);
    build_identity(s, "hello");
    send_reply(c);
}

static void fd_warning(genred_server *s, int err)
{
    s->fd_refused++;
    double now = ev_now(s->loop);
    if (!s->cb.warning || (s->fd_warning_time > 0 && now - s->fd_warning_time < FD_WARNING_INTERVAL_S))
        return;
    char msg[256];
    snprintf(msg, sizeof msg,
             "out of file descriptors (%s): %llu connection(s) refused; clients: %zu of at "
             "most %zu", strerror(err), s->fd_refused, s->n_clients, s->limits.max_clients);
    s->cb.warning(s->cb.user, msg);
    s->fd_warning_time = now;
    s->fd_refused = 0;
}

/* accept() failed for lack of file descriptors.  The pending connection
 * would sit in the backlog until its client gives up, and accept() would
 * fail again at once.  Giving up the spare fd makes room to accept it,
 * tell it "too many clients" and close it; then the spare is taken back.
 * (Linux reports EMFILE before it looks at the backlog, so the backlog
 * may also turn out to be empty.)  Returns 1 when a client was refused
 * (try the backlog again), 0 when the backlog is empty, -1 to pause. */
static int refuse_without_fds(genred_server *s, int err)
{
    if (s->spare_fd < 0)
        return -1;
    close(s->spare_fd);
    int fd = accept4(s->listener.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    int accept_errno = errno;
    if (fd >= 0) {
        s->connections_total++;
        refuse_client(s, fd);
        fd_warning(s, err);
    }
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->spare_fd < 0)
        return -1;
    if (fd >= 0)
        return 1;
    if (accept_errno == EAGAIN || accept_errno == EWOULDBLOCK)
        return 0;
    /* Another thread took the freed fd, or worse: pause, do not spin. */
    return -1;
}

static void on_accept_pause_over(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    genred_server *s = w->data;
    ev_io_start(loop, &s->accept_watcher);
}

static void on_listener_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    genred_server *s = w->data;
    for (;;) {
        int fd = accept4(s->listener.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EMFILE || errno == ENFILE) {
                int rc = refuse_without_fds(s, errno);
                if (rc > 0)
                    continue;
                if (rc == 0)
                    return;
            }
            /* ENOBUFS, ENOMEM or worse (or no spare fd): the pending
             * connection stays queued, so retrying now would spin. */
            ev_io_stop(loop, &s->accept_watcher);
            ev_timer_set(&s->accept_pause, ACCEPT_PAUSE_S, 0.);
            ev_timer_start(loop, &s->accept_pause);
            return;
        }
        s->connections_total++;
        if (s->n_clients >= s->limits.max_clients)
            refuse_client(s, fd);
        else
            add_client(s, fd);
    }
}

/* ---- public API --------------------------------------------------------- */

genred_server *genred_server_new(struct ev_loop *loop, const genred_socket_spec *sock,
                                 const genred_server_limits *limits,
                                 const genred_server_callbacks *cb, char *err, size_t errlen)
{
    if (!loop) {
        genre_set_error(err, errlen, "no event loop given");
        return NULL;
    }
    genred_server *s = calloc(1, sizeof *s);
    if (!s) {
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    /* Taken first, while fds are surely free. */
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    apply_limits(&s->limits, limits);
    if (cb)
        s->cb = *cb;
    genre_json_init(&s->reply);
    if (genred_listener_open(&s->listener, sock, err, errlen) < 0) {
        if (s->spare_fd >= 0)
            close(s->spare_fd);
        free(s);
        return NULL;
    }
    ev_io_init(&s->accept_watcher, on_listener_readable, s->listener.fd, EV_READ);
    s->accept_watcher.data = s;
    ev_timer_init(&s->accept_pause, on_accept_pause_over, ACCEPT_PAUSE_S, 0.);
    s->accept_pause.data = s;
    ev_io_start(loop, &s->accept_watcher);
    return s;
}

void genred_server_set_limits(genred_server *s, const genred_server_limits *limits)
{
    if (s)
        apply_limits(&s->limits, limits);
}

void genred_server_broadcast(genred_server *s, const char *json, size_t len)
{
    if (!s || !json || len == 0 || memchr(json, '\n', len))
        return;
    client *next;
    for (client *c = s->clients; c; c = next) {
        next = c->next;   /* c may be freed by client_send_line */
        if (c->watching)
            client_send_line(c, json, len);
    }
}

size_t genred_server_client_count(const genred_server *s)
{
    return s ? s->n_clients : 0;
}

void genred_server_del(genred_server *s)
{
    if (!s)
        return;
    while (s->clients)
        client_close(s->clients);
    ev_io_stop(s->loop, &s->accept_watcher);
    ev_timer_stop(s->loop, &s->accept_pause);
    genred_listener_close(&s->listener);
    if (s->spare_fd >= 0)
        close(s->spare_fd);
    genre_json_free(&s->reply);
    free(s->cb_buf);
    free(s);
}
