/* The JSON objects genred reports (doc/protocol.md): the status/result
 * object, the change object and the daemon's part of stats. */
#ifndef GENRED_REPORT_H
#define GENRED_REPORT_H

#include "genre/json.h"
#include "genre/model.h"
#include "genred/engine.h"

/* {"type":TYPE,"state":..,"seq":..,"genre":..,...}; r->seq == 0 means no
 * result yet (the daemon just started). */
void genred_report_result(genre_json *j, const char *type, const genred_result *r,
                          const genre_model *model, const char *model_name);
/* {"type":"change","seq":..,"from":..,"to":..,"state":..,"confidence":..,"time":..}
 * where from/to are genre names or NULL. */
void genred_report_change(genre_json *j, const genred_result *r, const char *from,
                          const char *to);
/* The reported genre of r (NULL unless state ok). */
const char *genred_report_genre(const genred_result *r, const genre_model *model);

#endif
