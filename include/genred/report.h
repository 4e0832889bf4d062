/* The JSON objects genred reports (doc/protocol.md): the status/result
 * object, the change object and the daemon's part of stats.  Test: the
 * daemon's protocol tests (tests/daemon/test_daemon.py) and the output schema
 * (tests/tools/test_output_schema.py). */
#ifndef GENRED_REPORT_H
#define GENRED_REPORT_H

#include "genre/json.h"
#include "genre/model.h"
#include "genred/config.h"
#include "genred/engine.h"

/* {"type":TYPE,"state":..,"seq":..,"genre":..,...}; r->seq == 0 means no
 * result yet (the daemon just started). */
void genred_report_result(genre_json *j, const char *type, const genred_result *r,
                          const genre_model *model, const char *model_name);
/* {"type":"change","seq":..,"from":..,"to":..,"state":..,"confidence":..,"time":..}
 * where from/to are genre names or NULL. */
void genred_report_change(genre_json *j, const genred_result *r, const char *from,
                          const char *to);
/* What the daemon's part of `stats` reports. */
typedef struct genred_stats_facts {
    double uptime;                  /* seconds since start */
    enum genred_state state;        /* of the latest result */
    genred_engine_stats engine;
    const char *source_kind;        /* "device", "file" or "pulse" */
    const char *source_name;        /* the open source's, else the configured file/device */
    int source_open;                /* 0: sample_rate and channels are null */
    double sample_rate;
    int channels;
    const char *input_error;        /* why the source is down; "" or NULL: it is not */
    const genred_inference_config *inference;
    unsigned long config_generation;
    const char *config_path;        /* "" or NULL: built-in defaults */
    double last_reload;             /* epoch seconds, 0: never */
    const char *last_reload_error;  /* "" or NULL: none */
    const char *model_name, *model_path;
} genred_stats_facts;

/* The members of `stats` that are the daemon's, without braces (the
 * server wraps them in its object with its own; doc/protocol.md). */
void genred_report_stats(genre_json *j, const genred_stats_facts *f);

/* The reported genre of r (NULL unless state ok or degraded). */
const char *genred_report_genre(const genred_result *r, const genre_model *model);

#endif
