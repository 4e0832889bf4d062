/* genrectl: ask a running genred for its status, stream its results, or
 * show its statistics, over the UNIX socket (doc/protocol.md, genrectl(1)). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "build_config.h"
#include "genred/protocol.h"
#include "json_read.h"


#define DEFAULT_TIMEOUT_S 5.0
/* genrectl watch --reconnect: retry delays. */
#define RECONNECT_FIRST_S 0.5
#define RECONNECT_MAX_S 10.0
#define TOP_PROBABILITIES 5
#define BAR_WIDTH 30

/* 0, 1 and 2 mean what they mean for every genred program (success,
 * failure, usage error); the rest are genrectl's own. */
enum exit_code {
    EXIT_OK = 0,
    EXIT_DAEMON_ERROR = 1,      /* error object, malformed reply, timeout, connection lost */
    EXIT_USAGE = 2,
    EXIT_NO_CONNECTION = 3,     /* scripts tell "genred is not running" from a failed request */
    EXIT_INTERRUPTED = 130,     /* SIGINT/SIGTERM before the reply; `watch` exits 0 instead */
};

typedef struct options {
    const char *socket_path;
    int json;
    double timeout_s;           /* 0: wait forever */
    int reconnect;              /* watch: reconnect when genred goes away, for ever */
    const char *command;
    genred_command verb;        /* what command names */
} options;

typedef struct connection {
    int fd;
    char *buf;
    size_t len, cap;
    size_t line_end;            /* bytes of the last returned line incl. '\n', to drop next time */
    int watching;               /* the daemon acknowledged `watch` on this connection */
    sigset_t wait_mask;         /* signal mask while waiting for the daemon */
} connection;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: genrectl [--socket PATH] [--json] [--timeout S] status|watch|stats|version|help\n"
            "  -s, --socket PATH   daemon socket (default $GENRED_SOCKET or " GENRED_SOCKET_DEFAULT ")\n"
            "  -j, --json          print the daemon's JSON objects unchanged, one per line\n"
            "  -t, --timeout S     give up after S seconds without a reply (default 5; 0 = never)\n"
            "  -r, --reconnect     watch: when genred goes away or is not there yet, keep\n"
            "                      reconnecting (0.5 s growing to 10 s) and go on watching\n"
            "  -h, --help          show this help\n"
            "  -V, --version       show genrectl's version\n"
            "Exit status: 0 success, 1 daemon error or no reply, 2 usage error,\n"
            "3 cannot connect, 130 interrupted.\n");
}

