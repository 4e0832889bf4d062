/* The broker connection (broker.h).  libmosquitto's network functions are
 * driven by libev: the socket's readiness calls mosquitto_loop_read/_write,
 * a one-second timer calls mosquitto_loop_misc (keep-alive pings and
 * timeouts).  libmosquitto's own thread is not used: its loop gives up for
 * good on some errors (a failed name lookup, TLS), and one thread keeps
 * the bridge's state simple. */
#include "broker.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "genre/error.h"
#include "log_once.h"

#define RETRY_FIRST 1.0
#define RETRY_MAX 60.0
/* A connection that lasted this long starts the backoff afresh. */
#define STABLE_AFTER 30.0
#define REASON_MAX 320

enum link_state { LINK_IDLE, LINK_CONNECTING, LINK_CONNECTED };

struct broker {
    struct ev_loop *loop;
    const bridge_config *cfg;
    genred_log *log;
    broker_events events;
    struct mosquitto *mosq;
    enum link_state state;
    int tried;                  /* mosquitto_connect_async was called once */
    int ever_connected;
    int shutting_down;
    int unacked;                /* QoS 1/2 messages of this connection not yet acknowledged */
    double connected_at;        /* ev_now of the CONNACK */
    double backoff;
    ev_io io;
    int io_events;              /* what io watches, 0 when stopped */
    ev_timer misc, retry;
    log_once logged;            /* the last problem logged, so a repeat is not */
    char label[BRIDGE_NAME_MAX + 24];   /* "broker HOST:PORT" */
    char detail[REASON_MAX];    /* libmosquitto's last error message (TLS details) */
    char ha_status_topic[BRIDGE_NAME_MAX + 16];
};

#define problem(b, ...) log_once_msg(&(b)->logged, (b)->log, (b)->label, __VA_ARGS__)

/* What failed, in out[REASON_MAX], with libmosquitto's own last error
 * message where it logged one (for TLS: OpenSSL's reason, such as
 * "certificate verify failed"). */
static const char *mosq_reason(broker *b, int rc, char *out)
{
    const char *what = rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
    if (b->detail[0])
        snprintf(out, REASON_MAX, "%.100s (%.200s)", what, b->detail);
    else
        snprintf(out, REASON_MAX, "%s", what);
    b->detail[0] = '\0';
    return out;
}

static void on_log(struct mosquitto *mosq, void *user, int level, const char *message)
{
    (void)mosq;
    broker *b = user;
    if (level & MOSQ_LOG_ERR)
        snprintf(b->detail, sizeof b->detail, "%s", message);
}

static void watch_socket(broker *b)
{
    int fd = mosquitto_socket(b->mosq);
    int want = fd < 0 ? 0 : EV_READ | (mosquitto_want_write(b->mosq) ? EV_WRITE : 0);
    if (b->state == LINK_CONNECTING && fd >= 0)
        want |= EV_WRITE;   /* the TCP connect completes as writability */
    if (want == b->io_events && (want == 0 || b->io.fd == fd))
        return;
    ev_io_stop(b->loop, &b->io);
    b->io_events = want;
    if (want) {
        ev_io_set(&b->io, fd, want);
        ev_io_start(b->loop, &b->io);
    }
}

static void schedule_retry(broker *b)
{
    ev_timer_stop(b->loop, &b->retry);
    ev_timer_set(&b->retry, b->backoff, 0);
    ev_timer_start(b->loop, &b->retry);
    b->backoff = b->backoff * 2 > RETRY_MAX ? RETRY_MAX : b->backoff * 2;
}

/* The connection ended or never came up: wait, then try again. */
static void lost(broker *b, const char *why)
{
    if (b->state == LINK_IDLE)
        return;
    int was_connected = b->state == LINK_CONNECTED;
    if (was_connected && ev_now(b->loop) - b->connected_at >= STABLE_AFTER)
        b->backoff = RETRY_FIRST;
    b->state = LINK_IDLE;
    b->unacked = 0;
    ev_io_stop(b->loop, &b->io);
    b->io_events = 0;
    if (b->shutting_down)
        return;
    /* One wording per kind, whichever call noticed it, so a failure that
     * repeats on every retry is recognised as the same and logged once. */
    if (was_connected)
        problem(b, "connection lost: %s; reconnecting", why);
    else
        problem(b, "cannot connect: %s; retrying", why);
    schedule_retry(b);
}

