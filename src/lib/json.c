#include "genre/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void genre_json_init(genre_json *j)
{
    memset(j, 0, sizeof *j);
}

void genre_json_reset(genre_json *j)
{
    j->len = 0;
    j->need_comma = 0;
    j->failed = 0;
    if (j->buf)
        j->buf[0] = '\0';
}

void genre_json_free(genre_json *j)
{
    free(j->buf);
    genre_json_init(j);
}

static void append(genre_json *j, const char *s, size_t n)
{
    if (j->failed)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *nb = realloc(j->buf, cap);
        if (!nb) {
            j->failed = 1;
            return;
        }
        j->buf = nb;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

/* Every value and key is preceded by a comma unless it is the first at its
 * level; a single flag suffices because opening a container clears it and
 * closing one sets it. */
static void separate(genre_json *j)
{
    if (j->need_comma)
        append(j, ",", 1);
    j->need_comma = 0;
}

void genre_json_begin_object(genre_json *j) { separate(j); append(j, "{", 1); }
void genre_json_begin_array(genre_json *j) { separate(j); append(j, "[", 1); }
void genre_json_end_object(genre_json *j) { append(j, "}", 1); j->need_comma = 1; }
void genre_json_end_array(genre_json *j) { append(j, "]", 1); j->need_comma = 1; }

static void write_string(genre_json *j, const char *s)
{
    append(j, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;
        char ubuf[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
                esc = ubuf;
            }
        }
        if (esc) {
            append(j, run, (size_t)(s - run));
            append(j, esc, strlen(esc));
            run = s + 1;
        }
    }
    append(j, run, (size_t)(s - run));
    append(j, "\"", 1);
}

void genre_json_key(genre_json *j, const char *key)
{
    separate(j);
    write_string(j, key);
    append(j, ":", 1);
}

void genre_json_string(genre_json *j, const char *s)
{
    separate(j);
    if (s)
        write_string(j, s);
    else
        append(j, "null", 4);
    j->need_comma = 1;
}

void genre_json_number(genre_json *j, double v)
{
    separate(j);
    if (!isfinite(v)) {
        append(j, "null", 4);
    } else {
        char b[32];
        int n = snprintf(b, sizeof b, "%.9g", v);
        append(j, b, (size_t)n);
    }
    j->need_comma = 1;
}

void genre_json_fixed(genre_json *j, double v, int decimals)
{
    separate(j);
    if (!isfinite(v) || fabs(v) > 1e15) {
        append(j, "null", 4);
    } else {
        char b[48];
        int n = snprintf(b, sizeof b, "%.*f", decimals < 0 ? 0 : decimals > 9 ? 9 : decimals, v);
        append(j, b, (size_t)n);
    }
    j->need_comma = 1;
}

void genre_json_int(genre_json *j, long long v)
{
    separate(j);
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", v);
    append(j, b, (size_t)n);
    j->need_comma = 1;
}

void genre_json_bool(genre_json *j, int v)
{
    separate(j);
    append(j, v ? "true" : "false", v ? 4 : 5);
    j->need_comma = 1;
}

void genre_json_null(genre_json *j)
{
    separate(j);
    append(j, "null", 4);
    j->need_comma = 1;
}

void genre_json_raw(genre_json *j, const char *s)
{
    separate(j);
    append(j, s, strlen(s));
    j->need_comma = 1;
}