/* ---- connection --------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_daemon(const char *path, double timeout_s, char *err, size_t errlen)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) {
        snprintf(err, errlen, "path too long");
        return -1;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    /* A UNIX connect blocks only while the daemon's backlog is full; the
     * send timeout bounds that wait. */
    if (timeout_s > 0) {
        struct timeval tv = {(time_t)timeout_s,
                             (suseconds_t)((timeout_s - floor(timeout_s)) * 1e6)};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        snprintf(err, errlen, "%s", errno == EAGAIN ? "timed out" : strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

typedef enum read_result { READ_LINE, READ_EOF, READ_TIMEOUT, READ_ERROR, READ_INTERRUPTED } read_result;

/* Next line (without '\n', NUL-terminated) into *line.  deadline is a
 * CLOCK_MONOTONIC time, or 0 for none. */
static read_result read_line(connection *c, double deadline, char **line, size_t *line_len)
{
    if (c->line_end) {
        memmove(c->buf, c->buf + c->line_end, c->len - c->line_end);
        c->len -= c->line_end;
        c->line_end = 0;
    }
    size_t scanned = 0;
    for (;;) {
        char *nl = c->buf ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
        if (nl) {
            *nl = '\0';
            *line = c->buf;
            *line_len = (size_t)(nl - c->buf);
            c->line_end = *line_len + 1;
            return READ_LINE;
        }
        scanned = c->len;
        if (c->len >= GENRED_REPLY_LINE_MAX) {
            errno = EMSGSIZE;
            return READ_ERROR;
        }
        if (c->len + 4096 + 1 > c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 8192;
            char *nb = realloc(c->buf, cap);
            if (!nb) {
                errno = ENOMEM;
                return READ_ERROR;
            }
            c->buf = nb;
            c->cap = cap;
        }
        struct timespec wait, *wait_p = NULL;
        if (deadline > 0) {
            double left = deadline - now_s();
            if (left <= 0)
                return READ_TIMEOUT;
            wait.tv_sec = (time_t)left;
            wait.tv_nsec = (long)((left - floor(left)) * 1e9);
            wait_p = &wait;
        }
        if (interrupted)
            return READ_INTERRUPTED;
        /* SIGINT/SIGTERM are blocked except inside ppoll, so a signal can
         * never slip in between the check above and the wait. */
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int rc = ppoll(&pfd, 1, wait_p, &c->wait_mask);
        if (rc < 0) {
            if (errno == EINTR)
                continue;   /* the flag check above decides */
            return READ_ERROR;
        }
        if (rc == 0)
            continue;   /* the deadline check above reports the timeout */
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return READ_ERROR;
        }
        if (n == 0)
            return READ_EOF;
        c->len += (size_t)n;
    }
}

static int send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- readable output ---------------------------------------------------- */

/* Strings from the daemon (device and file names, config values, labels,
 * error messages) go to a terminal in readable mode: a control character
 * in them would be a terminal command (ESC sequences retitle the window,
 * move the cursor, rewrite what was shown).  So C0 controls, DEL, C1
 * controls (U+0080..U+009F, whose one-byte forms an 8-bit terminal also
 * obeys) and bytes that are not well-formed UTF-8 are shown as '?';
 * other UTF-8 passes.  --json output is the daemon's line as received. */
static void put_text(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned char c = *s;
        size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        for (size_t i = 1; i < n; i++)
            if ((s[i] & 0xc0) != 0x80)
                n = 0;      /* truncated (also stops at the NUL) */
        if (n == 0 || c < 0x20 || c == 0x7f || (c == 0xc2 && s[1] <= 0x9f)) {
            fputc('?', out);    /* one per character, one per stray byte */
            s += n ? n : 1;
            continue;
        }
        fwrite(s, 1, n, out);
        s += n;
    }
}

/* put_text padded with spaces to width bytes. */
static void put_text_padded(FILE *out, const char *s, int width)
{
    put_text(out, s);
    for (int i = (int)strlen(s); i < width; i++)
        fputc(' ', out);
}

static int percent(double p)
{
    return (int)lround(p * 100.0);
}

/* The one-line summary shared by `status` and each `watch` result. */
static void print_result_line(const json_value *v)
{
    const char *genre = json_get_string(v, "genre");
    const char *state = json_get_string(v, "state");
    double confidence, progress, seq, start, end, level, lost;
    if (!state)
        state = "unknown";
    if (genre) {
        put_text(stdout, genre);
        if (json_get_number(v, "confidence", &confidence) == 0)
            printf(" %d%%", percent(confidence));
    } else if (strcmp(state, "warming") == 0) {
        printf("warming up");
        if (json_get_number(v, "progress", &progress) == 0)
            printf(" %d%%", percent(progress));
    } else {
        printf("no genre");
    }
    printf(" (");
    put_text(stdout, state);
    printf(")");
    if (json_get_number(v, "seq", &seq) == 0)
        printf(" seq %.0f", seq);
    const json_value *window = json_get(v, "window");
    if (json_get_number(window, "start", &start) == 0 && json_get_number(window, "end", &end) == 0)
        printf(" window %.1f\u2013%.1f s", start, end);
    if (strcmp(state, "ok") != 0 && json_get_number(v, "level_dbfs", &level) == 0)
        printf(" level %.1f dBFS", level);
    if (json_get_number(v, "lost_s", &lost) == 0)
        printf(" lost %.1f s", lost);
    printf("\n");
}

