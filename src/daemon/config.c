/* genred.conf parsing and validation.
 *
 * inih (built without INI_HANDLER_LINENO on Debian) reports only the line
 * of the first error, not which error it was, so parsing runs in two
 * passes: the first with a handler that accepts everything finds syntax
 * errors, the second runs the real handler, which stops at its first
 * complaint and keeps its message; ini_parse_string's return value is then
 * that complaint's line.  A pre-scan catches what inih cannot report:
 * overlong lines (inih silently splits lines longer than INI_MAX_LINE),
 * NUL bytes and empty unknown sections (the handler never sees those). */
#include "genred/config.h"
#include "genred/decision.h"
#include "genred/protocol.h"

#include "genre/level.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "genre/file.h"
#include "genred/ini_value.h"
#include "genred/log.h"

/* sockaddr_un.sun_path is 108 bytes including the terminating NUL. */
#define SOCKET_PATH_MAX 107
/* inih reads a line into INI_MAX_LINE bytes including the newline and NUL. */
#define LINE_MAX_CHARS (INI_MAX_LINE - 2)

void genred_config_defaults(genred_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->audio.source = GENRED_SOURCE_DEVICE;
    snprintf(cfg->audio.device, sizeof cfg->audio.device, "default");
    cfg->audio.rate = 0;
    cfg->audio.channels = 0;
    cfg->audio.latency = 0.1;
    cfg->audio.loop = 0;
    cfg->inference.interval = 1.0;
    cfg->inference.smoothing = 3;
    cfg->inference.silence_dbfs = GENRE_SILENCE_DBFS;
    cfg->inference.threads = 1;
    snprintf(cfg->socket.path, sizeof cfg->socket.path, "%s", GENRED_SOCKET_DEFAULT);
    cfg->socket.mode = 0660;
    snprintf(cfg->socket.group, sizeof cfg->socket.group, "audio");
    cfg->socket.max_clients = 64;
    cfg->socket.max_line = 256;
    cfg->socket.max_queued = 262144;
    cfg->socket.idle_timeout = 60;
    cfg->log_level = GENRED_LOG_INFO;
}

/* ---- the key table ---------------------------------------------------------- */

enum key_id {
    K_AUDIO_SOURCE, K_AUDIO_DEVICE, K_AUDIO_RATE, K_AUDIO_CHANNELS, K_AUDIO_LATENCY,
    K_AUDIO_FILE, K_AUDIO_LOOP, K_MODEL_PATH, K_INF_INTERVAL, K_INF_SMOOTHING,
    K_INF_SILENCE, K_INF_THREADS, K_SOCK_PATH, K_SOCK_MODE, K_SOCK_GROUP,
    K_SOCK_MAX_CLIENTS, K_SOCK_MAX_LINE, K_SOCK_MAX_QUEUED, K_SOCK_IDLE_TIMEOUT, K_LOG_LEVEL,
    K_COUNT
};

static const struct {
    const char *section, *name;
} keys[K_COUNT] = {
    [K_AUDIO_SOURCE] = {"audio", "source"},     [K_AUDIO_DEVICE] = {"audio", "device"},
    [K_AUDIO_RATE] = {"audio", "rate"},         [K_AUDIO_CHANNELS] = {"audio", "channels"},
    [K_AUDIO_LATENCY] = {"audio", "latency"},   [K_AUDIO_FILE] = {"audio", "file"},
    [K_AUDIO_LOOP] = {"audio", "loop"},         [K_MODEL_PATH] = {"model", "path"},
    [K_INF_INTERVAL] = {"inference", "interval"},
    [K_INF_SMOOTHING] = {"inference", "smoothing"},
    [K_INF_SILENCE] = {"inference", "silence_dbfs"},
    [K_INF_THREADS] = {"inference", "threads"}, [K_SOCK_PATH] = {"socket", "path"},
    [K_SOCK_MODE] = {"socket", "mode"},         [K_SOCK_GROUP] = {"socket", "group"},
    [K_SOCK_MAX_CLIENTS] = {"socket", "max_clients"},
    [K_SOCK_MAX_LINE] = {"socket", "max_line"},
    [K_SOCK_MAX_QUEUED] = {"socket", "max_queued"},
    [K_SOCK_IDLE_TIMEOUT] = {"socket", "idle_timeout"},
    [K_LOG_LEVEL] = {"log", "level"},
};

