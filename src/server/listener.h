/* The listening socket of genred's server: created at a filesystem path
 * (with stale-socket replacement, mode and group) or adopted from systemd.
 * Internal to src/server. */
#ifndef GENRED_LISTENER_H
#define GENRED_LISTENER_H

#include <stddef.h>
#include <sys/types.h>

#include "genred/server.h"

typedef struct genred_listener {
    int fd;
    char *path;         /* set only when this process created the socket file */
    dev_t dev;          /* identity of the file we created, so we never */
    ino_t ino;          /* unlink a socket another daemon put there later */
} genred_listener;

/* 0 on success (l->fd is a non-blocking, close-on-exec listening socket),
 * -1 with a reason in err. */
int genred_listener_open(genred_listener *l, const genred_socket_spec *spec, char *err, size_t errlen);
/* Close the socket and remove the file if we created it and it is still ours. */
void genred_listener_close(genred_listener *l);

#endif
