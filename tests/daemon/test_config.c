/* genred.conf parsing: defaults, every key, and the error messages (each
 * must name file:line and say what is wrong). */
#include "genred/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "genre/level.h"
#include "genred/log.h"
#include "genred/protocol.h"

#include "check.h"

static int parse(genred_config *cfg, const char *text, char *err, size_t errlen)
{
    genred_config_defaults(cfg);
    err[0] = '\0';
    return genred_config_parse_text(cfg, text, strlen(text), "t.conf", err, errlen);
}

/* Parsing text must fail with a message containing every fragment. */
static void refuses(const char *text, const char *frag1, const char *frag2)
{
    genred_config cfg;
    char err[512];
    int rc = parse(&cfg, text, err, sizeof err);
    CHECK_MSG(rc == -1 && strstr(err, frag1) && (!frag2 || strstr(err, frag2)),
              "config text:\n%s\n-> rc %d, message '%s'; wanted '%s'%s%s", text, rc, err, frag1,
              frag2 ? " and " : "", frag2 ? frag2 : "");
}

static void defaults(void)
{
    genred_config c;
    genred_config_defaults(&c);
    CHECK(c.audio.source == GENRED_SOURCE_DEVICE);
    CHECK(strcmp(c.audio.device, "default") == 0);
    CHECK(c.audio.rate == 0 && c.audio.channels == 0);
    CHECK(c.audio.latency == 0);    /* automatic */
    CHECK(c.inference.interval == 1.0 && c.inference.smoothing == 3);
    CHECK(c.inference.silence_dbfs == -60 && c.inference.threads == 1);
    CHECK(strcmp(c.socket.path, "/run/genred/genred.sock") == 0);
    CHECK(c.socket.mode == 0660 && strcmp(c.socket.group, "audio") == 0);
    CHECK(c.socket.max_clients == 64 && c.socket.max_line == 256);
    CHECK(c.socket.max_queued == 262144 && c.socket.idle_timeout == 60);
    CHECK(c.log_level == GENRED_LOG_INFO);
    char err[256];
    CHECK(genred_config_validate(&c, err, sizeof err) == 0);
    /* An empty file and a comment-only file give the defaults. */
    genred_config d;
    CHECK(parse(&d, "", err, sizeof err) == 0);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
    CHECK(parse(&d, "# nothing\n; here\n\n", err, sizeof err) == 0);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
}

static void every_key(void)
{
    const char *text =
        "# a full file\r\n"
        "[audio]\n"
        "source = file\n"
        "device = USB Audio\n"
        "rate = 48000\n"
        "channels = 2\n"
        "latency = 0.25\n"
        "file = /srv/music/demo.flac\n"
        "loop = yes\n"
        "[model]\n"
        "path = /opt/m.gmdl ; inline comment\n"
        "[inference]\n"
        "interval = 0.5\n"
        "smoothing = 5\n"
        "silence_dbfs = -48.5\n"
        "threads = 2\n"
        "[socket]\n"
        "path = /tmp/g.sock\n"
        "mode = 0600\n"
        "group =\n"
        "max_clients = 10\n"
        "max_line = 512\n"
        "max_queued = 65536\n"
        "idle_timeout = 2.5\n"
        "[log]\n"
        "level = debug\n";
    genred_config c;
    char err[512];
    CHECK(parse(&c, text, err, sizeof err) == 0);
    if (err[0])
        fprintf(stderr, "unexpected error: %s\n", err);
    CHECK(c.audio.source == GENRED_SOURCE_FILE);
    CHECK(strcmp(c.audio.device, "USB Audio") == 0);
    CHECK(c.audio.rate == 48000 && c.audio.channels == 2 && c.audio.latency == 0.25);
    CHECK(strcmp(c.audio.file, "/srv/music/demo.flac") == 0 && c.audio.loop == 1);
    CHECK(strcmp(c.model_path, "/opt/m.gmdl") == 0);
    CHECK(c.inference.interval == 0.5 && c.inference.smoothing == 5);
    CHECK(c.inference.silence_dbfs == -48.5 && c.inference.threads == 2);
    CHECK(strcmp(c.socket.path, "/tmp/g.sock") == 0 && c.socket.mode == 0600);
    CHECK(c.socket.group[0] == '\0');
    CHECK(c.socket.max_clients == 10 && c.socket.max_line == 512);
    CHECK(c.socket.max_queued == 65536 && c.socket.idle_timeout == 2.5);
    CHECK(c.log_level == GENRED_LOG_DEBUG);
    /* Booleans in their other spellings. */
    CHECK(parse(&c, "[audio]\nloop = off\n", err, sizeof err) == 0 && c.audio.loop == 0);
    CHECK(parse(&c, "[audio]\nloop = TRUE\n", err, sizeof err) == -1);
    CHECK(parse(&c, "[audio]\nloop = 1\n", err, sizeof err) == 0 && c.audio.loop == 1);
}

