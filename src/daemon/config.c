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


#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "genre/file.h"
#include "genred/ini_value.h"
#include "genred/log.h"

/* inih reads a line into INI_MAX_LINE bytes including the newline and NUL. */
#define LINE_MAX_CHARS (INI_MAX_LINE - 2)

/* ---- the key table ----------------------------------------------------------
 * One row per key: where it lives, what it takes, its default (as it would be
 * written in the file) and a line of help.  Parsing, the defaults and the
 * test that conf/genred.conf and genred.conf(5) agree all follow from it. */

#define FIELD(member) offsetof(genred_config, member), sizeof(((genred_config *)0)->member)

const genred_config_key genred_config_keys[] = {
    {"audio", "source", GENRED_CONFIG_CHOICE, FIELD(audio.source), 0, 0, "device",
     "source", "device|file|pulse",
     "live capture (PortAudio), a file played in real time, or PulseAudio capture"},
    {"audio", "device", GENRED_CONFIG_TEXT, FIELD(audio.device), 1, 0, "default",
     "device", NULL, "capture device: default, an index or a name (pulse: a source name)"},
    {"audio", "rate", GENRED_CONFIG_NUMBER_OR_ZERO, FIELD(audio.rate), 8000, 384000, "0",
     "rate", NULL, "sample rate in Hz; 0 = the device's native rate"},
    {"audio", "channels", GENRED_CONFIG_INTEGER, FIELD(audio.channels), 0, 32, "0",
     "channel count", NULL, "channels to capture; 0 = the device's own, at most 2"},
    {"audio", "latency", GENRED_CONFIG_NUMBER_OR_ZERO, FIELD(audio.latency), 0.001,
     GENRED_LATENCY_MAX, "0", "latency", NULL,
     "capture latency, seconds; 0 = automatic (pulse, file: the interval; device: 0.1)"},
    {"audio", "file", GENRED_CONFIG_TEXT, FIELD(audio.file), 0, 0, "",
     "file", NULL, "for source = file: the audio file"},
    {"audio", "loop", GENRED_CONFIG_BOOL, FIELD(audio.loop), 0, 0, "no",
     "loop", NULL, "for source = file: start again at the end"},
    {"model", "path", GENRED_CONFIG_TEXT, FIELD(model_path), 0, 0, "",
     "model path", NULL, "the model file; empty = the installed default model"},
    {"inference", "interval", GENRED_CONFIG_NUMBER, FIELD(inference.interval), 0.05, 60, "1.0",
     "interval", NULL, "seconds between results"},
    {"inference", "smoothing", GENRED_CONFIG_INTEGER, FIELD(inference.smoothing), 1,
     GENRED_SMOOTHING_MAX, "3", "smoothing", NULL, "mean of the last N network outputs"},
    {"inference", "silence_dbfs", GENRED_CONFIG_NUMBER, FIELD(inference.silence_dbfs), -200, 0,
     "-60", "level", NULL, "below this window level, state silence"},
    {"inference", "threads", GENRED_CONFIG_INTEGER, FIELD(inference.threads), 1, 64, "1",
     "thread count", NULL, "threads sharing each run of the network"},
    {"socket", "path", GENRED_CONFIG_TEXT, FIELD(socket.path), 1, GENRED_SOCKET_PATH_MAX,
     GENRED_SOCKET_DEFAULT, "socket path", NULL, "the UNIX socket clients connect to"},
    {"socket", "mode", GENRED_CONFIG_MODE, FIELD(socket.mode), 0, 0777, "0660",
     "mode", NULL, "permissions of the socket (octal)"},
    {"socket", "group", GENRED_CONFIG_TEXT, FIELD(socket.group), 0, 0, "audio",
     "group", NULL, "group of the socket; empty = as created"},
    {"socket", "max_clients", GENRED_CONFIG_INTEGER, FIELD(socket.max_clients), 1, 100000, "64",
     "client limit", NULL, "connections beyond this are refused"},
    {"socket", "max_line", GENRED_CONFIG_INTEGER, FIELD(socket.max_line), 16, 65536, "256",
     "line limit", NULL, "longest request line, bytes"},
    {"socket", "max_queued", GENRED_CONFIG_INTEGER, FIELD(socket.max_queued), 4096, 1L << 30,
     "262144", "queue limit", NULL, "unsent output per client before it is dropped, bytes"},
    {"socket", "idle_timeout", GENRED_CONFIG_NUMBER, FIELD(socket.idle_timeout), 0.1, 86400,
     "60", "timeout", NULL, "seconds an idle client that is not watching may stay"},
    {"log", "level", GENRED_CONFIG_CHOICE, FIELD(log_level), 0, 0, "info",
     "log level", "error|warning|info|debug", "what is logged"},
};

const size_t genred_config_key_count = sizeof genred_config_keys / sizeof genred_config_keys[0];

#define K_COUNT (sizeof genred_config_keys / sizeof genred_config_keys[0])

