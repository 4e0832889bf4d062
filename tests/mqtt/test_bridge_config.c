/* genred-mqtt's config (src/mqtt/bridge_config.c) and payloads
 * (src/mqtt/payload.c): defaults, every key, the errors (each naming
 * file:line), topics, the state payload passed through from genred's
 * result objects, and the Home Assistant discovery message. */
#include "bridge_config.h"
#include "payload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static bridge_config cfg;   /* large: not on the stack */

static int parse(const char *text, char *err, size_t errlen)
{
    bridge_config_defaults(&cfg);
    err[0] = '\0';
    return bridge_config_parse_text(&cfg, text, strlen(text), "b.conf", err, errlen);
}

static void refuses(const char *text, const char *frag1, const char *frag2)
{
    char err[600];
    int rc = parse(text, err, sizeof err);
    CHECK_MSG(rc == -1 && strstr(err, frag1) && (!frag2 || strstr(err, frag2)),
              "config text:\n%s\n-> rc %d, message '%s'; wanted '%s'%s%s", text, rc, err, frag1,
              frag2 ? " and " : "", frag2 ? frag2 : "");
}

static void defaults(void)
{
    char err[600];
    CHECK(parse("", err, sizeof err) == 0);
    CHECK(strcmp(cfg.host, "localhost") == 0);
    CHECK(cfg.port == 1883);
    CHECK(strncmp(cfg.client_id, "genred-mqtt-", 12) == 0);
    CHECK(cfg.keepalive == 30 && cfg.qos == 1 && cfg.heartbeat == 60 && cfg.discovery == 1);
    CHECK(strcmp(cfg.topic_prefix, "genred") == 0);
    CHECK(strcmp(cfg.discovery_prefix, "homeassistant") == 0);
    /* No [listener]: the default socket, under the host name. */
    CHECK(cfg.n_listeners == 1);
    CHECK(strcmp(cfg.listeners[0].socket, "/run/genred/genred.sock") == 0);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    CHECK_MSG(cfg.listeners[0].id[0] && strlen(cfg.listeners[0].id) <= BRIDGE_ID_MAX,
              "id '%s'", cfg.listeners[0].id);
    CHECK(strcmp(cfg.listeners[0].name, cfg.listeners[0].id) == 0);
    for (const char *p = cfg.listeners[0].id; *p; p++)
        CHECK_MSG(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", *p),
                  "host name '%s' gave id '%s'", host, cfg.listeners[0].id);
}