static void errors(void)
{
    refuses("[audio]\nsource = device\nbogus = 1\n", "t.conf:3:", "unknown key 'bogus' in [audio]");
    refuses("[audio]\n[speakers]\nx = 1\n", "t.conf:2:", "unknown section [speakers]");
    refuses("[nothing]\n", "t.conf:1:", "unknown section [nothing]");
    refuses("rate = 44100\n", "t.conf:1:", "outside of a [section]");
    refuses("[audio]\nthis is not a key\n", "t.conf:2:", "syntax error");
    refuses("[audio\n", "t.conf:1:", "syntax error");
    refuses("[audio]\nrate = 44100\nrate = 48000\n", "t.conf:3:", "given twice");
    refuses("[audio]\nsource = microphone\n", "t.conf:2:", "not a source");
    refuses("[audio]\nrate = fast\n", "t.conf:2:", "not a number");
    refuses("[audio]\nrate = 4000\n", "t.conf:2:", "too low");
    refuses("[audio]\nrate = 1e9\n", "t.conf:2:", "out of range");
    refuses("[audio]\nrate = nan\n", "t.conf:2:", "not a number");
    refuses("[audio]\nchannels = 2.5\n", "t.conf:2:", "not a whole number");
    refuses("[audio]\nchannels = 33\n", "t.conf:2:", "out of range");
    refuses("[audio]\nlatency = 0.0001\n", "t.conf:2:", "too low");
    refuses("[audio]\nlatency = 3\n", "t.conf:2:", "out of range");
    refuses("[audio]\ndevice =\n", "t.conf:2:", "empty value");
    refuses("[socket]\npath =\n", "t.conf:2:", "empty value");
    refuses("[audio]\nloop = maybe\n", "t.conf:2:", "not yes/no");
    refuses("\n\n[inference]\ninterval = 0.01\n", "t.conf:4:", "out of range (0.05..60)");
    refuses("[inference]\ninterval = 61\n", "t.conf:2:", "out of range");
    refuses("[inference]\nsmoothing = 0\n", "t.conf:2:", "out of range (1..60)");
    refuses("[inference]\nsilence_dbfs = 3\n", "t.conf:2:", "out of range");
    refuses("[inference]\nthreads = 0\n", "t.conf:2:", "out of range");
    refuses("[socket]\nmode = 0668\n", "t.conf:2:", "octal");
    refuses("[socket]\nmode = 01777\n", "t.conf:2:", "octal");
    refuses("[socket]\nmax_clients = 0\n", "t.conf:2:", "out of range");
    refuses("[socket]\nmax_line = 8\n", "t.conf:2:", "out of range");
    refuses("[socket]\nidle_timeout = 0\n", "t.conf:2:", "out of range");
    refuses("[socket]\npath = /tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
            "t.conf:2:", "socket path too long");
    refuses("[log]\nlevel = verbose\n", "t.conf:2:", "not a log level");
    /* Cross-key checks name the file too. */
    refuses("[audio]\nsource = file\n", "t.conf:", "needs file = PATH");
    refuses("[socket]\nmax_line = 8192\nmax_queued = 4096\n", "t.conf:", "smaller than max_line");
    /* Lines inih would silently split, and NUL bytes. */
    char longline[400];
    snprintf(longline, sizeof longline, "[model]\npath = /%0250d\n", 7);
    refuses(longline, "t.conf:2:", "line too long");
    genred_config c;
    char err[256];
    genred_config_defaults(&c);
    CHECK(genred_config_parse_text(&c, "[audio]\n\0x = 1\n", 14, "t.conf", err, sizeof err) == -1);
    CHECK(strstr(err, "t.conf:2:") && strstr(err, "NUL"));
    /* The first error is the one reported. */
    refuses("[audio]\nrate = x\nchannels = y\n", "t.conf:2:", "rate");
    refuses("[audio]\nbad line\nrate = x\n", "t.conf:2:", "syntax error");
}

