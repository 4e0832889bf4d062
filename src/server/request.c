#include "genred/request.h"

#include <stdlib.h>
#include <string.h>

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Tabs are ordinary whitespace; every other C0 control byte and DEL means
 * the peer is not speaking this text protocol. */
static int is_binary(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

genred_request genred_request_parse(const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    while (len > 0 && is_blank((unsigned char)line[len - 1]))
        len--;
    while (len > 0 && is_blank((unsigned char)line[0])) {
        line++;
        len--;
    }
    genred_request r = {GENRED_REQUEST_UNKNOWN, GENRED_COMMAND_COUNT};
    for (size_t i = 0; i < len; i++)
        if (is_binary((unsigned char)line[i])) {
            r.kind = GENRED_REQUEST_BINARY;
            return r;
        }
    if (len == 0) {
        r.kind = GENRED_REQUEST_EMPTY;
        return r;
    }
    int command = genred_command_lookup(line, len);
    if (command >= 0) {
        r.kind = GENRED_REQUEST_COMMAND;
        r.command = (genred_command)command;
    }
    return r;
}

size_t genred_request_sanitise(const char *line, size_t len, size_t max_bytes,
                               char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t n = len < max_bytes ? len : max_bytes;
    if (n > cap - 1)
        n = cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[n] = '\0';
    return n;
}

void genred_line_reader_init(genred_line_reader *r)
{
    memset(r, 0, sizeof *r);
}

void genred_line_reader_free(genred_line_reader *r)
{
    free(r->buf);
    genred_line_reader_init(r);
}

static int reserve(genred_line_reader *r, size_t need)
{
    if (need <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 64;
    while (cap < need)
        cap *= 2;
    char *nb = realloc(r->buf, cap);
    if (!nb)
        return -1;
    r->buf = nb;
    r->cap = cap;
    return 0;
}

static void advance(const char **data, size_t *len, size_t n)
{
    *data += n;
    *len -= n;
}

genred_line_event genred_line_reader_push(genred_line_reader *r, const char **data, size_t *len,
                                          size_t max_line, const char **line, size_t *line_len)
{
    /* One byte more than max_line may be held so that "cmd\r\n" is allowed
     * exactly as long as "cmd\n". */
    size_t limit = max_line + 1;
    while (*len > 0) {
        const char *nl = memchr(*data, '\n', *len);
        if (r->discarding) {
            if (!nl) {
                advance(data, len, *len);
                return GENRED_LINE_NEED_MORE;
            }
            advance(data, len, (size_t)(nl - *data) + 1);
            r->discarding = 0;
            continue;
        }
        size_t take = nl ? (size_t)(nl - *data) : *len;
        if (r->len + take > limit) {
            r->len = 0;
            if (nl) {
                advance(data, len, take + 1);
            } else {
                advance(data, len, take);
                r->discarding = 1;
            }
            return GENRED_LINE_TOO_LONG;
        }
        if (reserve(r, r->len + take + 1) < 0)
            return GENRED_LINE_NO_MEMORY;
        memcpy(r->buf + r->len, *data, take);
        r->len += take;
        advance(data, len, take);
        if (!nl)
            return GENRED_LINE_NEED_MORE;
        advance(data, len, 1);
        size_t n = r->len;
        /* The line stays in buf until the next call copies over it. */
        r->len = 0;
        if (n > max_line && r->buf[n - 1] != '\r')
            return GENRED_LINE_TOO_LONG;
        r->buf[n] = '\0';
        *line = r->buf;
        *line_len = n;
        return GENRED_LINE_COMPLETE;
    }
    return GENRED_LINE_NEED_MORE;
}