static const char *const sections[] = {"audio", "model", "inference", "socket", "log"};

static int known_section(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
        if (strlen(sections[i]) == len && memcmp(sections[i], s, len) == 0)
            return 1;
    return 0;
}

typedef struct parse_ctx {
    genred_config *cfg;
    int seen[K_COUNT];
    char why[512];          /* the first complaint of the handler */
} parse_ctx;

static int set_value(genred_config *cfg, enum key_id k, const char *v, char *why, size_t n)
{
    double d;
    long l;
    switch (k) {
    case K_AUDIO_SOURCE:
        if (strcmp(v, "device") == 0)
            cfg->audio.source = GENRED_SOURCE_DEVICE;
        else if (strcmp(v, "file") == 0)
            cfg->audio.source = GENRED_SOURCE_FILE;
        else {
            snprintf(why, n, "'%s' is not a source (device or file)", v);
            return -1;
        }
        return 0;
    case K_AUDIO_DEVICE:
        return genred_ini_string(v, cfg->audio.device, sizeof cfg->audio.device, 0, why, n);
    case K_AUDIO_RATE:
        if (genred_ini_double(v, 0, 384000, &d, why, n))
            return -1;
        if (d != 0 && d < 8000) {
            snprintf(why, n, "%s Hz is too low (0 for the native rate, or 8000..384000)", v);
            return -1;
        }
        cfg->audio.rate = d;
        return 0;
    case K_AUDIO_CHANNELS:
        if (genred_ini_long(v, 0, 32, &l, why, n))
            return -1;
        cfg->audio.channels = (int)l;
        return 0;
    case K_AUDIO_LATENCY:
        if (genred_ini_double(v, 0.001, 2.0, &d, why, n))
            return -1;
        cfg->audio.latency = d;
        return 0;
    case K_AUDIO_FILE:
        /* Empty: no file (the default). */
        return genred_ini_string(v, cfg->audio.file, sizeof cfg->audio.file, 1, why, n);
    case K_AUDIO_LOOP:
        return genred_ini_bool(v, &cfg->audio.loop, why, n);
    case K_MODEL_PATH:
        /* Empty: the built-in default model. */
        return genred_ini_string(v, cfg->model_path, sizeof cfg->model_path, 1, why, n);
    case K_INF_INTERVAL:
        if (genred_ini_double(v, 0.05, 60, &d, why, n))
            return -1;
        cfg->inference.interval = d;
        return 0;
    case K_INF_SMOOTHING:
        if (genred_ini_long(v, 1, GENRED_SMOOTHING_MAX, &l, why, n))
            return -1;
        cfg->inference.smoothing = (int)l;
        return 0;
    case K_INF_SILENCE:
        if (genred_ini_double(v, -200, 0, &d, why, n))
            return -1;
        cfg->inference.silence_dbfs = d;
        return 0;
    case K_INF_THREADS:
        if (genred_ini_long(v, 1, 64, &l, why, n))
            return -1;
        cfg->inference.threads = (int)l;
        return 0;
    case K_SOCK_PATH:
        if (strlen(v) > SOCKET_PATH_MAX) {
            snprintf(why, n, "socket path too long (%zu bytes, at most %d)", strlen(v),
                     SOCKET_PATH_MAX);
            return -1;
        }
        return genred_ini_string(v, cfg->socket.path, sizeof cfg->socket.path, 0, why, n);
    case K_SOCK_MODE: {
        char *end;
        errno = 0;
        unsigned long m = strtoul(v, &end, 8);
        if (end == v || *end != '\0' || errno || m > 0777 || *v == '-' || *v == '+') {
            snprintf(why, n, "'%s' is not an octal permission mode (e.g. 0660)", v);
            return -1;
        }
        cfg->socket.mode = (unsigned)m;
        return 0;
    }
    case K_SOCK_GROUP:
        return genred_ini_string(v, cfg->socket.group, sizeof cfg->socket.group, 1, why, n);
    case K_SOCK_MAX_CLIENTS:
        if (genred_ini_long(v, 1, 100000, &l, why, n))
            return -1;
        cfg->socket.max_clients = (size_t)l;
        return 0;
    case K_SOCK_MAX_LINE:
        if (genred_ini_long(v, 16, 65536, &l, why, n))
            return -1;
        cfg->socket.max_line = (size_t)l;
        return 0;
    case K_SOCK_MAX_QUEUED:
        if (genred_ini_long(v, 4096, 1L << 30, &l, why, n))
            return -1;
        cfg->socket.max_queued = (size_t)l;
        return 0;
    case K_SOCK_IDLE_TIMEOUT:
        if (genred_ini_double(v, 0.1, 86400, &d, why, n))
            return -1;
        cfg->socket.idle_timeout = d;
        return 0;
    case K_LOG_LEVEL: {
        int level = genred_log_level_parse(v);
        if (level < 0) {
            snprintf(why, n, "'%s' is not a log level (error, warning, info, debug)", v);
            return -1;
        }
        cfg->log_level = level;
        return 0;
    }
    case K_COUNT:
        break;
    }
    snprintf(why, n, "internal error: unhandled key");
    return -1;
}

