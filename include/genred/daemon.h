/* The genred daemon as one object: configuration, model, engine, audio
 * source, socket server and the libev main loop that ties them together
 * (signals, reload, device retry, systemd notification).  main() owns the
 * only instance; there is no global mutable state. */
#ifndef GENRED_DAEMON_H
#define GENRED_DAEMON_H

#include <stddef.h>
#include "genred/log.h"

/* Command-line settings; they override the config file, also on reload. */
typedef struct genred_options {
    const char *config_path;    /* --config; NULL: the default path if it exists */
    const char *socket_path;    /* --socket */
    const char *file;           /* --file: file source */
    int loop;                   /* --loop */
    const char *model_path;     /* --model */
    int log_level;              /* --log-level, -1 = from the config */
} genred_options;

typedef struct genred genred;

/* Everything up to a listening socket and running threads; NULL with a
 * reason on a fatal error (bad config, unloadable model, socket in use). */
genred *genred_new(const genred_options *opt, genred_log *log, char *err, size_t errlen);
/* Run the main loop until SIGTERM/SIGINT; returns the exit status. */
int genred_run(genred *d);
/* Stop threads and the stream, close clients, remove the socket. */
void genred_del(genred *d);

#endif
