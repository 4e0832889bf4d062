/* The bridge's rules (bridge.h). */
#include "bridge.h"

#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "follower.h"
#include "genre/error.h"
#include "payload.h"

#define KEY_MAX 512

typedef struct listener {
    struct bridge *bridge;
    const bridge_listener_config *cfg;
    follower *follower;
    genre_json latest;          /* the last result's state payload */
    char latest_key[KEY_MAX];   /* its state/genre */
    char published_key[KEY_MAX];/* state/genre of the last state published */
    int up;                     /* genred is there and has answered */
} listener;

struct bridge {
    struct ev_loop *loop;
    const bridge_config *cfg;
    genred_log *log;
    broker *broker;
    genre_json scratch;
    ev_timer heartbeat;
    int exit_status;
    size_t n;
    listener *listeners;
};

static void publish(bridge *b, const char *topic, const char *payload)
{
    broker_publish(b->broker, topic, payload, 1);
}

static void publish_state(listener *l)
{
    bridge *b = l->bridge;
    char topic[BRIDGE_TOPIC_MAX];
    bridge_topic(b->cfg, l->cfg, BRIDGE_TOPIC_STATE, topic, sizeof topic);
    if (broker_publish(b->broker, topic, l->latest.buf, 1) == 0)
        memcpy(l->published_key, l->latest_key, sizeof l->published_key);
}

static void publish_availability(listener *l)
{
    char topic[BRIDGE_TOPIC_MAX];
    bridge_topic(l->bridge->cfg, l->cfg, BRIDGE_TOPIC_AVAILABILITY, topic, sizeof topic);
    publish(l->bridge, topic, l->up ? BRIDGE_ONLINE : BRIDGE_OFFLINE);
}

static void publish_discovery(bridge *b)
{
    if (!b->cfg->discovery)
        return;
    char topic[BRIDGE_TOPIC_MAX];
    for (size_t i = 0; i < b->n; i++) {
        bridge_topic(b->cfg, b->listeners[i].cfg, BRIDGE_TOPIC_DISCOVERY, topic, sizeof topic);
        if (bridge_discovery_payload(&b->scratch, b->cfg, b->listeners[i].cfg) == 0)
            publish(b, topic, b->scratch.buf);
    }
}

/* Everything retained, as it is now: after a (re)connection. */
static void on_broker_connected(void *user)
{
    bridge *b = user;
    char topic[BRIDGE_TOPIC_MAX];
    bridge_own_topic(b->cfg, topic, sizeof topic);
    publish(b, topic, BRIDGE_ONLINE);
    publish_discovery(b);
    for (size_t i = 0; i < b->n; i++) {
        listener *l = &b->listeners[i];
        if (l->up)
            publish_state(l);
        publish_availability(l);
    }
}

static void on_refused(void *user, const char *reason, int ever_connected)
{
    bridge *b = user;
    if (ever_connected)
        return;     /* it worked before: a broker being reconfigured; keep trying */
    genred_error(b->log,
                 "broker %s:%d refused the connection: %s (check [mqtt] username and "
                 "password_file)",
                 b->cfg->host, b->cfg->port, reason);
    b->exit_status = BRIDGE_EXIT_REFUSED;
    ev_break(b->loop, EVBREAK_ALL);
}

static void on_home_assistant(void *user)
{
    bridge *b = user;
    genred_info(b->log, "Home Assistant came online: publishing discovery and states again");
    publish_discovery(b);
    for (size_t i = 0; i < b->n; i++)
        if (b->listeners[i].up)
            publish_state(&b->listeners[i]);
}

static void on_result(void *user, const json_value *result)
{
    listener *l = user;
    if (bridge_state_payload(&l->latest, result, l->cfg->id) != 0) {
        genre_json_reset(&l->latest);
        return;
    }
    bridge_state_key(result, l->latest_key, sizeof l->latest_key);
    if (!l->up) {
        l->up = 1;
        publish_state(l);           /* the state first: "online" then means current */
        publish_availability(l);
    } else if (strcmp(l->latest_key, l->published_key) != 0) {
        publish_state(l);
    }
}

static void on_down(void *user)
{
    listener *l = user;
    l->up = 0;
    l->published_key[0] = '\0';
    publish_availability(l);
}

static void on_heartbeat(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    bridge *b = w->data;
    for (size_t i = 0; i < b->n; i++)
        if (b->listeners[i].up)
            publish_state(&b->listeners[i]);
}

bridge *bridge_new(struct ev_loop *loop, const bridge_config *cfg, const char *password,
                   genred_log *log, char *err, size_t errlen)
{
    bridge *b = calloc(1, sizeof *b);
    if (!b || !(b->listeners = calloc(cfg->n_listeners, sizeof *b->listeners))) {
        free(b);
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    b->loop = loop;
    b->cfg = cfg;
    b->log = log;
    genre_json_init(&b->scratch);
    char will[BRIDGE_TOPIC_MAX];
    bridge_own_topic(cfg, will, sizeof will);
    broker_events be = {on_broker_connected, on_refused, on_home_assistant, b};
    b->broker = broker_new(loop, cfg, password, will, BRIDGE_OFFLINE, log, be, err, errlen);
    if (!b->broker) {
        bridge_del(b);
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        listener *l = &b->listeners[i];
        l->bridge = b;
        l->cfg = &cfg->listeners[i];
        genre_json_init(&l->latest);
        b->n = i + 1;
        follower_events fe = {on_result, on_down, l};
        l->follower = follower_new(loop, l->cfg->socket, l->cfg->id, log, fe);
        if (!l->follower) {
            genre_set_error(err, errlen, "out of memory");
            bridge_del(b);
            return NULL;
        }
    }
    ev_timer_init(&b->heartbeat, on_heartbeat, cfg->heartbeat, cfg->heartbeat);
    b->heartbeat.data = b;
    return b;
}

void bridge_start(bridge *b)
{
    broker_start(b->broker);
    for (size_t i = 0; i < b->n; i++)
        follower_start(b->listeners[i].follower);
    if (b->cfg->heartbeat > 0)
        ev_timer_start(b->loop, &b->heartbeat);
}

int bridge_exit_status(const bridge *b)
{
    return b->exit_status;
}

void bridge_shutdown(bridge *b, double timeout_s)
{
    ev_timer_stop(b->loop, &b->heartbeat);
    for (size_t i = 0; i < b->n; i++) {
        listener *l = &b->listeners[i];
        follower_del(l->follower);
        l->follower = NULL;
        l->up = 0;
        publish_availability(l);
    }
    /* A clean disconnect sends no will: say it ourselves. */
    char topic[BRIDGE_TOPIC_MAX];
    bridge_own_topic(b->cfg, topic, sizeof topic);
    publish(b, topic, BRIDGE_OFFLINE);
    broker_shutdown(b->broker, timeout_s);
}

void bridge_del(bridge *b)
{
    if (!b)
        return;
    if (b->loop)
        ev_timer_stop(b->loop, &b->heartbeat);
    for (size_t i = 0; i < b->n; i++) {
        follower_del(b->listeners[i].follower);
        genre_json_free(&b->listeners[i].latest);
    }
    broker_del(b->broker);
    genre_json_free(&b->scratch);
    free(b->listeners);
    free(b);
}