static void print_probabilities(const json_value *v)
{
    const json_value *probs = json_get(v, "probabilities");
    if (!probs || probs->type != JSON_OBJECT || probs->count == 0)
        return;
    /* Pick the largest few by repeated selection: there are ~10 labels. */
    size_t shown[TOP_PROBABILITIES];
    size_t n_shown = 0;
    int label_width = 0;
    while (n_shown < TOP_PROBABILITIES) {
        size_t best = probs->count;
        for (size_t i = 0; i < probs->count; i++) {
            if (probs->items[i].type != JSON_NUMBER)
                continue;
            int taken = 0;
            for (size_t k = 0; k < n_shown; k++)
                taken |= shown[k] == i;
            if (!taken && (best == probs->count || probs->items[i].number > probs->items[best].number))
                best = i;
        }
        if (best == probs->count)
            break;
        shown[n_shown++] = best;
        int w = (int)strlen(probs->keys[best]);
        if (w > label_width)
            label_width = w;
    }
    for (size_t k = 0; k < n_shown; k++) {
        double p = probs->items[shown[k]].number;
        if (!(p >= 0))
            p = 0;
        if (p > 1)
            p = 1;
        int bar = (int)lround(p * BAR_WIDTH);
        printf("  ");
        put_text_padded(stdout, probs->keys[shown[k]], label_width);
        printf(" %3d%% ", percent(p));
        for (int i = 0; i < bar; i++)
            putchar('#');
        putchar('\n');
    }
}

static void print_clock(const json_value *v)
{
    double t;
    time_t secs = json_get_number(v, "time", &t) == 0 && isfinite(t) ? (time_t)t : time(NULL);
    struct tm tm;
    char buf[16];
    if (localtime_r(&secs, &tm) && strftime(buf, sizeof buf, "%H:%M:%S", &tm))
        printf("%s ", buf);
}

static void print_change(const json_value *v)
{
    const char *from = json_get_string(v, "from");
    const char *to = json_get_string(v, "to");
    const char *state = json_get_string(v, "state");
    double confidence, seq;
    printf("change ");
    put_text(stdout, from ? from : "-");
    printf(" -> ");
    put_text(stdout, to ? to : "-");
    if (state) {
        printf(" (");
        put_text(stdout, state);
        printf(")");
    }
    if (to && json_get_number(v, "confidence", &confidence) == 0)
        printf(" %d%%", percent(confidence));
    if (json_get_number(v, "seq", &seq) == 0)
        printf(" seq %.0f", seq);
    printf("\n");
}

static void print_stats(const json_value *v)
{
    int width = 0;
    for (size_t i = 0; i < v->count; i++) {
        int w = (int)strlen(v->keys[i]);
        if (strcmp(v->keys[i], "type") != 0 && w > width)
            width = w;
    }
    for (size_t i = 0; i < v->count; i++) {
        const json_value *m = &v->items[i];
        if (strcmp(v->keys[i], "type") == 0)
            continue;
        put_text(stdout, v->keys[i]);
        printf(":%*s ", width - (int)strlen(v->keys[i]), "");
        if (m->type == JSON_STRING) {
            put_text(stdout, m->string);
            putchar('\n');
        }
        else if (m->type == JSON_NULL)
            printf("-\n");
        else
            printf("%.*s\n", (int)m->raw_len, m->raw);
    }
}

static void print_readable(const char *command, const json_value *v)
{
    const char *type = json_get_string(v, "type");
    if (strcmp(command, "status") == 0) {
        print_result_line(v);
        print_probabilities(v);
    } else if (strcmp(command, "stats") == 0) {
        print_stats(v);
    } else if (strcmp(command, "version") == 0) {
        const char *server = json_get_string(v, "server");
        const char *version = json_get_string(v, "version");
        double protocol = 0;
        json_get_number(v, "protocol", &protocol);
        put_text(stdout, server ? server : "?");
        putchar(' ');
        put_text(stdout, version ? version : "?");
        printf(" (protocol %.0f)\ngenrectl %s\n", protocol, GENRED_VERSION);
    } else if (strcmp(command, "help") == 0) {
        const json_value *cmds = json_get(v, "commands");
        printf("commands:");
        for (size_t i = 0; cmds && cmds->type == JSON_ARRAY && i < cmds->count; i++)
            if (cmds->items[i].type == JSON_STRING) {
                putchar(' ');
                put_text(stdout, cmds->items[i].string);
            }
        printf("\n");
    } else if (type && strcmp(type, "result") == 0) {
        print_clock(v);
        print_result_line(v);
    } else if (type && strcmp(type, "change") == 0) {
        print_clock(v);
        print_change(v);
    }
}

/* ---- session ------------------------------------------------------------ */

