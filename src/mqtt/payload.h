/* What genred-mqtt publishes: the topic names and the payloads built from
 * genred's result objects (doc/mqtt.md is the contract).  Pure functions
 * of the config and the object, so they are tested on their own
 * (mqtt-payload).
 *
 *   PREFIX/ID/state                    retained JSON: the result, without
 *                                      "type", with "device": ID
 *   PREFIX/ID/availability             retained "online" / "offline": is
 *                                      genred there (the bridge's view)
 *   PREFIX/bridge/CLIENT/availability  retained "online" / "offline": the
 *                                      bridge itself (its last will)
 *   DISCOVERY/sensor/genred_ID/genre/config
 *                                      retained Home Assistant discovery */
#ifndef GENRED_MQTT_PAYLOAD_H
#define GENRED_MQTT_PAYLOAD_H

#include <stddef.h>

#include "bridge_config.h"
#include "genre/json.h"
#include "json_read.h"

#define BRIDGE_TOPIC_MAX (2 * BRIDGE_NAME_MAX + BRIDGE_ID_MAX + 64)
#define BRIDGE_ONLINE "online"
#define BRIDGE_OFFLINE "offline"

enum bridge_topic {
    BRIDGE_TOPIC_STATE,
    BRIDGE_TOPIC_AVAILABILITY,
    BRIDGE_TOPIC_DISCOVERY,
};

/* The topic of kind for listener l, in out[BRIDGE_TOPIC_MAX]. */
void bridge_topic(const bridge_config *c, const bridge_listener_config *l, enum bridge_topic kind,
                  char *out, size_t cap);
/* The bridge's own availability topic (its last will). */
void bridge_own_topic(const bridge_config *c, char *out, size_t cap);

/* The state payload for a genred `status` or `result` object: every member
 * but "type" as genred sent it (numbers digit for digit; strings as valid
 * UTF-8 whatever arrived), then "device".  0, or -1 when the object is not
 * a result (no "state" string) or out of memory. */
int bridge_state_payload(genre_json *j, const json_value *result, const char *device_id);

/* What decides whether a result is news: its state and genre (genre ""
 * when null), as "state/genre" in out[cap]. */
void bridge_state_key(const json_value *result, char *out, size_t cap);

/* Home Assistant's discovery message for the listener's genre sensor:
 * state and attributes from the state topic, available when both the
 * bridge and the listener's genred are.  0, or -1 out of memory. */
int bridge_discovery_payload(genre_json *j, const bridge_config *c,
                             const bridge_listener_config *l);

#endif