/* inih handler: 1 to go on, 0 to report an error on this line. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *ctx = user;
    if (ctx->why[0])
        return 0;   /* only the first complaint is reported */
    if (!section[0]) {
        snprintf(ctx->why, sizeof ctx->why, "'%s' outside of a [section]", name);
        return 0;
    }
    if (!known_section(section, strlen(section))) {
        snprintf(ctx->why, sizeof ctx->why, "unknown section [%s]", section);
        return 0;
    }
    for (int k = 0; k < K_COUNT; k++) {
        if (strcmp(keys[k].section, section) != 0 || strcmp(keys[k].name, name) != 0)
            continue;
        if (ctx->seen[k]) {
            snprintf(ctx->why, sizeof ctx->why, "[%s] %s given twice", section, name);
            return 0;
        }
        ctx->seen[k] = 1;
        char why[400];
        if (set_value(ctx->cfg, (enum key_id)k, value, why, sizeof why)) {
            snprintf(ctx->why, sizeof ctx->why, "[%s] %s: %s", section, name, why);
            return 0;
        }
        return 1;
    }
    snprintf(ctx->why, sizeof ctx->why, "unknown key '%s' in [%s]", name, section);
    return 0;
}

static int accept_all(void *user, const char *section, const char *name, const char *value)
{
    (void)user, (void)section, (void)name, (void)value;
    return 1;
}

/* Line-level checks inih cannot make (see the top of the file). */
static int prescan(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    size_t line = 1, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] == '\0') {
            genre_set_error(err, errlen, "%s:%zu: NUL byte in the file", name, line);
            return -1;
        }
        if (i < len && text[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && text[end - 1] == '\r')
            end--;
        if (end - start > LINE_MAX_CHARS) {
            genre_set_error(err, errlen, "%s:%zu: line too long (%zu characters, at most %d)",
                            name, line, end - start, LINE_MAX_CHARS);
            return -1;
        }
        size_t p = start;
        while (p < end && isspace((unsigned char)text[p]))
            p++;
        if (p < end && text[p] == '[') {
            const char *close = memchr(text + p, ']', end - p);
            if (close) {
                const char *s = text + p + 1;
                size_t slen = (size_t)(close - s);
                while (slen && isspace((unsigned char)*s))
                    s++, slen--;
                while (slen && isspace((unsigned char)s[slen - 1]))
                    slen--;
                if (!known_section(s, slen)) {
                    genre_set_error(err, errlen,
                                    "%s:%zu: unknown section [%.*s] (known: audio, model, "
                                    "inference, socket, log)",
                                    name, line, (int)(slen > 64 ? 64 : slen), s);
                    return -1;
                }
            }
        }
        start = i + 1;
        line++;
    }
    return 0;
}

