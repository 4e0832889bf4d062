/* genred.conf: an INI file parsed with inih into a plain struct and checked
 * completely (unknown sections and keys, bad values and out-of-range numbers
 * are errors naming file:line).  Every key is optional; what is not given
 * keeps the built-in default below.  See genred.conf(5). */
#ifndef GENRED_CONFIG_H
#define GENRED_CONFIG_H

#include <stddef.h>

#define GENRED_CONFIG_PATH_MAX 4096
#define GENRED_CONFIG_NAME_MAX 256
/* A config file larger than this is not a config file. */
#define GENRED_CONFIG_FILE_MAX (1024 * 1024)

enum genred_source_kind { GENRED_SOURCE_DEVICE = 0, GENRED_SOURCE_FILE = 1 };

typedef struct genred_audio_config {
    int source;                         /* enum genred_source_kind, default device */
    char device[GENRED_CONFIG_NAME_MAX];/* name substring or index; default "default" */
    double rate;                        /* Hz, 0 = the device's native rate */
    int channels;                       /* 0 = native (at most 2) */
    double latency;                     /* seconds, default 0.1 */
    char file[GENRED_CONFIG_PATH_MAX];  /* for source = file */
    int loop;                           /* replay the file forever */
} genred_audio_config;

typedef struct genred_inference_config {
    double interval;                    /* seconds between results, 0.05..60, default 1 */
    int smoothing;                      /* mean of the last N results, 1..60, default 3 */
    double silence_dbfs;                /* below: state "silence"; default -60 */
    int threads;                        /* threads of the network (genre_stream_new), 1..64, default 1 */
} genred_inference_config;

typedef struct genred_socket_config {
    char path[GENRED_CONFIG_PATH_MAX];  /* default GENRED_SOCKET_DEFAULT (protocol.h) */
    unsigned mode;                      /* default 0660 */
    char group[GENRED_CONFIG_NAME_MAX]; /* default "audio"; "" = leave as created */
    size_t max_clients, max_line, max_queued;
    double idle_timeout;                /* s a client may stay without a request (not
                                           watching) before it is closed; default 60 */
} genred_socket_config;

typedef struct genred_config {
    genred_audio_config audio;
    char model_path[GENRED_CONFIG_PATH_MAX];  /* "" = the built-in default model */
    genred_inference_config inference;
    genred_socket_config socket;
    int log_level;                      /* enum genred_log_level, default info */
} genred_config;

/* The built-in defaults. */
void genred_config_defaults(genred_config *cfg);
/* Parse a file over the values already in cfg (normally the defaults) and
 * validate the result.  0, or -1 with "FILE:LINE: what is wrong" in err;
 * cfg is left unspecified on error (parse into a scratch copy). */
int genred_config_load(genred_config *cfg, const char *path, char *err, size_t errlen);
/* The same on text in memory; name is used in messages (fuzzers, tests). */
int genred_config_parse_text(genred_config *cfg, const char *text, size_t len, const char *name,
                             char *err, size_t errlen);
/* The cross-key checks done after parsing (e.g. source = file needs file =),
 * for a config assembled from defaults and command-line overrides. */
int genred_config_validate(const genred_config *cfg, char *err, size_t errlen);
/* Non-zero when a and b would open a different audio source. */
int genred_config_audio_differs(const genred_audio_config *a, const genred_audio_config *b);

#endif
