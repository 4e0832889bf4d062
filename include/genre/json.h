/* Minimal JSON writing for genre-classify --json, the daemon's socket
 * protocol and genrectl: a growable string builder whose output is always
 * valid UTF-8 JSON: well-formed UTF-8 is passed through, C0 and C1 control
 * characters and DEL are escaped as \u00XX, and every byte that is not
 * part of a well-formed UTF-8 sequence (Latin-1 file names, truncated
 * sequences, overlong forms, surrogates) is replaced by U+FFFD. */
#ifndef GENRE_JSON_H
#define GENRE_JSON_H

#include <stddef.h>

typedef struct genre_json {
    char *buf;
    size_t len, cap;
    int need_comma;     /* internal: a value was written at this level */
    int failed;         /* allocation failed: buf is incomplete */
} genre_json;

void genre_json_init(genre_json *j);
void genre_json_reset(genre_json *j);      /* len = 0, keeps the buffer */
void genre_json_free(genre_json *j);
void genre_json_begin_object(genre_json *j);
void genre_json_end_object(genre_json *j);
void genre_json_begin_array(genre_json *j);
void genre_json_end_array(genre_json *j);
void genre_json_key(genre_json *j, const char *key);
void genre_json_string(genre_json *j, const char *s);
void genre_json_number(genre_json *j, double v);     /* %.9g (float round trip); NaN/inf -> null */
/* Fixed-point with `decimals` places, for times and durations whose size
 * grows without bound (epoch seconds, uptime, stream time). */
void genre_json_fixed(genre_json *j, double v, int decimals);
void genre_json_int(genre_json *j, long long v);
void genre_json_bool(genre_json *j, int v);
void genre_json_null(genre_json *j);
/* Append raw, already-valid JSON. */
void genre_json_raw(genre_json *j, const char *s);

#endif
