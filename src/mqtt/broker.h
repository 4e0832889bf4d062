/* The broker connection: libmosquitto driven from the caller's libev loop
 * (no library thread), with the bridge's last will, TLS and credentials
 * from the config.  It keeps reconnecting with a backoff that grows from
 * 1 s to 60 s, and logs each distinct reason once.  Messages are only
 * handed to libmosquitto while connected: what matters is retained state,
 * which the owner republishes on `connected`, so nothing piles up in
 * memory while the broker is away.  Single-threaded.  Tested through
 * genred-mqtt (mqtt-fleet). */
#ifndef GENRED_MQTT_BROKER_H
#define GENRED_MQTT_BROKER_H

#include <ev.h>
#include <stddef.h>

#include "bridge_config.h"
#include "genred/log.h"

typedef struct broker broker;

typedef struct broker_events {
    /* The broker accepted the connection: publish everything retained. */
    void (*connected)(void *user);
    /* The broker refused the credentials (MQTT CONNACK 4 or 5); ever_connected
     * says whether this client was accepted before.  It keeps retrying
     * unless the owner stops it. */
    void (*refused)(void *user, const char *reason, int ever_connected);
    /* Home Assistant announced itself (its birth message "online" on
     * DISCOVERY_PREFIX/status): publish discovery and state again. */
    void (*home_assistant)(void *user);
    void *user;
} broker_events;

/* A broker client for cfg (which, like loop and log, must outlive it);
 * password may be NULL.  Its last will publishes will_payload, retained,
 * on will_topic.  NULL with the reason in err. */
broker *broker_new(struct ev_loop *loop, const bridge_config *cfg, const char *password,
                   const char *will_topic, const char *will_payload, genred_log *log,
                   broker_events events, char *err, size_t errlen);
/* Connect now (and keep reconnecting). */
void broker_start(broker *b);
int broker_connected(const broker *b);
/* Publish payload on topic with the configured QoS.  0, or -1 when not
 * connected (dropped: the owner republishes on `connected`). */
int broker_publish(broker *b, const char *topic, const char *payload, int retain);
/* Write out what is queued (at most timeout_s), then disconnect cleanly, so
 * the broker does not send the last will. */
void broker_shutdown(broker *b, double timeout_s);
/* Free it (disconnecting without flushing).  NULL is a no-op. */
void broker_del(broker *b);

#endif