/* Read one object; on any failure print why and return the exit code
 * (with *out NULL).  Returns EXIT_OK with *out set otherwise. */
static int next_object(connection *c, const options *o, double deadline, json_value **out,
                       char **line, size_t *line_len)
{
    *out = NULL;
    read_result r = read_line(c, deadline, line, line_len);
    switch (r) {
    case READ_LINE:
        break;
    case READ_EOF:
        fprintf(stderr, "genrectl: connection closed by daemon\n");
        return EXIT_DAEMON_ERROR;
    case READ_TIMEOUT:
        fprintf(stderr, "genrectl: no reply from daemon within %g s\n", o->timeout_s);
        return EXIT_DAEMON_ERROR;
    case READ_INTERRUPTED:
        return EXIT_INTERRUPTED;
    case READ_ERROR:
        fprintf(stderr, "genrectl: reading from %s: %s\n", o->socket_path, strerror(errno));
        return EXIT_DAEMON_ERROR;
    }
    char err[128];
    json_value *v = json_parse(*line, *line_len, err, sizeof err);
    if (!v || v->type != JSON_OBJECT || !json_get_string(v, "type")) {
        fprintf(stderr, "genrectl: malformed reply from daemon: %s\n", v ? "not a typed object" : err);
        json_free(v);
        return EXIT_DAEMON_ERROR;
    }
    *out = v;
    return EXIT_OK;
}

static int report_error_object(const json_value *v)
{
    const char *message = json_get_string(v, "error");
    double limit;
    fprintf(stderr, "genrectl: daemon error: ");
    put_text(stderr, message ? message : "unspecified");
    if (json_get_number(v, "limit", &limit) == 0)
        fprintf(stderr, " (limit %.0f)", limit);
    fprintf(stderr, "\n");
    return EXIT_DAEMON_ERROR;
}

static double deadline_from(const options *o)
{
    return o->timeout_s > 0 ? now_s() + o->timeout_s : 0;
}

static int run_session(connection *c, const options *o)
{
    json_value *v = NULL;
    char *line;
    size_t line_len;
    double deadline = deadline_from(o);

    int rc = next_object(c, o, deadline, &v, &line, &line_len);
    if (!v)
        return rc;
    const char *type = json_get_string(v, "type");
    if (strcmp(type, "error") == 0) {
        rc = report_error_object(v);
        json_free(v);
        return rc;
    }
    if (strcmp(type, "hello") != 0) {
        fprintf(stderr, "genrectl: unexpected greeting from daemon\n");
        json_free(v);
        return EXIT_DAEMON_ERROR;
    }
    double protocol = 0;
    if (json_get_number(v, "protocol", &protocol) == 0 && protocol != GENRED_PROTOCOL_VERSION)
        fprintf(stderr, "genrectl: warning: daemon speaks protocol %.0f, genrectl knows %d\n",
                protocol, GENRED_PROTOCOL_VERSION);
    json_free(v);

    char request[32];
    int n = snprintf(request, sizeof request, "%s\n", o->command);
    if (send_all(c->fd, request, (size_t)n) < 0) {
        fprintf(stderr, "genrectl: sending to %s: %s\n", o->socket_path, strerror(errno));
        return EXIT_DAEMON_ERROR;
    }

    int watching = o->verb == GENRED_COMMAND_WATCH;
    const char *expect = genred_commands[o->verb].reply_type;
    for (;;) {
        rc = next_object(c, o, deadline, &v, &line, &line_len);
        if (!v)
            return rc;
        type = json_get_string(v, "type");
        if (strcmp(type, "error") == 0) {
            rc = report_error_object(v);
            json_free(v);
            return rc;
        }
        if (strcmp(type, expect) == 0)
            break;
        json_free(v);   /* an object this genrectl does not know: ignored */
    }
    c->watching = watching;
    if (!watching) {
        if (o->json)
            printf("%s\n", line);
        else
            print_readable(o->command, v);
        json_free(v);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_DAEMON_ERROR;
    }
    json_free(v);

    /* Watching: no deadline any more, results come when the daemon has
     * them; being interrupted is the normal way to stop. */
    for (;;) {
        rc = next_object(c, o, 0, &v, &line, &line_len);
        if (!v)
            return rc == EXIT_INTERRUPTED ? EXIT_OK : rc;
        type = json_get_string(v, "type");
        if (strcmp(type, "error") == 0) {
            rc = report_error_object(v);
            json_free(v);
            return rc;
        }
        if (strcmp(type, "result") == 0 || strcmp(type, "change") == 0) {
            if (o->json)
                printf("%s\n", line);
            else
                print_readable(o->command, v);
            fflush(stdout);
        }
        json_free(v);
    }
}

