/* genred.conf: an INI file parsed with inih into a plain struct and checked
 * completely (unknown sections and keys, bad values and out-of-range numbers
 * are errors naming file:line).  Every key is optional; what is not given
 * keeps its built-in default.  See genred.conf(5); test: tests/daemon/test_config.c. */
#ifndef GENRED_CONFIG_H
#define GENRED_CONFIG_H

#include <stddef.h>

#define GENRED_CONFIG_PATH_MAX 4096
#define GENRED_CONFIG_NAME_MAX 256
/* A config file larger than this is not a config file. */
#define GENRED_CONFIG_FILE_MAX (1024 * 1024)

/* [audio] latency: its largest value, and what 0 (automatic) means for a
 * PortAudio device (genred_config_latency). */
#define GENRED_LATENCY_MAX 2.0
#define GENRED_LATENCY_DEVICE 0.1

/* In the order of [audio] source's choices (config.c). */
enum genred_source_kind { GENRED_SOURCE_DEVICE = 0, GENRED_SOURCE_FILE = 1, GENRED_SOURCE_PULSE = 2 };

/* The values of genred.conf.  Ranges, defaults and meanings are in the key
 * table (genred_config_keys, config.c), the one place they are written. */
typedef struct genred_audio_config {
    int source;                         /* enum genred_source_kind */
    char device[GENRED_CONFIG_NAME_MAX];
    double rate;                        /* Hz, 0 = the device's native rate */
    int channels;                       /* 0 = the device's own count (at most 2) */
    double latency;                     /* seconds, 0 = automatic (genred_config_latency) */
    char file[GENRED_CONFIG_PATH_MAX];  /* for source = file */
    int loop;                           /* replay the file forever */
} genred_audio_config;

typedef struct genred_inference_config {
    double interval;                    /* seconds between results */
    int smoothing;                      /* mean of the last N network outputs */
    double silence_dbfs;                /* below: state "silence" */
    int threads;                        /* threads of the network (genre_stream_new) */
} genred_inference_config;

typedef struct genred_socket_config {
    char path[GENRED_CONFIG_PATH_MAX];
    unsigned mode;
    char group[GENRED_CONFIG_NAME_MAX]; /* "" = leave as created */
    size_t max_clients, max_line, max_queued;
    double idle_timeout;                /* s a client may stay without a request (not
                                           watching) before it is closed */
} genred_socket_config;

typedef struct genred_config {
    genred_audio_config audio;
    char model_path[GENRED_CONFIG_PATH_MAX];  /* "" = the built-in default model */
    genred_inference_config inference;
    genred_socket_config socket;
    int log_level;                      /* enum genred_log_level */
} genred_config;

/* sockaddr_un.sun_path is 108 bytes including the terminating NUL. */
#define GENRED_SOCKET_PATH_MAX 107

/* What a key takes. */
typedef enum genred_config_type {
    GENRED_CONFIG_TEXT,             /* a string; min 1: not empty; max > 0: at most max bytes */
    GENRED_CONFIG_NUMBER,           /* a decimal number in min..max */
    GENRED_CONFIG_NUMBER_OR_ZERO,   /* 0, or a decimal number in min..max */
    GENRED_CONFIG_INTEGER,          /* a whole number in min..max (an int or size_t field) */
    GENRED_CONFIG_BOOL,             /* yes/no, true/false, on/off, 1/0 */
    GENRED_CONFIG_CHOICE,           /* one word of choices; the field holds its position */
    GENRED_CONFIG_MODE,             /* octal permission bits, at most max */
} genred_config_type;

/* One key of genred.conf: the table is the one description of the file;
 * parsing, the defaults and the check that conf/genred.conf and
 * genred.conf(5) agree with it (test_config) follow from it. */
typedef struct genred_config_key {
    const char *section, *name;
    genred_config_type type;
    size_t offset, size;            /* of its field in genred_config */
    double min, max;                /* see genred_config_type */
    const char *fallback;           /* the default, as written in the file */
    const char *what;               /* a noun for messages ("socket path") */
    const char *choices;            /* GENRED_CONFIG_CHOICE: "a|b|c" */
    const char *help;               /* one line */
} genred_config_key;

extern const genred_config_key genred_config_keys[];
extern const size_t genred_config_key_count;

/* The built-in defaults (each key's fallback). */
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
/* The capture latency a source opens with, seconds: a's latency, or for
 * 0 (automatic) the interval (at most GENRED_LATENCY_MAX) for PulseAudio
 * and a file, GENRED_LATENCY_DEVICE for a PortAudio device. */
double genred_config_latency(const genred_audio_config *a, double interval);
/* Non-zero when a and b would open a different audio source. */
int genred_config_audio_differs(const genred_audio_config *a, const genred_audio_config *b);

#endif
