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

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 when the
 * bytes there are not one: a stray continuation byte, a truncated
 * sequence, an overlong form, a UTF-16 surrogate or a code point above
 * U+10FFFF (RFC 3629). */
static size_t utf8_sequence(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;   /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;      /* overlong */
        else if (c == 0xed)
            hi = 0x9f;      /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;      /* overlong */
        else if (c == 0xf4)
            hi = 0x8f;      /* above U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;       /* also stops at the terminating NUL */
    return n;
}

/* Strings come from files and devices genred does not control (model file
 * names, labels, device names, error messages quoting paths), but the
 * protocol promises UTF-8 JSON: every byte that is not part of a
 * well-formed UTF-8 sequence becomes U+FFFD, so one bad byte cannot make a
 * whole object unparseable. */
static void write_string(genre_json *j, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    append(j, "\"", 1);
    const unsigned char *run = s;
    while (*s) {
        unsigned char c = *s;
        const char *esc = NULL;
        char ubuf[8];
        size_t len = 1;
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
            } else if (c >= 0x80) {
                len = utf8_sequence(s);
                if (len == 0) {
                    esc = "\xef\xbf\xbd";    /* U+FFFD REPLACEMENT CHARACTER */
                    len = 1;
                } else if (c == 0xc2 && s[1] <= 0x9f) {
                    /* C1 controls (U+0080..U+009F, e.g. the one-byte
                     * CSI) are legal in JSON strings but no client should
                     * print them raw: escaped like C0. */
                    snprintf(ubuf, sizeof ubuf, "\\u%04x", s[1]);
                    esc = ubuf;
                }
            }
        }
        if (esc) {
            append(j, (const char *)run, (size_t)(s - run));
            append(j, esc, strlen(esc));
            run = s + len;
        }
        s += len;
    }
    append(j, (const char *)run, (size_t)(s - run));
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