static void every_key(void)
{
    char err[600];
    const char *text =
        "[mqtt]\n"
        "host = broker.lan\n"
        "port = 1999\n"
        "client_id = den-bridge\n"
        "username = genred\n"
        "password_file = /etc/genred/mqtt.secret\n"
        "ca_file = /etc/ssl/ca.pem\n"
        "cert_file = /etc/genred/client.pem\n"
        "key_file = /etc/genred/client.key\n"
        "keepalive = 15\n"
        "qos = 2\n"
        "topic_prefix = home/music\n"
        "discovery = no\n"
        "discovery_prefix = ha\n"
        "heartbeat = 0\n"
        "log_level = debug\n"
        "[listener living-room]\n"
        "socket = /run/genred/living.sock\n"
        "name = Living room\n"
        "; an empty listener section gets the defaults\n"
        "[listener radio_1]\n";
    CHECK_MSG(parse(text, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(cfg.host, "broker.lan") == 0 && cfg.port == 1999);
    CHECK(strcmp(cfg.client_id, "den-bridge") == 0);
    CHECK(strcmp(cfg.username, "genred") == 0);
    CHECK(strcmp(cfg.password_file, "/etc/genred/mqtt.secret") == 0);
    CHECK(strcmp(cfg.ca_file, "/etc/ssl/ca.pem") == 0);
    CHECK(strcmp(cfg.cert_file, "/etc/genred/client.pem") == 0);
    CHECK(strcmp(cfg.key_file, "/etc/genred/client.key") == 0);
    CHECK(cfg.keepalive == 15 && cfg.qos == 2 && cfg.heartbeat == 0 && cfg.discovery == 0);
    CHECK(strcmp(cfg.topic_prefix, "home/music") == 0);
    CHECK(strcmp(cfg.discovery_prefix, "ha") == 0);
    CHECK(cfg.log_level == 3);
    CHECK(cfg.n_listeners == 2);
    CHECK(strcmp(cfg.listeners[0].id, "living-room") == 0);
    CHECK(strcmp(cfg.listeners[0].name, "Living room") == 0);
    CHECK(strcmp(cfg.listeners[0].socket, "/run/genred/living.sock") == 0);
    CHECK(strcmp(cfg.listeners[1].id, "radio_1") == 0);
    CHECK(strcmp(cfg.listeners[1].name, "radio_1") == 0);
    CHECK(strcmp(cfg.listeners[1].socket, "/run/genred/genred.sock") == 0);
    /* TLS without a port: the TLS port. */
    CHECK(parse("[mqtt]\nca_file = /ca.pem\n", err, sizeof err) == 0 && cfg.port == 8883);
}

static void errors(void)
{
    refuses("[mqtt]\nport = 0\n", "b.conf:2:", "[mqtt] port");
    refuses("[mqtt]\nport = 70000\n", "b.conf:2:", "out of range");
    refuses("[mqtt]\nqos = 3\n", "[mqtt] qos", "out of range");
    refuses("[mqtt]\nkeepalive = 2\n", "[mqtt] keepalive", NULL);
    refuses("[mqtt]\nheartbeat = -1\n", "[mqtt] heartbeat", NULL);
    refuses("[mqtt]\ndiscovery = maybe\n", "[mqtt] discovery", "yes/no");
    refuses("[mqtt]\ntopic_prefix = a/+/b\n", "[mqtt] topic_prefix", "not a topic prefix");
    refuses("[mqtt]\ntopic_prefix = a//b\n", "[mqtt] topic_prefix", NULL);
    refuses("[mqtt]\ntopic_prefix = /a\n", "[mqtt] topic_prefix", NULL);
    refuses("[mqtt]\ndiscovery_prefix = ha/#\n", "[mqtt] discovery_prefix", NULL);
    refuses("[mqtt]\nclient_id = a/b\n", "[mqtt] client_id", "'/'");
    refuses("[mqtt]\nlog_level = loud\n", "[mqtt] log_level", "not a log level");
    refuses("[mqtt]\ncolour = blue\n", "b.conf:2:", "unknown key 'colour' in [mqtt]");
    refuses("[mqtt]\nhost =\n", "[mqtt] host", "empty");
    refuses("[broker]\nhost = x\n", "b.conf:1:", "unknown section [broker]");
    refuses("\n\n[listener]\n", "b.conf:3:", "device id");
    refuses("[listener a.b]\n", "b.conf:1:", "only letters, digits");
    refuses("[listener bridge]\n", "b.conf:1:", "reserved");
    refuses("[listener x]\n[listener x]\n", "b.conf:2:", "[listener x] given twice");
    refuses("[listener x]\nsocket =\n", "[listener x] socket", "empty");
    refuses("[listener x]\nport = 1\n", "b.conf:2:", "unknown key 'port' in [listener x]");
    refuses("host = x\n", "b.conf:1:", "outside of a [section]");
    refuses("[mqtt\n", "b.conf:1:", "syntax error");
    refuses("[mqtt]\ncert_file = /c.pem\nkey_file = /k.pem\n", "b.conf:", "need ca_file");
    refuses("[mqtt]\nca_file = /ca.pem\ncert_file = /c.pem\n", "b.conf:", "go together");
    refuses("[mqtt]\npassword_file = /p\n", "b.conf:", "needs username");
    char many[BRIDGE_LISTENERS_MAX * 24 + 64] = "";
    size_t n = 0;
    for (int i = 0; i <= BRIDGE_LISTENERS_MAX; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "[listener l%d]\n", i);
    refuses(many, "too many listeners", NULL);
    char err[600];
    CHECK(bridge_config_parse_text(&cfg, "[mqtt]\0x", 8, "nul.conf", err, sizeof err) == -1 &&
          strstr(err, "NUL"));
    bridge_config_defaults(&cfg);
    CHECK(bridge_config_load(&cfg, "/nonexistent/genred-mqtt.conf", err, sizeof err) == -1 &&
          strstr(err, "/nonexistent/genred-mqtt.conf"));
}

static void password_file(void)
{
    char dir[] = "/tmp/genred-mqtt-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], err[600], pw[64];
    snprintf(path, sizeof path, "%s/secret", dir);
    FILE *f = fopen(path, "w");
    fputs("s3cret pass\r\nsecond line\n", f);
    fclose(f);
    bridge_config_defaults(&cfg);
    snprintf(cfg.password_file, sizeof cfg.password_file, "%s", path);
    CHECK_MSG(bridge_config_read_password(&cfg, pw, sizeof pw, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(pw, "s3cret pass") == 0);
    /* Too long, empty, missing: refused, and the message never holds it. */
    f = fopen(path, "w");
    for (int i = 0; i < 100; i++)
        fputc('x', f);
    fclose(f);
    CHECK(bridge_config_read_password(&cfg, pw, sizeof pw, err, sizeof err) == -1 &&
          strstr(err, "too long") && !strstr(err, "xxxx"));
    f = fopen(path, "w");
    fputs("\nsecret\n", f);
    fclose(f);
    CHECK(bridge_config_read_password(&cfg, pw, sizeof pw, err, sizeof err) == -1 &&
          strstr(err, "empty") && !strstr(err, "secret\n"));
    unlink(path);
    CHECK(bridge_config_read_password(&cfg, pw, sizeof pw, err, sizeof err) == -1 &&
          strstr(err, path));
    rmdir(dir);
}

static void topics_and_payloads(void)
{
    char err[600], topic[BRIDGE_TOPIC_MAX];
    CHECK(parse("[mqtt]\nclient_id = b1\ntopic_prefix = home/genred\nqos = 1\n"
                "[listener den]\nname = The den\n",
                err, sizeof err) == 0);
    const bridge_listener_config *l = &cfg.listeners[0];
    bridge_topic(&cfg, l, BRIDGE_TOPIC_STATE, topic, sizeof topic);
    CHECK_MSG(strcmp(topic, "home/genred/den/state") == 0, "%s", topic);
    bridge_topic(&cfg, l, BRIDGE_TOPIC_AVAILABILITY, topic, sizeof topic);
    CHECK_MSG(strcmp(topic, "home/genred/den/availability") == 0, "%s", topic);
    bridge_topic(&cfg, l, BRIDGE_TOPIC_DISCOVERY, topic, sizeof topic);
    CHECK_MSG(strcmp(topic, "homeassistant/sensor/genred_den/genre/config") == 0, "%s", topic);
    bridge_own_topic(&cfg, topic, sizeof topic);
    CHECK_MSG(strcmp(topic, "home/genred/bridge/b1/availability") == 0, "%s", topic);

    /* The state: genred's members as sent (digits kept), no "type", a
     * "device"; a "device" from genred is not passed on. */
    const char *result =
        "{\"type\":\"result\",\"state\":\"ok\",\"seq\":7,\"genre\":\"jazz\","
        "\"confidence\":0.712345678,\"probabilities\":{\"jazz\":0.712345678,\"rock\":0.287654322},"
        "\"window\":{\"start\":1.000,\"end\":11.000},\"device\":\"x\",\"new_member\":[1,2]}";
    json_value *v = json_parse(result, strlen(result), err, sizeof err);
    CHECK(v != NULL);
    genre_json j;
    genre_json_init(&j);
    CHECK(bridge_state_payload(&j, v, "den") == 0);
    const char *want =
        "{\"state\":\"ok\",\"seq\":7,\"genre\":\"jazz\",\"confidence\":0.712345678,"
        "\"probabilities\":{\"jazz\":0.712345678,\"rock\":0.287654322},"
        "\"window\":{\"start\":1.000,\"end\":11.000},\"new_member\":[1,2],\"device\":\"den\"}";
    CHECK_MSG(strcmp(j.buf, want) == 0, "\n got %s\nwant %s", j.buf, want);
    char key[128];
    bridge_state_key(v, key, sizeof key);
    CHECK_MSG(strcmp(key, "ok/jazz") == 0, "%s", key);
    json_free(v);
    const char *silent = "{\"type\":\"status\",\"state\":\"silence\",\"genre\":null}";
    v = json_parse(silent, strlen(silent), err, sizeof err);
    bridge_state_key(v, key, sizeof key);
    CHECK_MSG(strcmp(key, "silence/") == 0, "%s", key);
    json_free(v);
    const char *not_result = "{\"type\":\"stats\",\"clients\":1}";
    v = json_parse(not_result, strlen(not_result), err, sizeof err);
    CHECK(bridge_state_payload(&j, v, "den") == -1);
    json_free(v);

    /* Discovery: valid JSON naming the state topic, both availability
     * topics (mode all), the device and a unique id. */
    CHECK(bridge_discovery_payload(&j, &cfg, l) == 0);
    v = json_parse(j.buf, j.len, err, sizeof err);
    CHECK_MSG(v != NULL, "discovery is not JSON: %s", err);
    if (v) {
        CHECK(strcmp(json_get_string(v, "state_topic"), "home/genred/den/state") == 0);
        CHECK(strcmp(json_get_string(v, "json_attributes_topic"), "home/genred/den/state") == 0);
        CHECK(strcmp(json_get_string(v, "unique_id"), "genred_den_genre") == 0);
        CHECK(strcmp(json_get_string(v, "availability_mode"), "all") == 0);
        const json_value *av = json_get(v, "availability");
        CHECK(av && av->type == JSON_ARRAY && av->count == 2);
        if (av && av->count == 2) {
            CHECK(strcmp(json_get_string(&av->items[0], "topic"),
                         "home/genred/bridge/b1/availability") == 0);
            CHECK(strcmp(json_get_string(&av->items[1], "topic"),
                         "home/genred/den/availability") == 0);
        }
        const json_value *dev = json_get(v, "device");
        CHECK(dev && strcmp(json_get_string(dev, "name"), "The den") == 0);
        const json_value *ids = dev ? json_get(dev, "identifiers") : NULL;
        CHECK(ids && ids->count == 1 && strcmp(ids->items[0].string, "genred_den") == 0);
        CHECK(strstr(json_get_string(v, "value_template"), "value_json.genre") != NULL);
        json_free(v);
    }
    genre_json_free(&j);
}

int main(void)
{
    defaults();
    every_key();
    errors();
    password_file();
    topics_and_payloads();
    return check_exit_status("test_mqtt_config");
}