int genred_config_parse_text(genred_config *cfg, const char *text, size_t len, const char *name,
                             char *err, size_t errlen)
{
    if (len > GENRED_CONFIG_FILE_MAX) {
        genre_set_error(err, errlen, "%s: too large for a config file (%zu bytes)", name, len);
        return -1;
    }
    if (prescan(text, len, name, err, errlen))
        return -1;
    /* ini_parse_string needs a NUL-terminated copy. */
    char *copy = malloc(len + 1);
    if (!copy) {
        genre_set_error(err, errlen, "%s: out of memory", name);
        return -1;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    int rc = -1;
    int line = ini_parse_string(copy, accept_all, NULL);
    if (line > 0) {
        genre_set_error(err, errlen,
                        "%s:%d: syntax error (expected '[section]', 'key = value' or a comment)",
                        name, line);
        goto out;
    }
    if (line < 0) {
        genre_set_error(err, errlen, "%s: cannot parse (inih error %d)", name, line);
        goto out;
    }
    parse_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        genre_set_error(err, errlen, "%s: out of memory", name);
        goto out;
    }
    ctx->cfg = cfg;
    line = ini_parse_string(copy, on_key, ctx);
    if (line != 0) {
        genre_set_error(err, errlen, "%s:%d: %s", name, line,
                        ctx->why[0] ? ctx->why : "cannot parse");
    } else if (genred_config_validate(cfg, err, errlen) == 0) {
        rc = 0;
    } else {
        /* Prefix the cross-key complaint with the file name. */
        char why[512];
        snprintf(why, sizeof why, "%s", err ? err : "");
        genre_set_error(err, errlen, "%s: %s", name, why);
    }
    free(ctx);
out:
    free(copy);
    return rc;
}

int genred_config_load(genred_config *cfg, const char *path, char *err, size_t errlen)
{
    /* Read without blocking: a FIFO or device named as the config file is
     * refused instead of stalling the main loop on a reload. */
    char why[512];
    size_t len;
    char *text = genre_file_read_regular(path, GENRED_CONFIG_FILE_MAX, &len, why, sizeof why);
    if (!text) {
        genre_set_error(err, errlen, "cannot open config file %s", why);
        return -1;
    }
    int rc = genred_config_parse_text(cfg, text, len, path, err, errlen);
    free(text);
    return rc;
}

int genred_config_validate(const genred_config *cfg, char *err, size_t errlen)
{
    if (cfg->audio.source == GENRED_SOURCE_FILE && !cfg->audio.file[0]) {
        genre_set_error(err, errlen, "[audio] source = file needs file = PATH");
        return -1;
    }
    if (!cfg->socket.path[0]) {
        genre_set_error(err, errlen, "[socket] path must not be empty");
        return -1;
    }
    if (strlen(cfg->socket.path) > SOCKET_PATH_MAX) {
        genre_set_error(err, errlen, "socket path too long (%zu bytes, at most %d)",
                        strlen(cfg->socket.path), SOCKET_PATH_MAX);
        return -1;
    }
    if (cfg->socket.max_queued < cfg->socket.max_line) {
        genre_set_error(err, errlen, "[socket] max_queued (%zu) is smaller than max_line (%zu)",
                        cfg->socket.max_queued, cfg->socket.max_line);
        return -1;
    }
    return 0;
}

int genred_config_audio_differs(const genred_audio_config *a, const genred_audio_config *b)
{
    if (a->source != b->source)
        return 1;
    if (a->source == GENRED_SOURCE_FILE)
        return strcmp(a->file, b->file) != 0 || a->loop != b->loop;
    return strcmp(a->device, b->device) != 0 || a->rate != b->rate ||
           a->channels != b->channels || a->latency != b->latency;
}
