/* genred-mqtt.conf parsing (bridge_config.h).  inih calls the handler per
 * key; it stops at the first complaint and keeps it, and the message names
 * the line inih reports.  Values are checked by the same parsers as
 * genred.conf (genred/ini_value.h). */
#include "bridge_config.h"

#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "genre/error.h"
#include "genre/file.h"
#include "genred/ini_value.h"
#include "genred/log.h"
#include "genred/protocol.h"

#define LISTENER_PREFIX "listener "
#define PORT_PLAIN 1883
#define PORT_TLS 8883

/* Copy s into out[cap] keeping only characters allowed in a device id,
 * others turned into '-' (host names may hold dots). */
static void sanitize_id(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        out[n++] = ok ? c : '-';
    }
    out[n] = '\0';
}

static void host_id(char *out, size_t cap)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "genred");
    host[sizeof host - 1] = '\0';
    sanitize_id(host, out, cap);
}

void bridge_config_defaults(bridge_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->host, sizeof cfg->host, "localhost");
    char id[BRIDGE_ID_MAX + 1];
    host_id(id, sizeof id);
    snprintf(cfg->client_id, sizeof cfg->client_id, "genred-mqtt-%s", id);
    cfg->keepalive = 30;
    cfg->qos = 1;
    snprintf(cfg->topic_prefix, sizeof cfg->topic_prefix, "genred");
    cfg->discovery = 1;
    snprintf(cfg->discovery_prefix, sizeof cfg->discovery_prefix, "homeassistant");
    cfg->heartbeat = 60;
    cfg->log_level = GENRED_LOG_INFO;
}

/* A device id: the topic level and Home Assistant object id. */
static int check_id(const char *id, char *why, size_t n)
{
    size_t len = strlen(id);
    if (len == 0 || len > BRIDGE_ID_MAX) {
        snprintf(why, n, "a device id needs 1..%d characters", BRIDGE_ID_MAX);
        return -1;
    }
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            snprintf(why, n, "device id '%s': only letters, digits, '-' and '_' are allowed", id);
            return -1;
        }
    }
    /* <prefix>/bridge/... is the bridge's own availability topic. */
    if (strcmp(id, "bridge") == 0) {
        snprintf(why, n, "device id 'bridge' is reserved for the bridge's own topics");
        return -1;
    }
    return 0;
}

/* A topic prefix: one or more topic levels, no wildcards, no empty level. */
static int check_topic_prefix(const char *v, char *why, size_t n)
{
    if (!v[0] || v[0] == '/' || v[strlen(v) - 1] == '/' || strstr(v, "//") ||
        strpbrk(v, "+#")) {
        snprintf(why, n, "'%s' is not a topic prefix (levels separated by '/', no '+', '#' "
                 "or empty level)", v);
        return -1;
    }
    return 0;
}

typedef struct parse_ctx {
    bridge_config *cfg;
    char why[512];
} parse_ctx;

static int set_mqtt_key(bridge_config *c, const char *k, const char *v, char *why, size_t n)
{
    long l;
    if (strcmp(k, "host") == 0)
        return genred_ini_string(v, c->host, sizeof c->host, 0, why, n);
    if (strcmp(k, "port") == 0) {
        if (genred_ini_long(v, 1, 65535, &l, why, n))
            return -1;
        c->port = (int)l;
        return 0;
    }
    if (strcmp(k, "client_id") == 0) {
        if (genred_ini_string(v, c->client_id, sizeof c->client_id, 0, why, n))
            return -1;
        /* It is also a level of the bridge's availability topic. */
        if (strpbrk(v, "/+#")) {
            snprintf(why, n, "'%s' may not contain '/', '+' or '#'", v);
            return -1;
        }
        return 0;
    }
    if (strcmp(k, "username") == 0)
        return genred_ini_string(v, c->username, sizeof c->username, 1, why, n);
    if (strcmp(k, "password_file") == 0)
        return genred_ini_string(v, c->password_file, sizeof c->password_file, 1, why, n);
    if (strcmp(k, "ca_file") == 0)
        return genred_ini_string(v, c->ca_file, sizeof c->ca_file, 1, why, n);
    if (strcmp(k, "cert_file") == 0)
        return genred_ini_string(v, c->cert_file, sizeof c->cert_file, 1, why, n);
    if (strcmp(k, "key_file") == 0)
        return genred_ini_string(v, c->key_file, sizeof c->key_file, 1, why, n);
    if (strcmp(k, "keepalive") == 0) {
        if (genred_ini_long(v, 5, 3600, &l, why, n))
            return -1;
        c->keepalive = (int)l;
        return 0;
    }
    if (strcmp(k, "qos") == 0) {
        if (genred_ini_long(v, 0, 2, &l, why, n))
            return -1;
        c->qos = (int)l;
        return 0;
    }
    if (strcmp(k, "topic_prefix") == 0)
        return genred_ini_string(v, c->topic_prefix, sizeof c->topic_prefix, 0, why, n) ||
               check_topic_prefix(c->topic_prefix, why, n);
    if (strcmp(k, "discovery") == 0)
        return genred_ini_bool(v, &c->discovery, why, n);
    if (strcmp(k, "discovery_prefix") == 0)
        return genred_ini_string(v, c->discovery_prefix, sizeof c->discovery_prefix, 0, why,
                                 n) ||
               check_topic_prefix(c->discovery_prefix, why, n);
    if (strcmp(k, "heartbeat") == 0)
        return genred_ini_double(v, 0, 86400, &c->heartbeat, why, n);
    if (strcmp(k, "log_level") == 0) {
        int level = genred_log_level_parse(v);
        if (level < 0) {
            snprintf(why, n, "'%s' is not a log level (error, warning, info, debug)", v);
            return -1;
        }
        c->log_level = level;
        return 0;
    }
    snprintf(why, n, "unknown key '%s' in [mqtt]", k);
    return -1;
}

