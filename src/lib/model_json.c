/* The model's identity as JSON (genre/model_json.h). */
#include "genre/model_json.h"

void genre_model_json_identity(genre_json *j, const genre_model *m, const char *name)
{
    genre_json_begin_object(j);
    genre_json_key(j, "name");
    genre_json_string(j, name ? name : "");
    genre_json_key(j, "sha256");
    genre_json_string(j, m->sha256);
    genre_json_key(j, "labels");
    genre_json_begin_array(j);
    for (uint32_t i = 0; i < m->n_labels; i++)
        genre_json_string(j, m->labels[i]);
    genre_json_end_array(j);
    genre_json_end_object(j);
}