static void files(void)
{
    genred_config c;
    char err[512];
    genred_config_defaults(&c);
    CHECK(genred_config_load(&c, "/nonexistent/genred.conf", err, sizeof err) == -1);
    CHECK(strstr(err, "cannot open config file /nonexistent/genred.conf") != NULL);
    CHECK(genred_config_load(&c, "/", err, sizeof err) == -1);
    CHECK(strstr(err, "not a regular file") != NULL);
    /* Neither a FIFO (open(2) would wait for a writer for ever) nor a
     * device is read (issue 14, defect 6); alarm() turns a hang into a
     * failure. */
    char fifo[] = "/tmp/genred-test-fifo-XXXXXX";
    int tmp = mkstemp(fifo);
    CHECK(tmp >= 0);
    if (tmp >= 0) {
        close(tmp);
        remove(fifo);
        CHECK(mkfifo(fifo, 0600) == 0);
        alarm(10);
        CHECK(genred_config_load(&c, fifo, err, sizeof err) == -1);
        CHECK_MSG(strstr(err, "a FIFO, not a regular file") != NULL, "%s", err);
        CHECK(genred_config_load(&c, "/dev/zero", err, sizeof err) == -1);
        CHECK_MSG(strstr(err, "character device") != NULL, "%s", err);
        alarm(0);
        remove(fifo);
    }
    char path[] = "/tmp/genred-test-config-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "w");
    fputs("[inference]\ninterval = 2\n[log]\nlevel = warning\n", f);
    fclose(f);
    genred_config_defaults(&c);
    CHECK(genred_config_load(&c, path, err, sizeof err) == 0);
    CHECK(c.inference.interval == 2 && c.log_level == GENRED_LOG_WARNING);
    f = fopen(path, "w");
    fputs("[inference]\ninterval = two\n", f);
    fclose(f);
    CHECK(genred_config_load(&c, path, err, sizeof err) == -1);
    char want[128];
    snprintf(want, sizeof want, "%s:2: [inference] interval: 'two' is not a number", path);
    CHECK(strcmp(err, want) == 0);
    remove(path);
}

/* latency = 0: one block per interval from the sources that say when
 * audio arrives, short blocks from a PortAudio device; a latency given is
 * used as it is. */
static void automatic_latency(void)
{
    genred_config c;
    genred_config_defaults(&c);
    CHECK(genred_config_latency(&c.audio, 1.0) == GENRED_LATENCY_DEVICE);
    c.audio.source = GENRED_SOURCE_PULSE;
    CHECK(genred_config_latency(&c.audio, 1.0) == 1.0);
    CHECK(genred_config_latency(&c.audio, 0.25) == 0.25);
    CHECK(genred_config_latency(&c.audio, 30.0) == GENRED_LATENCY_MAX);
    c.audio.source = GENRED_SOURCE_FILE;
    CHECK(genred_config_latency(&c.audio, 0.5) == 0.5);
    c.audio.latency = 0.05;
    CHECK(genred_config_latency(&c.audio, 0.5) == 0.05);
    c.audio.source = GENRED_SOURCE_DEVICE;
    CHECK(genred_config_latency(&c.audio, 0.5) == 0.05);
}

static void audio_differs(void)
{
    genred_config a, b;
    genred_config_defaults(&a);
    genred_config_defaults(&b);
    CHECK(!genred_config_audio_differs(&a.audio, &b.audio));
    b.audio.latency = 0.2;
    CHECK(genred_config_audio_differs(&a.audio, &b.audio));
    b = a;
    snprintf(b.audio.device, sizeof b.audio.device, "hw:1");
    CHECK(genred_config_audio_differs(&a.audio, &b.audio));
    a.audio.source = b.audio.source = GENRED_SOURCE_FILE;
    snprintf(a.audio.file, sizeof a.audio.file, "x.wav");
    snprintf(b.audio.file, sizeof b.audio.file, "x.wav");
    /* The device does not matter for a file source. */
    CHECK(!genred_config_audio_differs(&a.audio, &b.audio));
    b.audio.loop = 1;
    CHECK(genred_config_audio_differs(&a.audio, &b.audio));
}

