/* Fuzz target: genrectl's JSON reader (src/ctl/json_read.c), which parses
 * every line genred (or whatever listens on the socket) sends.
 *
 * Beyond "no crash", it checks what json_read.h promises: a refusal comes
 * with a one-line message whose byte offset lies inside the input; an
 * accepted text gives a tree whose every value's raw text lies inside the
 * input (and, for the top value, is the input less surrounding whitespace),
 * whose numbers are what strtod makes of their raw text, whose strings are
 * NUL-terminated at string_len and never longer than their source, whose
 * containers have as many items (and keys) as count, no deeper than
 * JSON_READ_MAX_DEPTH, and where json_get finds each key at or before its
 * own index.  Then the tree is written back as JSON (strings escaped,
 * numbers as their raw text) and parsed again: the second tree must equal
 * the first, so escapes are decoded the way a writer encodes them. */
#include "json_read.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        b->p = realloc(b->p, cap);
        FUZZ_CHECK(b->p != NULL);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_string(buf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, (const char *)&s[i], 1);
        }
    }
    put(b, "\"", 1);
}

static void write_value(buf *b, const json_value *v)
{
    switch (v->type) {
    case JSON_NULL: put(b, "null", 4); break;
    case JSON_BOOL: put(b, v->boolean ? "true" : "false", v->boolean ? 4 : 5); break;
    case JSON_NUMBER: put(b, v->raw, v->raw_len); break;
    case JSON_STRING: put_string(b, v->string, v->string_len); break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        put(b, v->type == JSON_ARRAY ? "[" : "{", 1);
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                put(b, ",", 1);
            if (v->type == JSON_OBJECT) {
                put_string(b, v->keys[i], strlen(v->keys[i]));
                put(b, ":", 1);
            }
            write_value(b, &v->items[i]);
        }
        put(b, v->type == JSON_ARRAY ? "]" : "}", 1);
        break;
    }
}

static void check_value(const json_value *v, const char *text, size_t size, int depth)
{
    FUZZ_CHECK(depth <= JSON_READ_MAX_DEPTH);
    FUZZ_CHECK(v->raw >= text && v->raw_len >= 1 && v->raw_len <= size &&
               (size_t)(v->raw - text) <= size - v->raw_len);
    switch (v->type) {
    case JSON_NULL:
        FUZZ_CHECK(v->raw_len == 4 && memcmp(v->raw, "null", 4) == 0);
        break;
    case JSON_BOOL:
        FUZZ_CHECK(v->boolean ? v->raw_len == 4 && memcmp(v->raw, "true", 4) == 0
                              : v->raw_len == 5 && memcmp(v->raw, "false", 5) == 0);
        break;
    case JSON_NUMBER: {
        char num[64];
        FUZZ_CHECK(v->raw_len < sizeof num);
        memcpy(num, v->raw, v->raw_len);
        num[v->raw_len] = '\0';
        char *end;
        double d = strtod(num, &end);
        FUZZ_CHECK(*end == '\0');   /* the raw text is all number */
        FUZZ_CHECK(memcmp(&d, &v->number, sizeof d) == 0);
        break;
    }
    case JSON_STRING:
        FUZZ_CHECK(v->string != NULL && v->string[v->string_len] == '\0');
        FUZZ_CHECK(v->raw_len >= 2 && v->string_len <= v->raw_len - 2);
        FUZZ_CHECK(v->raw[0] == '"' && v->raw[v->raw_len - 1] == '"');
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        FUZZ_CHECK(v->count == 0 || v->items != NULL);
        FUZZ_CHECK(v->type == JSON_OBJECT ? (v->count == 0 || v->keys != NULL) : v->keys == NULL);
        for (size_t i = 0; i < v->count; i++) {
            const json_value *item = &v->items[i];
            /* Items lie inside their container's text, in order. */
            FUZZ_CHECK(item->raw > v->raw && item->raw + item->raw_len < v->raw + v->raw_len);
            if (i)
                FUZZ_CHECK(item->raw >= v->items[i - 1].raw + v->items[i - 1].raw_len);
            check_value(item, text, size, depth + 1);
            if (v->type == JSON_OBJECT) {
                FUZZ_CHECK(v->keys[i] != NULL);
                const json_value *found = json_get(v, v->keys[i]);
                FUZZ_CHECK(found != NULL && found >= v->items && found <= item);
            }
        }
        FUZZ_CHECK(json_get(v, "\x01no such key") == NULL || v->type == JSON_OBJECT);
        break;
    default:
        FUZZ_CHECK(!"unknown type");
    }
}

static int same(const json_value *a, const json_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case JSON_NULL: return 1;
    case JSON_BOOL: return a->boolean == b->boolean;
    case JSON_NUMBER: return memcmp(&a->number, &b->number, sizeof a->number) == 0;
    case JSON_STRING:
        return a->string_len == b->string_len && memcmp(a->string, b->string, a->string_len) == 0;
    case JSON_ARRAY:
    case JSON_OBJECT:
        if (a->count != b->count)
            return 0;
        for (size_t i = 0; i < a->count; i++) {
            if (a->type == JSON_OBJECT && strcmp(a->keys[i], b->keys[i]) != 0)
                return 0;
            if (!same(&a->items[i], &b->items[i]))
                return 0;
        }
        return 1;
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees any read past the end (the reader
     * takes a length; genrectl's lines are not NUL-terminated). */
    char *text = malloc(size ? size : 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    char err[128] = "";
    json_value *v = json_parse(text, size, err, sizeof err);
    if (!v) {
        FUZZ_NOTE("refused: %s\n", err);
        FUZZ_CHECK_MSG(err);
        const char *at = strstr(err, " at byte ");
        FUZZ_CHECK(at != NULL);
        FUZZ_CHECK(strtoull(at + 9, NULL, 10) <= size);
        free(text);
        return 0;
    }
    FUZZ_NOTE("accepted: type %d, %zu bytes of value\n", (int)v->type, v->raw_len);
    check_value(v, text, size, 0);
    /* The top value is the whole input less surrounding whitespace. */
    for (const char *p = text; p < v->raw; p++)
        FUZZ_CHECK(is_space(*p));
    for (const char *p = v->raw + v->raw_len; p < text + size; p++)
        FUZZ_CHECK(is_space(*p));

    /* Written back and read again.  (A key with an embedded NUL is cut
     * there by this writer, as by json_get's strcmp; same() compares keys
     * the same way.) */
    buf out = {0};
    write_value(&out, v);
    err[0] = '\0';
    json_value *again = json_parse(out.p, out.len, err, sizeof err);
    if (!again)
        fprintf(stderr, "written back: %s\nrefused: %s\n", out.p, err);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(same(v, again));
    json_free(again);
    free(out.p);
    json_free(v);
    free(text);
    return 0;
}