static void on_connect(struct mosquitto *mosq, void *user, int rc)
{
    (void)mosq;
    broker *b = user;
    if (rc != 0) {
        const char *what = mosquitto_connack_string(rc);
        if (rc == CONNACK_REFUSED_BAD_USERNAME_PASSWORD || rc == CONNACK_REFUSED_NOT_AUTHORIZED) {
            if (b->events.refused)
                b->events.refused(b->events.user, what, b->ever_connected);
        }
        char why[REASON_MAX];
        snprintf(why, sizeof why, "refused: %s", what);
        lost(b, why);
        return;
    }
    b->state = LINK_CONNECTED;
    b->ever_connected = 1;
    b->connected_at = ev_now(b->loop);
    log_once_reset(&b->logged);
    genred_info(b->log, "connected to broker %s:%d as %s", b->cfg->host, b->cfg->port,
                b->cfg->client_id);
    if (b->cfg->discovery)
        mosquitto_subscribe(b->mosq, NULL, b->ha_status_topic, b->cfg->qos);
    if (b->events.connected)
        b->events.connected(b->events.user);
}

static void on_disconnect(struct mosquitto *mosq, void *user, int rc)
{
    (void)mosq;
    broker *b = user;
    char why[REASON_MAX];
    lost(b, rc == 0 ? "disconnected" : mosq_reason(b, rc, why));
}

static void on_publish(struct mosquitto *mosq, void *user, int mid)
{
    (void)mosq, (void)mid;
    broker *b = user;
    if (b->unacked > 0)
        b->unacked--;
}

static void on_message(struct mosquitto *mosq, void *user, const struct mosquitto_message *m)
{
    (void)mosq;
    broker *b = user;
    if (strcmp(m->topic, b->ha_status_topic) == 0 && m->payloadlen == 6 &&
        memcmp(m->payload, "online", 6) == 0 && b->events.home_assistant)
        b->events.home_assistant(b->events.user);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    char why[REASON_MAX];
    (void)loop;
    broker *b = w->data;
    int rc = MOSQ_ERR_SUCCESS;
    if (revents & EV_READ)
        rc = mosquitto_loop_read(b->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && b->state != LINK_IDLE && (revents & EV_WRITE))
        rc = mosquitto_loop_write(b->mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS)
        lost(b, mosq_reason(b, rc, why));
    else if (b->state != LINK_IDLE)
        watch_socket(b);
}

static void on_misc(struct ev_loop *loop, ev_timer *w, int revents)
{
    char why[REASON_MAX];
    (void)loop, (void)revents;
    broker *b = w->data;
    if (b->state == LINK_IDLE)
        return;
    /* Keep-alive pings and their timeout; and a read, for data TLS has
     * buffered that the socket's readiness no longer shows. */
    int rc = mosquitto_loop_misc(b->mosq);
    if (rc == MOSQ_ERR_SUCCESS && b->state == LINK_CONNECTED)
        rc = mosquitto_loop_read(b->mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS && b->state != LINK_IDLE)
        lost(b, mosq_reason(b, rc, why));
    else if (b->state != LINK_IDLE)
        watch_socket(b);
}

static void connect_now(broker *b)
{
    char why[REASON_MAX];
    const bridge_config *c = b->cfg;
    int rc = b->tried ? mosquitto_reconnect_async(b->mosq)
                      : mosquitto_connect_async(b->mosq, c->host, c->port, c->keepalive);
    b->tried = 1;
    if (rc != MOSQ_ERR_SUCCESS) {
        problem(b, "cannot connect: %s; retrying", mosq_reason(b, rc, why));
        schedule_retry(b);
        return;
    }
    b->state = LINK_CONNECTING;
    watch_socket(b);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    connect_now(w->data);
}