/* conf/genred.conf documents every key with its default, commented out:
 * with every key uncommented it must parse to exactly the defaults. */
static void shipped_file(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    static char text[GENRED_CONFIG_FILE_MAX];
    size_t len = 0, keys = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *p = line;
        /* "#key = value" (no space after '#') is a commented-out key. */
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strstr(line, " =")) {
            p = line + 1;
            keys++;
        }
        len += (size_t)snprintf(text + len, sizeof text - len, "%s", p);
    }
    fclose(f);
    CHECK(keys == 20);
    genred_config want, got;
    char err[512] = "";
    genred_config_defaults(&want);
    genred_config_defaults(&got);
    CHECK(genred_config_parse_text(&got, text, len, path, err, sizeof err) == 0);
    if (err[0])
        fprintf(stderr, "%s\n", err);
    CHECK(memcmp(&want, &got, sizeof want) == 0);
}

/* ---- the key table, conf/genred.conf and genred.conf(5) agree ---------------- */

static const genred_config_key *find_key(const char *section, const char *name)
{
    for (size_t k = 0; k < genred_config_key_count; k++)
        if (strcmp(genred_config_keys[k].section, section) == 0 &&
            strcmp(genred_config_keys[k].name, name) == 0)
            return &genred_config_keys[k];
    return NULL;
}

static int key_index(const genred_config_key *key)
{
    return (int)(key - genred_config_keys);
}

/* Every default parses (genred_config_defaults ignores failures), and the
 * table's facts that live elsewhere too are the same there. */
static void table_itself(void)
{
    CHECK(genred_config_key_count == 20);
    for (size_t k = 0; k < genred_config_key_count; k++) {
        const genred_config_key *key = &genred_config_keys[k];
        char text[512], err[512] = "";
        snprintf(text, sizeof text, "[%s]\n%s = %s\n", key->section, key->name, key->fallback);
        genred_config c;
        /* An empty value is how an empty default is written. */
        int rc = parse(&c, text, err, sizeof err);
        CHECK_MSG(rc == 0, "[%s] %s default '%s': %s", key->section, key->name, key->fallback,
                  err);
        CHECK_MSG(key->help && key->help[0] && key->what && key->what[0], "[%s] %s",
                  key->section, key->name);
        CHECK_MSG(find_key(key->section, key->name) == key, "[%s] %s twice", key->section,
                  key->name);
    }
    genred_config c;
    genred_config_defaults(&c);
    CHECK(c.inference.silence_dbfs == GENRE_SILENCE_DBFS);
    CHECK(strcmp(c.socket.path, GENRED_SOCKET_DEFAULT) == 0);
    /* The log levels' order is the log module's. */
    const char *levels[] = {"error", "warning", "info", "debug"};
    char err[256];
    for (int i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof text, "[log]\nlevel = %s\n", levels[i]);
        CHECK(parse(&c, text, err, sizeof err) == 0 && c.log_level == genred_log_level_parse(levels[i]));
    }
}

/* conf/genred.conf shows every key once, commented out, with the table's
 * default, in its section, and nothing else. */
static void conf_agrees(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "%s", path);
    if (!f)
        return;
    int seen[64] = {0};
    char line[512], section[64] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '[') {
            snprintf(section, sizeof section, "%.*s", (int)strcspn(line + 1, "]"), line + 1);
            continue;
        }
        if (line[0] != '#' || line[1] < 'a' || line[1] > 'z' || !strstr(line, " ="))
            continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(line + 1, " ="), line + 1);
        const char *value = strstr(line, " =") + 2;
        while (*value == ' ')
            value++;
        const genred_config_key *key = find_key(section, name);
        CHECK_MSG(key != NULL, "%s: [%s] %s is not a key", path, section, name);
        if (!key)
            continue;
        seen[key_index(key)]++;
        CHECK_MSG(strcmp(value, key->fallback) == 0, "%s: [%s] %s = '%s', the default is '%s'",
                  path, section, name, value, key->fallback);
    }
    fclose(f);
    for (size_t k = 0; k < genred_config_key_count; k++)
        CHECK_MSG(seen[k] == 1, "%s shows [%s] %s %d times", path, genred_config_keys[k].section,
                  genred_config_keys[k].name, seen[k]);
}

