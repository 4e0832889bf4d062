/* The model's identity as JSON: the one object genre-classify --json and
 * genred's status/result objects both carry as "model_id" (doc/output.md):
 *   {"name":"genre.gmdl","sha256":"<64 hex digits>","labels":["blues",...]}
 * name is the file's name as the caller knows it (a base name), sha256 the
 * file's (genre_model.sha256), labels the model's in output order. */
#ifndef GENRE_MODEL_JSON_H
#define GENRE_MODEL_JSON_H

#include "genre/json.h"
#include "genre/model.h"

void genre_model_json_identity(genre_json *j, const genre_model *m, const char *name);

#endif
