/* Fuzz target: genred's configuration parser (genred_config_parse_text, the
 * same code genred_config_load runs on a file's contents).
 *
 * Checks beyond "no crash": a refused text comes with a one-line message
 * naming the file; an accepted one gives a config that passes the
 * cross-key validation, has every string NUL-terminated inside its array
 * and every number inside its documented range, and parsing the same text
 * again over the result changes nothing (no key depends on a previous
 * value). */
#include "genred/config.h"

#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"

#define NAME "fuzz.conf"

static void check_strings(const genred_config *c)
{
    FUZZ_CHECK(memchr(c->audio.device, '\0', sizeof c->audio.device));
    FUZZ_CHECK(memchr(c->audio.file, '\0', sizeof c->audio.file));
    FUZZ_CHECK(memchr(c->model_path, '\0', sizeof c->model_path));
    FUZZ_CHECK(memchr(c->socket.path, '\0', sizeof c->socket.path));
    FUZZ_CHECK(memchr(c->socket.group, '\0', sizeof c->socket.group));
}

/* The ranges include/genred/config.h and genred.conf(5) give. */
static void check_ranges(const genred_config *c)
{
    FUZZ_CHECK(c->audio.source == GENRED_SOURCE_DEVICE || c->audio.source == GENRED_SOURCE_FILE ||
               c->audio.source == GENRED_SOURCE_PULSE);
    if (c->audio.source == GENRED_SOURCE_FILE)
        FUZZ_CHECK(c->audio.file[0] != '\0');
    FUZZ_CHECK(c->audio.rate == 0.0 || (c->audio.rate >= 8000.0 && c->audio.rate <= 384000.0));
    FUZZ_CHECK(c->audio.channels >= 0 && c->audio.channels <= 32);
    FUZZ_CHECK(c->audio.latency == 0.0 || (c->audio.latency >= 0.001 && c->audio.latency <= 2.0));
    FUZZ_CHECK(c->inference.interval >= 0.05 && c->inference.interval <= 60.0);
    /* What a source opens with, automatic or not. */
    double latency = genred_config_latency(&c->audio, c->inference.interval);
    FUZZ_CHECK(latency >= 0.001 && latency <= 2.0);
    FUZZ_CHECK(c->inference.smoothing >= 1 && c->inference.smoothing <= 60);
    FUZZ_CHECK(c->inference.silence_dbfs >= -200.0 && c->inference.silence_dbfs <= 0.0);
    FUZZ_CHECK(c->inference.threads >= 1 && c->inference.threads <= 64);
    FUZZ_CHECK(strlen(c->socket.path) <= 107); /* sockaddr_un.sun_path */
    FUZZ_CHECK(c->socket.mode <= 0777);
    FUZZ_CHECK(c->socket.max_clients >= 1 && c->socket.max_clients <= 100000);
    FUZZ_CHECK(c->socket.max_line >= 16 && c->socket.max_line <= 65536);
    FUZZ_CHECK(c->socket.max_queued >= 4096 && c->socket.max_queued <= ((size_t)1 << 30));
    FUZZ_CHECK(c->log_level >= 0 && c->log_level <= 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    genred_config cfg;
    char err[512] = "";
    genred_config_defaults(&cfg);
    if (genred_config_parse_text(&cfg, (const char *)data, size, NAME, err, sizeof err) != 0) {
        FUZZ_NOTE("refused: %s\n", err);
        FUZZ_CHECK_MSG(err);
        FUZZ_CHECK(strncmp(err, NAME, strlen(NAME)) == 0);
        return 0;
    }
    FUZZ_NOTE("accepted\n");
    check_strings(&cfg);
    check_ranges(&cfg);
    err[0] = '\0';
    FUZZ_CHECK(genred_config_validate(&cfg, err, sizeof err) == 0);
    FUZZ_CHECK(genred_config_audio_differs(&cfg.audio, &cfg.audio) == 0);

    genred_config again = cfg;
    FUZZ_CHECK(genred_config_parse_text(&again, (const char *)data, size, NAME, err, sizeof err) == 0);
    FUZZ_CHECK(memcmp(&again, &cfg, sizeof cfg) == 0);
    return 0;
}