/* A man page line as text: the macro name, font escapes and quotes gone. */
static void plain_text(const char *line, char *out, size_t cap)
{
    size_t n = 0;
    const char *p = line;
    if (*p == '.')
        p += strcspn(p, " ");
    for (; *p && n + 1 < cap; p++) {
        if (p[0] == '\\' && p[1] == 'f' && p[2]) {
            p += 2;
            continue;
        }
        if (p[0] == '\\' && p[1] == '-') {
            out[n++] = '-';
            p++;
            continue;
        }
        if (*p == '"' || *p == '\n')
            continue;
        if (*p == ' ' && (n == 0 || out[n - 1] == ' '))
            continue;   /* one space between words, none first */
        out[n++] = *p;
    }
    out[n] = '\0';
}

static int contains_nocase(const char *text, const char *what)
{
    return strcasestr(text, what) != NULL;
}

/* genred.conf(5) has one entry per key under the key's section, naming its
 * range and its default, and no entry for anything else. */
static void man_agrees(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "%s", path);
    if (!f)
        return;
    static char entry[64][2048];
    int seen[64] = {0};
    int current = -1, expect_header = 0;
    char line[512], section[64] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, ".SH ", 4) == 0 || strncmp(line, ".PP", 3) == 0) {
            current = -1;
            if (strncmp(line, ".SH [", 5) == 0)
                snprintf(section, sizeof section, "%.*s", (int)strcspn(line + 5, "]"), line + 5);
            else if (line[1] == 'S')
                section[0] = '\0';
            continue;
        }
        if (strcmp(line, ".TP") == 0) {
            current = -1;
            expect_header = section[0] != '\0';
            continue;
        }
        if (expect_header) {
            expect_header = 0;
            char name[64];
            const char *p = line + strcspn(line, " ");
            while (*p == ' ')
                p++;
            snprintf(name, sizeof name, "%.*s", (int)strcspn(p, " \""), p);
            const genred_config_key *key = find_key(section, name);
            CHECK_MSG(key != NULL, "%s: entry [%s] %s is not a key", path, section, name);
            if (key) {
                current = key_index(key);
                seen[current]++;
                entry[current][0] = '\0';
            }
        }
        if (current >= 0) {
            char text[512];
            plain_text(line, text, sizeof text);
            size_t len = strlen(entry[current]);
            snprintf(entry[current] + len, sizeof entry[current] - len, " %s", text);
        }
    }
    fclose(f);
    for (size_t k = 0; k < genred_config_key_count; k++) {
        const genred_config_key *key = &genred_config_keys[k];
        CHECK_MSG(seen[k] == 1, "%s: [%s] %s has %d entries", path, key->section, key->name,
                  seen[k]);
        if (seen[k] != 1)
            continue;
        const char *text = entry[k];
        char want[128], want2[128];
        if (key->type == GENRED_CONFIG_NUMBER || key->type == GENRED_CONFIG_INTEGER ||
            key->type == GENRED_CONFIG_NUMBER_OR_ZERO) {
            snprintf(want, sizeof want, "%.15g..%.15g", key->min, key->max);
            CHECK_MSG(strstr(text, want) != NULL, "%s: [%s] %s does not give the range %s:%s",
                      path, key->section, key->name, want, text);
        }
        if (key->fallback[0]) {
            /* "default 0.1" or "0 (default)", numbers as the table's value. */
            char value[64];
            char *end;
            double d = strtod(key->fallback, &end);
            if (*end == '\0' && key->type != GENRED_CONFIG_MODE)
                snprintf(value, sizeof value, "%.15g", d);
            else
                snprintf(value, sizeof value, "%s", key->fallback);
            snprintf(want, sizeof want, "default %s", value);
            snprintf(want2, sizeof want2, "%s (default", value);
            CHECK_MSG(contains_nocase(text, want) || strstr(text, want2),
                      "%s: [%s] %s does not say its default %s:%s", path, key->section, key->name,
                      value, text);
        }
    }
}

int main(int argc, char **argv)
{
    table_itself();
    if (argc > 1) {
        shipped_file(argv[1]);
        conf_agrees(argv[1]);
    }
    if (argc > 2)
        man_agrees(argv[2]);
    defaults();
    every_key();
    errors();
    files();
    automatic_latency();
    audio_differs();
    return check_exit_status("test_config");
}
