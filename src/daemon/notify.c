#include "genred/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* Notifications go through one datagram socket opened here, at start-up,
 * rather than through sd_notify(), which opens a new socket for every
 * message: with every file descriptor in use (clients, a lowered limit)
 * sd_notify fails, the WATCHDOG=1 pings stop and systemd kills a daemon
 * that is otherwise fine.  The socket is connected to NOTIFY_SOCKET, a
 * path or (leading '@') an abstract address. */
static int open_notify_socket(const char *path, struct sockaddr_un *addr, socklen_t *addrlen)
{
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof addr->sun_path)
        return -1;
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, path, len);
    if (path[0] == '@')
        addr->sun_path[0] = '\0';
    *addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)addr, *addrlen) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void genred_notify_init(genred_notify *n)
{
    memset(n, 0, sizeof *n);
    n->fd = -1;
#ifdef HAVE_LIBSYSTEMD
    const char *sock = getenv("NOTIFY_SOCKET");
    n->enabled = sock && *sock;
    if (n->enabled)
        n->fd = open_notify_socket(sock, &n->addr, &n->addrlen);
    uint64_t usec = 0;
    /* unset_environment = 0: genred starts no children, so leaving the
     * variables set is harmless and keeps this check repeatable. */
    if (sd_watchdog_enabled(0, &usec) > 0)
        n->watchdog_usec = usec;
#endif
}

static void send_state(genred_notify *n, const char *state)
{
#ifdef HAVE_LIBSYSTEMD
    if (!n->enabled)
        return;
    size_t len = strlen(state);
    if (n->fd >= 0) {
        /* MSG_DONTWAIT: the main loop never waits for systemd. */
        if (send(n->fd, state, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
            return;
        /* systemd re-executed itself and bound the path anew: reconnect
         * the same socket (no new fd) and try once more. */
        if ((errno == ECONNREFUSED || errno == ENOTCONN) &&
            connect(n->fd, (const struct sockaddr *)&n->addr, n->addrlen) == 0 &&
            send(n->fd, state, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
            return;
    }
    /* No socket of our own (an address we do not parse): libsystemd's way. */
    sd_notify(0, state);
#else
    (void)n, (void)state;
#endif
}

void genred_notify_reloading(genred_notify *n) { send_state(n, "RELOADING=1"); }
void genred_notify_stopping(genred_notify *n) { send_state(n, "STOPPING=1"); }
void genred_notify_watchdog(genred_notify *n) { send_state(n, "WATCHDOG=1"); }

/* prefix (a literal ending in "STATUS=") and the formatted status, as one message. */
static void send_status(genred_notify *n, const char *prefix, const char *fmt, va_list ap)
{
    if (!n->enabled)
        return;
    char line[512];
    size_t len = strlen(prefix);
    memcpy(line, prefix, len + 1);
    vsnprintf(line + len, sizeof line - len, fmt, ap);
    send_state(n, line);
}

void genred_notify_ready(genred_notify *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_status(n, "READY=1\nSTATUS=", fmt, ap);
    va_end(ap);
}

void genred_notify_status(genred_notify *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_status(n, "STATUS=", fmt, ap);
    va_end(ap);
}

void genred_notify_close(genred_notify *n)
{
    if (n->fd >= 0)
        close(n->fd);
    n->fd = -1;
}
int genred_notify_listen_fd(char *err, size_t errlen)
{
#ifdef HAVE_LIBSYSTEMD
    /* unset_environment = 1: the passed fds are taken now and must not be
     * taken a second time. */
    int n = sd_listen_fds(1);
    if (n < 0) {
        genre_set_error(err, errlen, "socket activation: %s", strerror(-n));
        return -2;
    }
    if (n == 0)
        return -1;
    if (n > 1) {
        genre_set_error(err, errlen, "socket activation passed %d sockets, genred needs one", n);
        return -2;
    }
    int fd = SD_LISTEN_FDS_START;
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
        genre_set_error(err, errlen,
                        "socket activation: fd %d is not a listening UNIX stream socket", fd);
        return -2;
    }
    return fd;
#else
    (void)err, (void)errlen;
    return -1;
#endif
}
