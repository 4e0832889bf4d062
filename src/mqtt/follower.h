/* A follower: one connection to a genred socket, kept up for ever.  It
 * connects, sends `watch` and `status` (doc/protocol.md) and hands every
 * status and result object to its owner; when genred is not there yet,
 * goes away, sends something that is not a protocol line, or a line longer
 * than FOLLOWER_LINE_MAX, it logs the reason once and reconnects with a
 * backoff that grows from 0.5 s to 30 s.  It is a normal socket client on
 * the caller's libev loop: it never blocks, and genred drops it if it ever
 * stopped reading.  Single-threaded.  Tested through genred-mqtt (mqtt-*). */
#ifndef GENRED_MQTT_FOLLOWER_H
#define GENRED_MQTT_FOLLOWER_H

#include <ev.h>

#include "genred/log.h"
#include "json_read.h"

/* Longest line accepted from genred (its objects are a few KiB). */
#define FOLLOWER_LINE_MAX (256 * 1024)
#define FOLLOWER_RETRY_FIRST 0.5
#define FOLLOWER_RETRY_MAX 30.0

typedef struct follower follower;

typedef struct follower_events {
    /* A status or result object (the first one after connecting makes the
     * follower "up"); valid only during the call. */
    void (*result)(void *user, const json_value *result);
    /* The connection of an up follower ended; it is reconnecting. */
    void (*down)(void *user);
    void *user;
} follower_events;

/* A follower of the socket at path; label names it in log lines.  Nothing
 * happens before follower_start.  NULL when out of memory.  The loop and
 * log must outlive it; path and label are copied. */
follower *follower_new(struct ev_loop *loop, const char *path, const char *label, genred_log *log,
                       follower_events events);
/* Connect now (and keep reconnecting). */
void follower_start(follower *f);
/* Non-zero from the first status or result object until the connection ends. */
int follower_up(const follower *f);
/* Close the connection, stop its watchers and free it.  NULL is a no-op. */
void follower_del(follower *f);

#endif
