#include "genred/notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

void genred_notify_init(genred_notify *n)
{
    memset(n, 0, sizeof *n);
#ifdef HAVE_LIBSYSTEMD
    const char *sock = getenv("NOTIFY_SOCKET");
    n->enabled = sock && *sock;
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
    if (n->enabled)
        sd_notify(0, state);
#else
    (void)n, (void)state;
#endif
}

void genred_notify_ready(genred_notify *n) { send_state(n, "READY=1"); }
void genred_notify_reloading(genred_notify *n) { send_state(n, "RELOADING=1"); }
void genred_notify_stopping(genred_notify *n) { send_state(n, "STOPPING=1"); }
void genred_notify_watchdog(genred_notify *n) { send_state(n, "WATCHDOG=1"); }

void genred_notify_status(genred_notify *n, const char *fmt, ...)
{
    if (!n->enabled)
        return;
    char line[512] = "STATUS=";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + 7, sizeof line - 7, fmt, ap);
    va_end(ap);
    send_state(n, line);
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
