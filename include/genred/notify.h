/* Talking to systemd: readiness and status notifications (the sd_notify
 * protocol, through a socket opened once so it works without free fds),
 * the watchdog, and socket activation (sd_listen_fds).  Without libsystemd
 * at build time, or when not started by systemd, everything is a no-op. */
#ifndef GENRED_NOTIFY_H
#define GENRED_NOTIFY_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "genre/error.h"
#include "genred/log.h"

typedef struct genred_notify {
    int enabled;                /* NOTIFY_SOCKET was set */
    uint64_t watchdog_usec;     /* 0: no watchdog requested */
    int fd;                     /* datagram socket connected to NOTIFY_SOCKET, or -1 */
    struct sockaddr_un addr;    /* NOTIFY_SOCKET's address, to reconnect */
    socklen_t addrlen;
} genred_notify;

void genred_notify_init(genred_notify *n);
/* READY=1 with a STATUS= line in the same message, so that systemctl
 * shows the status as soon as the start or reload has finished. */
void genred_notify_ready(genred_notify *n, const char *fmt, ...) GENRE_PRINTF(2, 3);
void genred_notify_reloading(genred_notify *n);
void genred_notify_stopping(genred_notify *n);
void genred_notify_watchdog(genred_notify *n);
void genred_notify_status(genred_notify *n, const char *fmt, ...) GENRE_PRINTF(2, 3);
/* Close the notification socket (after the last message). */
void genred_notify_close(genred_notify *n);
/* The listening socket systemd passed (socket activation), or -1 if none.
 * More than one passed socket, or one that is not a listening UNIX stream
 * socket, is an error: -2 with a reason in err. */
int genred_notify_listen_fd(char *err, size_t errlen);

#endif