static int set_listener_key(bridge_listener_config *l, const char *k, const char *v, char *why,
                            size_t n)
{
    if (strcmp(k, "socket") == 0)
        return genred_ini_string(v, l->socket, sizeof l->socket, 0, why, n);
    if (strcmp(k, "name") == 0)
        return genred_ini_string(v, l->name, sizeof l->name, 0, why, n);
    snprintf(why, n, "unknown key '%s' in [listener %s]", k, l->id);
    return -1;
}

static const char *section_id(const char *section)
{
    const char *id = section + strlen(LISTENER_PREFIX);
    while (*id == ' ')
        id++;
    return id;
}

static bridge_listener_config *find_listener(bridge_config *c, const char *id)
{
    for (size_t i = 0; i < c->n_listeners; i++)
        if (strcmp(c->listeners[i].id, id) == 0)
            return &c->listeners[i];
    return NULL;
}

/* A new listener for the section header [section]. */
static int add_listener(bridge_config *c, const char *section, char *why, size_t n)
{
    const char *id = section_id(section);
    char reason[300];
    if (check_id(id, reason, sizeof reason)) {
        snprintf(why, n, "%s", reason);
        return -1;
    }
    if (find_listener(c, id)) {
        snprintf(why, n, "[listener %s] given twice", id);
        return -1;
    }
    if (c->n_listeners == BRIDGE_LISTENERS_MAX) {
        snprintf(why, n, "too many listeners (at most %d)", BRIDGE_LISTENERS_MAX);
        return -1;
    }
    bridge_listener_config *l = &c->listeners[c->n_listeners++];
    memset(l, 0, sizeof *l);
    memcpy(l->id, id, strlen(id) + 1);     /* check_id bounded its length */
    snprintf(l->socket, sizeof l->socket, "%s", GENRED_SOCKET_DEFAULT);
    return 0;
}

/* inih never shows the handler a section without keys, so the section
 * headers are read here first: every [listener ID] exists (with its
 * defaults) even when empty, and unknown sections are named with their
 * line.  Returns the failing line, or 0. */