/* Sleep s seconds with SIGINT/SIGTERM let through; non-zero when one came. */
static int wait_interruptible(double s, const sigset_t *wait_mask)
{
    double end = now_s() + s;
    while (!interrupted) {
        double left = end - now_s();
        if (left <= 0)
            return 0;
        struct timespec ts = {(time_t)left, (long)((left - floor(left)) * 1e9)};
        ppoll(NULL, 0, &ts, wait_mask);
    }
    return 1;
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option long_options[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"reconnect", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *env = getenv("GENRED_SOCKET");
    o->socket_path = env && *env ? env : GENRED_SOCKET_DEFAULT;
    o->json = 0;
    o->timeout_s = DEFAULT_TIMEOUT_S;
    o->reconnect = 0;
    o->command = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "s:jt:rhV", long_options, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 's':
            o->socket_path = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 't':
            errno = 0;
            o->timeout_s = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(o->timeout_s) || o->timeout_s < 0 ||
                o->timeout_s > 86400.0 * 365) {
                fprintf(stderr, "genrectl: invalid timeout '%s' (seconds, 0 = wait forever)\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'r':
            o->reconnect = 1;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_OK);
        case 'V':
            printf("genrectl %s\n", GENRED_VERSION);
            exit(EXIT_OK);
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "genrectl: %s\n", optind >= argc ? "missing command" : "too many arguments");
        usage(stderr);
        return EXIT_USAGE;
    }
    o->command = argv[optind];
    int verb = genred_command_lookup(o->command, strlen(o->command));
    if (verb < 0 || !genred_commands[verb].one_shot) {
        fprintf(stderr, "genrectl: unknown command '%s'\n", o->command);
        usage(stderr);
        return EXIT_USAGE;
    }
    o->verb = (genred_command)verb;
    if (o->reconnect && o->verb != GENRED_COMMAND_WATCH) {
        fprintf(stderr, "genrectl: --reconnect is for watch only\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != EXIT_OK)
        return rc;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;   /* no SA_RESTART: poll must return EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    sigset_t stop_signals, wait_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask);
    /* With --reconnect, a lost or refused connection is retried after
     * 0.5 s, 1 s, 2 s ... up to 10 s (back to 0.5 s once a watch was
     * acknowledged); each new reason is reported once on stderr, so a
     * script's log does not fill while genred is down. */
    double backoff = RECONNECT_FIRST_S;
    char last_reason[300] = "";
    for (;;) {
        char err[256];
        connection c;
        memset(&c, 0, sizeof c);
        c.wait_mask = wait_mask;
        c.fd = connect_daemon(o.socket_path, o.timeout_s, err, sizeof err);
        if (c.fd < 0) {
            char reason[300];
            snprintf(reason, sizeof reason, "cannot connect to %s: %s", o.socket_path, err);
            if (!o.reconnect || strcmp(reason, last_reason) != 0)
                fprintf(stderr, "genrectl: %s (is genred running?)%s\n", reason,
                        o.reconnect ? "; retrying" : "");
            if (!o.reconnect)
                return EXIT_NO_CONNECTION;
            snprintf(last_reason, sizeof last_reason, "%s", reason);
        } else {
            rc = run_session(&c, &o);
            close(c.fd);
            free(c.buf);
            if (!o.reconnect || interrupted || rc == EXIT_OK)
                return rc;
            if (c.watching) {
                backoff = RECONNECT_FIRST_S;
                last_reason[0] = '\0';
            }
            fprintf(stderr, "genrectl: reconnecting to %s\n", o.socket_path);
        }
        if (wait_interruptible(backoff, &wait_mask))
            return EXIT_OK;
        backoff = backoff * 2 > RECONNECT_MAX_S ? RECONNECT_MAX_S : backoff * 2;
    }
}
