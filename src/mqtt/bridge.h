/* The bridge: one follower per configured genred socket, one broker
 * connection, and the rules that join them (doc/mqtt.md):
 *   - a listener's state is published, retained, when its genre or state
 *     changes, at every heartbeat, and after every broker (re)connection;
 *   - its availability is "online" from genred's first result and
 *     "offline" as soon as the connection to genred ends; the state of an
 *     offline listener is not republished, so nothing stale is presented
 *     as current;
 *   - the bridge's own availability is "online" while connected, and its
 *     last will makes it "offline" when the bridge dies;
 *   - Home Assistant discovery is published after every broker connection
 *     and when Home Assistant announces itself.
 * Single-threaded, on the caller's libev loop. */
#ifndef GENRED_MQTT_BRIDGE_H
#define GENRED_MQTT_BRIDGE_H

#include <ev.h>
#include <stddef.h>

#include "bridge_config.h"
#include "genred/log.h"

/* Exit status when the broker refused the credentials before ever
 * accepting them: retrying cannot help, the configuration must change. */
#define BRIDGE_EXIT_REFUSED 3

typedef struct bridge bridge;

/* cfg, loop and log must outlive the bridge; password (may be NULL) is
 * copied by libmosquitto.  NULL with the reason in err. */
bridge *bridge_new(struct ev_loop *loop, const bridge_config *cfg, const char *password,
                   genred_log *log, char *err, size_t errlen);
void bridge_start(bridge *b);
/* 0 while all is well; BRIDGE_EXIT_REFUSED after the bridge stopped the
 * loop because the broker refused its credentials. */
int bridge_exit_status(const bridge *b);
/* Publish every listener and the bridge "offline", flush (at most
 * timeout_s) and disconnect cleanly. */
void bridge_shutdown(bridge *b, double timeout_s);
/* NULL is a no-op. */
void bridge_del(bridge *b);

#endif
