#include "json_read.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *text, *pos, *end;
    char *err;
    size_t errlen;
    int failed;
} parser;

static void fail(parser *p, const char *what)
{
    if (p->failed)
        return;
    p->failed = 1;
    if (p->err && p->errlen)
        snprintf(p->err, p->errlen, "%s at byte %zu", what, (size_t)(p->pos - p->text));
}

static void skip_space(parser *p)
{
    while (p->pos < p->end &&
           (*p->pos == ' ' || *p->pos == '\t' || *p->pos == '\n' || *p->pos == '\r'))
        p->pos++;
}

static int literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(p->end - p->pos) < n || memcmp(p->pos, word, n) != 0) {
        fail(p, "invalid literal");
        return -1;
    }
    p->pos += n;
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* One or more digits (a fraction's or an exponent's), or "invalid number". */
static int required_digits(parser *p)
{
    if (p->pos >= p->end || !is_digit(*p->pos)) {
        fail(p, "invalid number");
        return -1;
    }
    while (p->pos < p->end && is_digit(*p->pos))
        p->pos++;
    return 0;
}

static int parse_number(parser *p, json_value *v)
{
    const char *start = p->pos;
    if (p->pos < p->end && *p->pos == '-')
        p->pos++;
    if (p->pos >= p->end || !is_digit(*p->pos)) {
        fail(p, "invalid number");
        return -1;
    }
    if (*p->pos == '0')
        p->pos++;
    else
        while (p->pos < p->end && is_digit(*p->pos))
            p->pos++;
    if (p->pos < p->end && *p->pos == '.') {
        p->pos++;
        if (required_digits(p))
            return -1;
    }
    if (p->pos < p->end && (*p->pos == 'e' || *p->pos == 'E')) {
        p->pos++;
        if (p->pos < p->end && (*p->pos == '+' || *p->pos == '-'))
            p->pos++;
        if (required_digits(p))
            return -1;
    }
    /* strtod needs a terminated copy: the source line is not. */
    char buf[64];
    size_t n = (size_t)(p->pos - start);
    if (n >= sizeof buf) {
        fail(p, "number too long");
        return -1;
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    v->type = JSON_NUMBER;
    v->number = strtod(buf, NULL);
    return 0;
}

static int hex4(parser *p, unsigned *out)
{
    if (p->end - p->pos < 4) {
        fail(p, "truncated \\u escape");
        return -1;
    }
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->pos[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else {
            fail(p, "invalid \\u escape");
            return -1;
        }
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static size_t utf8_encode(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes a string starting at the opening quote.  The decoded form is
 * never longer than the source, which sizes the buffer. */
static char *parse_string(parser *p, size_t *len_out)
{
    p->pos++; /* opening quote */
    const char *close = p->pos;
    while (close < p->end && *close != '"') {
        if (*close == '\\' && close + 1 < p->end)
            close++;   /* an escaped quote does not end the string */
        close++;
    }
    if (close >= p->end) {
        fail(p, "unterminated string");
        return NULL;
    }
    char *out = malloc((size_t)(close - p->pos) + 1);
    if (!out) {
        fail(p, "out of memory");
        return NULL;
    }
    size_t n = 0;
    while (*p->pos != '"') {
        unsigned char c = (unsigned char)*p->pos;
        if (c < 0x20) {
            fail(p, "control character in string");
            goto bad;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            p->pos++;
            continue;
        }
        p->pos++;
        char e = *p->pos++;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (hex4(p, &cp) < 0)
                goto bad;
            if (cp >= 0xd800 && cp < 0xdc00) {
                unsigned lo;
                if (p->end - p->pos < 2 || p->pos[0] != '\\' || p->pos[1] != 'u') {
                    fail(p, "unpaired surrogate");
                    goto bad;
                }
                p->pos += 2;
                if (hex4(p, &lo) < 0)
                    goto bad;
                if (lo < 0xdc00 || lo > 0xdfff) {
                    fail(p, "unpaired surrogate");
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                fail(p, "unpaired surrogate");
                goto bad;
            }
            /* \uXXXX is 6 source bytes (12 for a pair): UTF-8 is shorter. */
            n += utf8_encode(cp, out + n);
            break;
        }
        default:
            p->pos--;
            fail(p, "invalid escape");
            goto bad;
        }
    }
    p->pos++; /* closing quote */
    out[n] = '\0';
    *len_out = n;
    return out;
bad:
    free(out);
    return NULL;
}

static int parse_value(parser *p, json_value *v, int depth);

static int grow(parser *p, json_value *v, size_t *cap, int with_keys)
{
    if (v->count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    json_value *items = realloc(v->items, ncap * sizeof *items);
    if (!items) {
        fail(p, "out of memory");
        return -1;
    }
    v->items = items;
    if (with_keys) {
        char **keys = realloc(v->keys, ncap * sizeof *keys);
        if (!keys) {
            fail(p, "out of memory");
            return -1;
        }
        v->keys = keys;
    }
    *cap = ncap;
    return 0;
}

static int parse_container(parser *p, json_value *v, int depth, int is_object)
{
    char close = is_object ? '}' : ']';
    size_t cap = 0;
    v->type = is_object ? JSON_OBJECT : JSON_ARRAY;
    p->pos++;
    skip_space(p);
    if (p->pos < p->end && *p->pos == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (grow(p, v, &cap, is_object) < 0)
            return -1;
        json_value *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        if (is_object) {
            skip_space(p);
            if (p->pos >= p->end || *p->pos != '"') {
                fail(p, "expected member name");
                return -1;
            }
            size_t klen;
            char *key = parse_string(p, &klen);
            if (!key)
                return -1;
            v->keys[v->count] = key;
            skip_space(p);
            if (p->pos >= p->end || *p->pos != ':') {
                v->count++;   /* so the key is freed */
                fail(p, "expected ':'");
                return -1;
            }
            p->pos++;
        }
        v->count++;
        if (parse_value(p, item, depth + 1) < 0)
            return -1;
        skip_space(p);
        if (p->pos < p->end && *p->pos == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->end && *p->pos == close) {
            p->pos++;
            return 0;
        }
        fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        return -1;
    }
}

static int parse_value(parser *p, json_value *v, int depth)
{
    if (depth > JSON_READ_MAX_DEPTH) {
        fail(p, "nesting too deep");
        return -1;
    }
    skip_space(p);
    if (p->pos >= p->end) {
        fail(p, "unexpected end of input");
        return -1;
    }
    const char *start = p->pos;
    int rc;
    switch (*p->pos) {
    case '{':
        rc = parse_container(p, v, depth, 1);
        break;
    case '[':
        rc = parse_container(p, v, depth, 0);
        break;
    case '"':
        v->type = JSON_STRING;
        v->string = parse_string(p, &v->string_len);
        rc = v->string ? 0 : -1;
        break;
    case 't':
        v->type = JSON_BOOL;
        v->boolean = 1;
        rc = literal(p, "true");
        break;
    case 'f':
        v->type = JSON_BOOL;
        rc = literal(p, "false");
        break;
    case 'n':
        v->type = JSON_NULL;
        rc = literal(p, "null");
        break;
    default:
        rc = parse_number(p, v);
        break;
    }
    v->raw = start;
    v->raw_len = (size_t)(p->pos - start);
    return rc;
}

static void free_contents(json_value *v)
{
    for (size_t i = 0; i < v->count; i++) {
        free_contents(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
}

json_value *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    parser p = {text, text, text + len, err, errlen, 0};
    json_value *v = calloc(1, sizeof *v);
    if (!v) {
        fail(&p, "out of memory");
        return NULL;
    }
    if (parse_value(&p, v, 0) == 0) {
        skip_space(&p);
        if (p.pos == p.end)
            return v;
        fail(&p, "trailing data");
    }
    free_contents(v);
    free(v);
    return NULL;
}

void json_free(json_value *v)
{
    if (!v)
        return;
    free_contents(v);
    free(v);
}

const json_value *json_get(const json_value *v, const char *key)
{
    if (!v || v->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->count; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}

const char *json_get_string(const json_value *v, const char *key)
{
    const json_value *m = json_get(v, key);
    return m && m->type == JSON_STRING ? m->string : NULL;
}

int json_get_number(const json_value *v, const char *key, double *out)
{
    const json_value *m = json_get(v, key);
    if (!m || m->type != JSON_NUMBER)
        return -1;
    *out = m->number;
    return 0;
}
