/* Topics and payloads of genred-mqtt (payload.h). */
#include "payload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_config.h"

void bridge_topic(const bridge_config *c, const bridge_listener_config *l, enum bridge_topic kind,
                  char *out, size_t cap)
{
    switch (kind) {
    case BRIDGE_TOPIC_STATE:
        snprintf(out, cap, "%s/%s/state", c->topic_prefix, l->id);
        return;
    case BRIDGE_TOPIC_AVAILABILITY:
        snprintf(out, cap, "%s/%s/availability", c->topic_prefix, l->id);
        return;
    case BRIDGE_TOPIC_DISCOVERY:
        /* <discovery_prefix>/<component>/<node_id>/<object_id>/config */
        snprintf(out, cap, "%s/sensor/genred_%s/genre/config", c->discovery_prefix, l->id);
        return;
    }
    out[0] = '\0';
}

void bridge_own_topic(const bridge_config *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s/bridge/%s/availability", c->topic_prefix, c->client_id);
}

/* v written again: numbers keep genred's digits (the parser checked
 * them), strings and names go through genre_json, so the payload is valid
 * UTF-8 JSON whatever bytes arrived. */
static void write_value(genre_json *j, const json_value *v)
{
    switch (v->type) {
    case JSON_NULL:
        genre_json_null(j);
        return;
    case JSON_BOOL:
        genre_json_bool(j, v->boolean);
        return;
    case JSON_NUMBER: {
        char *raw = strndup(v->raw, v->raw_len);
        if (!raw) {
            j->failed = 1;
            return;
        }
        genre_json_raw(j, raw);
        free(raw);
        return;
    }
    case JSON_STRING:
        genre_json_string(j, v->string);
        return;
    case JSON_ARRAY:
        genre_json_begin_array(j);
        for (size_t i = 0; i < v->count; i++)
            write_value(j, &v->items[i]);
        genre_json_end_array(j);
        return;
    case JSON_OBJECT:
        genre_json_begin_object(j);
        for (size_t i = 0; i < v->count; i++) {
            genre_json_key(j, v->keys[i]);
            write_value(j, &v->items[i]);
        }
        genre_json_end_object(j);
        return;
    }
}

int bridge_state_payload(genre_json *j, const json_value *result, const char *device_id)
{
    if (!json_get_string(result, "state"))
        return -1;
    genre_json_reset(j);
    genre_json_begin_object(j);
    for (size_t i = 0; i < result->count; i++) {
        const char *key = result->keys[i];
        /* "device" is the bridge's: a member of that name is not passed on. */
        if (strcmp(key, "type") == 0 || strcmp(key, "device") == 0)
            continue;
        genre_json_key(j, key);
        write_value(j, &result->items[i]);
    }
    genre_json_key(j, "device");
    genre_json_string(j, device_id);
    genre_json_end_object(j);
    return j->failed ? -1 : 0;
}

void bridge_state_key(const json_value *result, char *out, size_t cap)
{
    const char *state = json_get_string(result, "state");
    const char *genre = json_get_string(result, "genre");
    snprintf(out, cap, "%s/%s", state ? state : "", genre ? genre : "");
}

static void availability_entry(genre_json *j, const char *topic)
{
    genre_json_begin_object(j);
    genre_json_key(j, "topic");
    genre_json_string(j, topic);
    genre_json_key(j, "payload_available");
    genre_json_string(j, BRIDGE_ONLINE);
    genre_json_key(j, "payload_not_available");
    genre_json_string(j, BRIDGE_OFFLINE);
    genre_json_end_object(j);
}

int bridge_discovery_payload(genre_json *j, const bridge_config *c,
                             const bridge_listener_config *l)
{
    char topic[BRIDGE_TOPIC_MAX], id[BRIDGE_ID_MAX + 32];
    genre_json_reset(j);
    genre_json_begin_object(j);
    genre_json_key(j, "name");
    genre_json_string(j, "Genre");
    snprintf(id, sizeof id, "genred_%s_genre", l->id);
    genre_json_key(j, "unique_id");
    genre_json_string(j, id);
    bridge_topic(c, l, BRIDGE_TOPIC_STATE, topic, sizeof topic);
    genre_json_key(j, "state_topic");
    genre_json_string(j, topic);
    /* The genre while there is one, otherwise the state (warming, silence,
     * no-input ...): the sensor always says what the listener knows. */
    genre_json_key(j, "value_template");
    genre_json_string(j, "{{ value_json.genre if value_json.genre else value_json.state }}");
    /* Every member of the state (confidence, probabilities, window, level,
     * model) becomes an attribute. */
    genre_json_key(j, "json_attributes_topic");
    genre_json_string(j, topic);
    genre_json_key(j, "icon");
    genre_json_string(j, "mdi:music");
    genre_json_key(j, "availability_mode");
    genre_json_string(j, "all");
    genre_json_key(j, "availability");
    genre_json_begin_array(j);
    bridge_own_topic(c, topic, sizeof topic);
    availability_entry(j, topic);
    bridge_topic(c, l, BRIDGE_TOPIC_AVAILABILITY, topic, sizeof topic);
    availability_entry(j, topic);
    genre_json_end_array(j);
    genre_json_key(j, "qos");
    genre_json_int(j, c->qos);
    genre_json_key(j, "device");
    genre_json_begin_object(j);
    snprintf(id, sizeof id, "genred_%s", l->id);
    genre_json_key(j, "identifiers");
    genre_json_begin_array(j);
    genre_json_string(j, id);
    genre_json_end_array(j);
    genre_json_key(j, "name");
    genre_json_string(j, l->name);
    genre_json_key(j, "manufacturer");
    genre_json_string(j, "genred");
    genre_json_key(j, "model");
    genre_json_string(j, "genred music-genre listener");
    genre_json_key(j, "sw_version");
    genre_json_string(j, GENRED_VERSION);
    genre_json_end_object(j);
    genre_json_key(j, "origin");
    genre_json_begin_object(j);
    genre_json_key(j, "name");
    genre_json_string(j, "genred-mqtt");
    genre_json_key(j, "sw_version");
    genre_json_string(j, GENRED_VERSION);
    genre_json_end_object(j);
    genre_json_end_object(j);
    return j->failed ? -1 : 0;
}