broker *broker_new(struct ev_loop *loop, const bridge_config *cfg, const char *password,
                   const char *will_topic, const char *will_payload, genred_log *log,
                   broker_events events, char *err, size_t errlen)
{
    broker *b = calloc(1, sizeof *b);
    if (!b) {
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    b->loop = loop;
    b->cfg = cfg;
    b->log = log;
    b->events = events;
    b->backoff = RETRY_FIRST;
    snprintf(b->label, sizeof b->label, "broker %s:%d", cfg->host, cfg->port);
    snprintf(b->ha_status_topic, sizeof b->ha_status_topic, "%s/status", cfg->discovery_prefix);
    ev_io_init(&b->io, on_io, -1, EV_READ);
    b->io.data = b;
    ev_timer_init(&b->misc, on_misc, 1.0, 1.0);
    b->misc.data = b;
    ev_timer_init(&b->retry, on_retry, 0, 0);
    b->retry.data = b;
    /* A clean session: everything that matters is retained and republished
     * on every connection. */
    b->mosq = mosquitto_new(cfg->client_id, true, b);
    if (!b->mosq) {
        genre_set_error(err, errlen, "cannot create an MQTT client: %s", strerror(errno));
        free(b);
        return NULL;
    }
    mosquitto_int_option(b->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(b->mosq, on_connect);
    mosquitto_disconnect_callback_set(b->mosq, on_disconnect);
    mosquitto_message_callback_set(b->mosq, on_message);
    mosquitto_publish_callback_set(b->mosq, on_publish);
    mosquitto_log_callback_set(b->mosq, on_log);
    int rc = mosquitto_will_set(b->mosq, will_topic, (int)strlen(will_payload), will_payload,
                                cfg->qos, true);
    if (rc == MOSQ_ERR_SUCCESS && cfg->username[0])
        rc = mosquitto_username_pw_set(b->mosq, cfg->username, password);
    if (rc != MOSQ_ERR_SUCCESS) {
        genre_set_error(err, errlen, "MQTT client set-up: %s", mosquitto_strerror(rc));
        broker_del(b);
        return NULL;
    }
    if (cfg->ca_file[0]) {
        rc = mosquitto_tls_set(b->mosq, cfg->ca_file, NULL, cfg->cert_file[0] ? cfg->cert_file : NULL,
                               cfg->key_file[0] ? cfg->key_file : NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            genre_set_error(err, errlen, "TLS set-up (ca_file %s%s%s): %s", cfg->ca_file,
                            cfg->cert_file[0] ? ", cert_file " : "", cfg->cert_file,
                            rc == MOSQ_ERR_INVAL ? "a file cannot be read" : mosquitto_strerror(rc));
            broker_del(b);
            return NULL;
        }
    }
    return b;
}

void broker_start(broker *b)
{
    ev_timer_start(b->loop, &b->misc);
    connect_now(b);
}

int broker_connected(const broker *b)
{
    return b->state == LINK_CONNECTED;
}

int broker_publish(broker *b, const char *topic, const char *payload, int retain)
{
    char why[REASON_MAX];
    if (b->state != LINK_CONNECTED)
        return -1;
    int rc = mosquitto_publish(b->mosq, NULL, topic, (int)strlen(payload), payload, b->cfg->qos,
                               retain != 0);
    if (rc != MOSQ_ERR_SUCCESS) {
        lost(b, mosq_reason(b, rc, why));
        return -1;
    }
    if (b->cfg->qos > 0)
        b->unacked++;
    if (b->state != LINK_IDLE)
        watch_socket(b);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Write what libmosquitto has queued, waiting for the socket until end. */
static void flush(broker *b, double end)
{
    while (mosquitto_want_write(b->mosq) && now_s() < end) {
        struct pollfd p = {mosquitto_socket(b->mosq), POLLOUT, 0};
        if (p.fd < 0 || poll(&p, 1, (int)((end - now_s()) * 1000) + 1) <= 0)
            break;
        if (mosquitto_loop_write(b->mosq, 1) != MOSQ_ERR_SUCCESS)
            break;
    }
}

void broker_shutdown(broker *b, double timeout_s)
{
    b->shutting_down = 1;
    ev_timer_stop(b->loop, &b->retry);
    ev_timer_stop(b->loop, &b->misc);
    if (b->state != LINK_CONNECTED)
        return;
    /* Flush what the owner published last (offline messages) before the
     * DISCONNECT, which goes out after them on the same connection. */
    double end = now_s() + timeout_s;
    flush(b, end);
    /* libmosquitto closes the socket as soon as DISCONNECT is written, and
     * closing a TCP socket with unread data (the broker's acknowledgements
     * still on their way) resets the connection: a broker that sees the
     * reset first drops the messages and sends the last will after all.  So
     * wait for the acknowledgements first. */
    while (b->unacked > 0 && b->state == LINK_CONNECTED && now_s() < end) {
        struct pollfd p = {mosquitto_socket(b->mosq), POLLIN, 0};
        if (p.fd < 0 || poll(&p, 1, (int)((end - now_s()) * 1000) + 1) <= 0)
            break;
        if (mosquitto_loop_read(b->mosq, 1) != MOSQ_ERR_SUCCESS)
            break;
    }
    mosquitto_disconnect(b->mosq);
    flush(b, end);
    b->state = LINK_IDLE;
    ev_io_stop(b->loop, &b->io);
}

void broker_del(broker *b)
{
    if (!b)
        return;
    b->shutting_down = 1;
    ev_io_stop(b->loop, &b->io);
    ev_timer_stop(b->loop, &b->misc);
    ev_timer_stop(b->loop, &b->retry);
    if (b->mosq)
        mosquitto_destroy(b->mosq);
    free(b);
}
