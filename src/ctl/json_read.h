/* A small JSON reader for genrectl's readable output: parses one complete
 * JSON text (one protocol line) into a tree.  Values keep a pointer to
 * their source text, so numbers and nested values can be printed exactly
 * as the daemon sent them; the source text must outlive the tree. */
#ifndef GENRECTL_JSON_READ_H
#define GENRECTL_JSON_READ_H

#include <stddef.h>

typedef enum json_type {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

typedef struct json_value json_value;

struct json_value {
    json_type type;
    const char *raw;            /* this value's text in the source */
    size_t raw_len;
    int boolean;
    double number;
    char *string;               /* decoded UTF-8, NUL-terminated (may contain NUL: see string_len) */
    size_t string_len;
    size_t count;               /* array items or object members */
    json_value *items;
    char **keys;                /* object member names, decoded, parallel to items */
};

/* Deepest nesting accepted; deeper input is an error, not a stack overflow. */
#define JSON_READ_MAX_DEPTH 64

/* Parse text[0..len) (whitespace around the value allowed, nothing else).
 * NULL with a reason in err on malformed input or out of memory. */
json_value *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(json_value *v);

/* Object member by name (the first if repeated), or NULL if v is not an
 * object or has no such member. */
const json_value *json_get(const json_value *v, const char *key);
/* Member as a string / number; NULL / -1 if missing or of another type. */
const char *json_get_string(const json_value *v, const char *key);
int json_get_number(const json_value *v, const char *key, double *out);

#endif
