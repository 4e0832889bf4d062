/* The UNIX-socket server of genred: a libev watcher set on the main loop
 * that accepts clients, reads newline-terminated requests, answers them
 * and streams results to watching clients (doc/protocol.md).
 *
 * The server knows nothing of audio or models.  What it reports comes from
 * the daemon through the callbacks below, which run on the main thread.
 * It never blocks: every client socket is non-blocking, output is queued
 * per client up to a limit, and a client over that limit is dropped. */
#ifndef GENRED_SERVER_H
#define GENRED_SERVER_H

#include <stddef.h>
#include <sys/types.h>

struct ev_loop;
typedef struct genred_server genred_server;

/* A limit of 0 selects these defaults. */
#define GENRED_SERVER_DEFAULT_MAX_CLIENTS 64
#define GENRED_SERVER_DEFAULT_MAX_LINE 256
#define GENRED_SERVER_DEFAULT_MAX_QUEUED (256 * 1024)
#define GENRED_SERVER_DEFAULT_IDLE_TIMEOUT 60.0

typedef struct genred_server_limits {
    size_t max_clients;         /* further connections get an error line and are closed */
    size_t max_line;            /* request line bytes (without newline) */
    size_t max_queued;          /* bytes of unsent output per client before it is dropped */
    double idle_timeout;        /* seconds without a request before a client that is not
                                   watching is closed (an "idle timeout" error first) */
} genred_server_limits;

typedef struct genred_server_callbacks {
    void *user;
    /* Write the current result object (one JSON object, no newline) into
     * out; return its length or -1 if it did not fit. */
    int (*status_json)(void *user, char *out, size_t cap);
    /* The daemon-specific part of `stats`, as JSON members without braces
     * (e.g. "\"frames\":12,\"overruns\":0"); the server adds its own
     * members (clients, watchers, connections_total, clients_dropped,
     * clients_refused, requests_total, protocol_errors; doc/protocol.md). */
    int (*stats_json)(void *user, char *out, size_t cap);
    /* Optional: a condition worth logging (e.g. out of file descriptors:
     * connections refused); rate-limited by the server. */
    void (*warning)(void *user, const char *message);
} genred_server_callbacks;

typedef struct genred_socket_spec {
    const char *path;           /* filesystem path of the socket */
    unsigned mode;              /* permission bits, e.g. 0660, applied as given (0000
                                   too: then only root may connect) */
    const char *group;          /* group name or NULL to keep the default; a group
                                   that does not exist or cannot be set is an error */
    int inherited_fd;           /* >= 0: listening socket passed by systemd; path unused */
} genred_socket_spec;

/* Create the listening socket (or adopt the inherited one) and start
 * accepting on loop.  NULL with a reason (missing directory, not writable,
 * address in use by a live daemon, ...) in err. */
genred_server *genred_server_new(struct ev_loop *loop, const genred_socket_spec *sock,
                                 const genred_server_limits *limits,
                                 const genred_server_callbacks *cb, char *err, size_t errlen);
/* Change limits on reload (existing clients keep their connections). */
void genred_server_set_limits(genred_server *s, const genred_server_limits *limits);
/* Send one JSON object line (no trailing newline in json) to every client
 * that is watching.  The object carries its own "type" member ("result"
 * or "change").  An object containing a raw newline would break the line
 * framing and is not sent. */
void genred_server_broadcast(genred_server *s, const char *json, size_t len);
size_t genred_server_client_count(const genred_server *s);
/* Close every client, stop watchers, unlink the socket path if this
 * server created it. */
void genred_server_del(genred_server *s);

#endif
