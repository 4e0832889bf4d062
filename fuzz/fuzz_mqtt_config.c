/* Fuzz target: genred-mqtt's configuration parser (bridge_config_parse_text,
 * the code bridge_config_load runs on a file's contents).
 *
 * Checks beyond "no crash": a refused text comes with a one-line message
 * naming the file; an accepted one has at least one listener, every id
 * valid for a topic level and unique, every string NUL-terminated inside
 * its array, every number inside its documented range, and topics that
 * fit their buffers without wildcards. */
#include "bridge_config.h"
#include "payload.h"

#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"

#define NAME "fuzz-mqtt.conf"

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    return n >= 1 && n <= BRIDGE_ID_MAX &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n &&
           strcmp(id, "bridge") != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bridge_config cfg;
    char err[600] = "";
    bridge_config_defaults(&cfg);
    if (bridge_config_parse_text(&cfg, (const char *)data, size, NAME, err, sizeof err) != 0) {
        FUZZ_NOTE("refused: %s\n", err);
        FUZZ_CHECK_MSG(err);
        FUZZ_CHECK(strncmp(err, NAME, strlen(NAME)) == 0);
        return 0;
    }
    FUZZ_NOTE("accepted, %zu listener(s)\n", cfg.n_listeners);
    FUZZ_CHECK(cfg.n_listeners >= 1 && cfg.n_listeners <= BRIDGE_LISTENERS_MAX);
    FUZZ_CHECK(cfg.port >= 1 && cfg.port <= 65535);
    FUZZ_CHECK(cfg.keepalive >= 5 && cfg.keepalive <= 3600);
    FUZZ_CHECK(cfg.qos >= 0 && cfg.qos <= 2);
    FUZZ_CHECK(cfg.heartbeat >= 0 && cfg.heartbeat <= 86400);
    FUZZ_CHECK(cfg.log_level >= 0 && cfg.log_level <= 3);
    FUZZ_CHECK(memchr(cfg.host, '\0', sizeof cfg.host) && cfg.host[0]);
    FUZZ_CHECK(memchr(cfg.client_id, '\0', sizeof cfg.client_id) && !strpbrk(cfg.client_id, "/+#"));
    FUZZ_CHECK(!strpbrk(cfg.topic_prefix, "+#") && !strpbrk(cfg.discovery_prefix, "+#"));
    FUZZ_CHECK(!cfg.password_file[0] || cfg.username[0]);
    for (size_t i = 0; i < cfg.n_listeners; i++) {
        const bridge_listener_config *l = &cfg.listeners[i];
        FUZZ_CHECK(valid_id(l->id));
        FUZZ_CHECK(l->socket[0] && memchr(l->socket, '\0', sizeof l->socket));
        FUZZ_CHECK(l->name[0] && memchr(l->name, '\0', sizeof l->name));
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(cfg.listeners[j].id, l->id) != 0);
        char topic[BRIDGE_TOPIC_MAX];
        for (int kind = BRIDGE_TOPIC_STATE; kind <= BRIDGE_TOPIC_DISCOVERY; kind++) {
            bridge_topic(&cfg, l, (enum bridge_topic)kind, topic, sizeof topic);
            FUZZ_CHECK(strlen(topic) < sizeof topic - 1 && !strpbrk(topic, "+#"));
        }
    }
    return 0;
}