static int read_sections(bridge_config *c, const char *text, char *why, size_t n)
{
    int line = 1;
    for (const char *p = text; *p; line++) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (s < p + len && (*s == ' ' || *s == '\t'))
            s++;
        const char *close = s < p + len && *s == '[' ? memchr(s, ']', (size_t)(p + len - s))
                                                     : NULL;
        if (close) {
            char section[BRIDGE_NAME_MAX + 16];
            const char *a = s + 1, *b = close;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            snprintf(section, sizeof section, "%.*s", (int)(b - a), a);
            if (strcmp(section, "listener") == 0) {
                snprintf(why, n, "[listener] needs a device id: [listener ID]");
                return line;
            } else if (strncmp(section, LISTENER_PREFIX, strlen(LISTENER_PREFIX)) == 0) {
                if (add_listener(c, section, why, n))
                    return line;
            } else if (strcmp(section, "mqtt") != 0) {
                snprintf(why, n, "unknown section [%s] (known: mqtt, listener ID)", section);
                return line;
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *ctx = user;
    if (ctx->why[0])
        return 0;
    char why[400] = "";
    if (strcmp(section, "mqtt") == 0) {
        if (set_mqtt_key(ctx->cfg, name, value, why, sizeof why) == 0)
            return 1;
        if (strncmp(why, "unknown key", 11) == 0)
            snprintf(ctx->why, sizeof ctx->why, "%s", why);
        else
            snprintf(ctx->why, sizeof ctx->why, "[mqtt] %s: %s", name, why);
        return 0;
    }
    if (strncmp(section, LISTENER_PREFIX, strlen(LISTENER_PREFIX)) == 0) {
        bridge_listener_config *l = find_listener(ctx->cfg, section_id(section));
        if (!l) {
            snprintf(ctx->why, sizeof ctx->why, "[%s]: not a listener section", section);
            return 0;
        }
        if (set_listener_key(l, name, value, why, sizeof why) == 0)
            return 1;
        if (strncmp(why, "unknown key", 11) == 0)
            snprintf(ctx->why, sizeof ctx->why, "%s", why);
        else
            snprintf(ctx->why, sizeof ctx->why, "[listener %s] %s: %s", l->id, name, why);
        return 0;
    }
    if (!section[0])
        snprintf(ctx->why, sizeof ctx->why, "'%s' outside of a [section]", name);
    else
        snprintf(ctx->why, sizeof ctx->why, "unknown section [%s] (known: mqtt, listener ID)",
                 section);
    return 0;
}

/* What the file leaves to be derived: names, the TLS port, the default
 * listener; then the checks that span keys. */
static int complete(bridge_config *c, char *why, size_t n)
{
    if (c->n_listeners == 0) {
        bridge_listener_config *l = &c->listeners[c->n_listeners++];
        host_id(l->id, sizeof l->id);
        if (check_id(l->id, why, n))
            snprintf(l->id, sizeof l->id, "genred");
        snprintf(l->socket, sizeof l->socket, "%s", GENRED_SOCKET_DEFAULT);
    }
    for (size_t i = 0; i < c->n_listeners; i++)
        if (!c->listeners[i].name[0])
            snprintf(c->listeners[i].name, sizeof c->listeners[i].name, "%s",
                     c->listeners[i].id);
    if (!c->port)
        c->port = c->ca_file[0] ? PORT_TLS : PORT_PLAIN;
    if (!c->ca_file[0] && (c->cert_file[0] || c->key_file[0])) {
        snprintf(why, n, "[mqtt] cert_file and key_file need ca_file (TLS)");
        return -1;
    }
    if (!c->cert_file[0] != !c->key_file[0]) {
        snprintf(why, n, "[mqtt] cert_file and key_file go together");
        return -1;
    }
    if (c->password_file[0] && !c->username[0]) {
        snprintf(why, n, "[mqtt] password_file needs username");
        return -1;
    }
    return 0;
}

int bridge_config_parse_text(bridge_config *cfg, const char *text, size_t len, const char *name,
                             char *err, size_t errlen)
{
    if (len > BRIDGE_CONFIG_FILE_MAX) {
        genre_set_error(err, errlen, "%s: too large for a config file (%zu bytes)", name, len);
        return -1;
    }
    if (memchr(text, '\0', len)) {
        genre_set_error(err, errlen, "%s: NUL byte in the file", name);
        return -1;
    }
    char *copy = malloc(len + 1);
    parse_ctx *ctx = calloc(1, sizeof *ctx);
    if (!copy || !ctx) {
        free(copy);
        free(ctx);
        genre_set_error(err, errlen, "%s: out of memory", name);
        return -1;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    ctx->cfg = cfg;
    int rc = -1;
    char why[512];
    int line = read_sections(cfg, copy, ctx->why, sizeof ctx->why);
    if (line == 0)
        line = ini_parse_string(copy, on_key, ctx);
    if (line > 0)
        genre_set_error(err, errlen, "%s:%d: %s", name, line,
                        ctx->why[0] ? ctx->why
                                    : "syntax error (expected '[section]', 'key = value' or a "
                                      "comment)");
    else if (line < 0)
        genre_set_error(err, errlen, "%s: cannot parse (inih error %d)", name, line);
    else if (complete(cfg, why, sizeof why))
        genre_set_error(err, errlen, "%s: %s", name, why);
    else
        rc = 0;
    free(ctx);
    free(copy);
    return rc;
}

int bridge_config_load(bridge_config *cfg, const char *path, char *err, size_t errlen)
{
    char why[512];
    size_t len;
    char *text = genre_file_read_regular(path, BRIDGE_CONFIG_FILE_MAX, &len, why, sizeof why);
    if (!text) {
        genre_set_error(err, errlen, "cannot open config file %s", why);
        return -1;
    }
    int rc = bridge_config_parse_text(cfg, text, len, path, err, errlen);
    free(text);
    return rc;
}

int bridge_config_read_password(const bridge_config *cfg, char *out, size_t cap, char *err,
                                size_t errlen)
{
    char why[512];
    size_t len;
    char *text = genre_file_read_regular(cfg->password_file, 64 * 1024, &len, why, sizeof why);
    if (!text) {
        genre_set_error(err, errlen, "cannot read password_file %s", why);
        return -1;
    }
    size_t n = strcspn(text, "\r\n");
    int rc = -1;
    if (n == 0)
        genre_set_error(err, errlen, "password_file %s: the first line is empty",
                        cfg->password_file);
    else if (n >= cap)
        genre_set_error(err, errlen, "password_file %s: the password is too long (at most %zu "
                        "bytes)", cfg->password_file, cap - 1);
    else {
        memcpy(out, text, n);
        out[n] = '\0';
        rc = 0;
    }
    memset(text, 0, len);
    free(text);
    return rc;
}