/* The position of word among choices ("a|b|c"), or -1. */
static int choice_index(const char *choices, const char *word)
{
    size_t len = strlen(word);
    int i = 0;
    for (const char *p = choices;; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && memcmp(p, word, n) == 0)
            return i;
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

static void store_integer(void *field, size_t size, long v)
{
    if (size == sizeof(size_t))
        *(size_t *)field = (size_t)v;
    else
        *(int *)field = (int)v;
}

/* Parse v as key k's value into cfg.  0, or -1 with why (to follow
 * "[section] key: "). */
static int set_value(genred_config *cfg, const genred_config_key *k, const char *v, char *why,
                     size_t n)
{
    void *field = (char *)cfg + k->offset;
    double d;
    long l;
    switch (k->type) {
    case GENRED_CONFIG_TEXT:
        if (k->max > 0 && strlen(v) > (size_t)k->max) {
            snprintf(why, n, "%s too long (%zu bytes, at most %.0f)", k->what, strlen(v), k->max);
            return -1;
        }
        return genred_ini_string(v, field, k->size, k->min == 0, why, n);
    case GENRED_CONFIG_NUMBER:
        if (genred_ini_double(v, k->min, k->max, &d, why, n))
            return -1;
        *(double *)field = d;
        return 0;
    case GENRED_CONFIG_NUMBER_OR_ZERO:
        if (genred_ini_double(v, 0, k->max, &d, why, n))
            return -1;
        if (d != 0 && d < k->min) {
            snprintf(why, n, "%s is too low (0, or %g..%g)", v, k->min, k->max);
            return -1;
        }
        *(double *)field = d;
        return 0;
    case GENRED_CONFIG_INTEGER:
        if (genred_ini_long(v, (long)k->min, (long)k->max, &l, why, n))
            return -1;
        store_integer(field, k->size, l);
        return 0;
    case GENRED_CONFIG_BOOL:
        return genred_ini_bool(v, field, why, n);
    case GENRED_CONFIG_CHOICE: {
        int i = choice_index(k->choices, v);
        if (i < 0) {
            snprintf(why, n, "'%s' is not a %s (%s)", v, k->what, k->choices);
            return -1;
        }
        *(int *)field = i;
        return 0;
    }
    case GENRED_CONFIG_MODE: {
        char *end;
        errno = 0;
        unsigned long m = strtoul(v, &end, 8);
        if (end == v || *end != '\0' || errno || m > (unsigned long)k->max || *v == '-' ||
            *v == '+') {
            snprintf(why, n, "'%s' is not an octal permission mode (e.g. 0660)", v);
            return -1;
        }
        *(unsigned *)field = (unsigned)m;
        return 0;
    }
    }
    snprintf(why, n, "internal error: unhandled key type");
    return -1;
}

void genred_config_defaults(genred_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    /* Every default is a value of the table; test_config checks
     * each one parses, so this cannot fail. */
    char why[256];
    for (size_t k = 0; k < K_COUNT; k++)
        (void)set_value(cfg, &genred_config_keys[k], genred_config_keys[k].fallback, why,
                        sizeof why);
}

static int known_section(const char *s, size_t len)
{
    for (size_t k = 0; k < K_COUNT; k++) {
        const char *section = genred_config_keys[k].section;
        if (strlen(section) == len && memcmp(section, s, len) == 0)
            return 1;
    }
    return 0;
}

/* "audio, model, ..." in the table's order. */
static void section_list(char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t k = 0; k < K_COUNT; k++) {
        const char *section = genred_config_keys[k].section;
        if (k > 0 && strcmp(section, genred_config_keys[k - 1].section) == 0)
            continue;
        int n = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", section);
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
}

typedef struct parse_ctx {
    genred_config *cfg;
    int seen[K_COUNT];
    char why[512];          /* the first complaint of the handler */
} parse_ctx;

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
    for (size_t k = 0; k < K_COUNT; k++) {
        const genred_config_key *key = &genred_config_keys[k];
        if (strcmp(key->section, section) != 0 || strcmp(key->name, name) != 0)
            continue;
        if (ctx->seen[k]) {
            snprintf(ctx->why, sizeof ctx->why, "[%s] %s given twice", section, name);
            return 0;
        }
        ctx->seen[k] = 1;
        char why[400];
        if (set_value(ctx->cfg, key, value, why, sizeof why)) {
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
                    char known[128];
                    section_list(known, sizeof known);
                    genre_set_error(err, errlen, "%s:%zu: unknown section [%.*s] (known: %s)",
                                    name, line, (int)(slen > 64 ? 64 : slen), s, known);
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
    if (strlen(cfg->socket.path) > GENRED_SOCKET_PATH_MAX) {
        genre_set_error(err, errlen, "socket path too long (%zu bytes, at most %d)",
                        strlen(cfg->socket.path), GENRED_SOCKET_PATH_MAX);
        return -1;
    }
    if (cfg->socket.max_queued < cfg->socket.max_line) {
        genre_set_error(err, errlen, "[socket] max_queued (%zu) is smaller than max_line (%zu)",
                        cfg->socket.max_queued, cfg->socket.max_line);
        return -1;
    }
    return 0;
}

double genred_config_latency(const genred_audio_config *a, double interval)
{
    if (a->latency > 0)
        return a->latency;
    /* PulseAudio and the file source say when audio arrives and results
     * wait for it, so audio in blocks of one interval costs no result
     * latency and wakes genred once per result.  A PortAudio source is
     * drained on a timer; its blocks stay short. */
    if (a->source == GENRED_SOURCE_DEVICE)
        return GENRED_LATENCY_DEVICE;
    return interval < GENRED_LATENCY_MAX ? interval : GENRED_LATENCY_MAX;
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
