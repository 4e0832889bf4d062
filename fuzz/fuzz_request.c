/* Fuzz target: genred's request framing and parsing (include/genred/request.h),
 * i.e. everything a socket client's bytes go through before the server acts.
 *
 * Input layout: byte 0 picks max_line (1..256), byte 1 seeds the chunk
 * sizes the stream is cut into (as recv() would cut it); the rest is the
 * byte stream.  The events of genred_line_reader_push are compared with a
 * plain reference model of the documented framing run over the whole
 * stream at once, so a chunking-dependent bug shows up as a mismatch, not
 * only as a crash.  Each complete line then goes through the parser and the
 * sanitiser, whose documented properties are checked. */
#include "genred/request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

typedef struct event {
    genred_line_event kind;
    size_t offset, len;     /* COMPLETE: where the line is in the stream */
} event;

/* The framing as doc/protocol.md and request.h describe it: a line is the
 * bytes before '\n'; it is delivered when it has at most max_line bytes, or
 * max_line + 1 with the last one '\r'; otherwise it is reported once as too
 * long.  Bytes after the last '\n' are still pending. */
static size_t reference_events(const uint8_t *s, size_t n, size_t max_line, event *out)
{
    size_t count = 0, start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\n')
            continue;
        size_t len = i - start;
        int fits = len <= max_line || (len == max_line + 1 && s[i - 1] == '\r');
        out[count].kind = fits ? GENRED_LINE_COMPLETE : GENRED_LINE_TOO_LONG;
        out[count].offset = start;
        out[count].len = len;
        count++;
        start = i + 1;
    }
    /* An unterminated tail is reported as too long as soon as it cannot fit
     * any more, before its '\n' arrives. */
    if (n - start > max_line + 1) {
        out[count].kind = GENRED_LINE_TOO_LONG;
        out[count].offset = start;
        out[count].len = n - start;
        count++;
    }
    return count;
}

/* The commands as doc/protocol.md names them (case-sensitive), written out
 * here rather than taken from the parser's table, so the table is checked too. */
static const struct {
    const char *word;
    genred_command id;
} known[] = {
    {"status", GENRED_COMMAND_STATUS}, {"watch", GENRED_COMMAND_WATCH},
    {"unwatch", GENRED_COMMAND_UNWATCH}, {"stats", GENRED_COMMAND_STATS},
    {"version", GENRED_COMMAND_VERSION}, {"help", GENRED_COMMAND_HELP},
};

static int is_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static void check_parse(const char *line, size_t len)
{
    genred_request req = genred_request_parse(line, len);
    FUZZ_CHECK(req.kind >= GENRED_REQUEST_EMPTY && req.kind <= GENRED_REQUEST_BINARY);

    size_t a = 0, b = len;
    if (b > 0 && line[b - 1] == '\r')
        b--;
    while (b > a && is_blank((uint8_t)line[b - 1]))
        b--;
    while (a < b && is_blank((uint8_t)line[a]))
        a++;
    int binary = 0;
    for (size_t i = a; i < b; i++) {
        uint8_t c = (uint8_t)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            binary = 1;
    }
    if (binary) {
        FUZZ_CHECK(req.kind == GENRED_REQUEST_BINARY);
    } else if (a == b) {
        FUZZ_CHECK(req.kind == GENRED_REQUEST_EMPTY);
    } else {
        int expect = -1;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strlen(known[i].word) == b - a && memcmp(known[i].word, line + a, b - a) == 0)
                expect = (int)known[i].id;
        if (expect < 0)
            FUZZ_CHECK(req.kind == GENRED_REQUEST_UNKNOWN);
        else
            FUZZ_CHECK(req.kind == GENRED_REQUEST_COMMAND && (int)req.command == expect);
    }

    /* The echo for error objects: printable ASCII only, bounded, terminated. */
    char out[40];
    size_t max_bytes = len % 48;
    memset(out, 'X', sizeof out);
    size_t n = genred_request_sanitise(line, len, max_bytes, out, sizeof out);
    FUZZ_CHECK(n <= len && n <= max_bytes && n < sizeof out);
    FUZZ_CHECK(out[n] == '\0');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)out[i];
        FUZZ_CHECK(c >= 0x20 && c < 0x7f);
        FUZZ_CHECK(c == '?' || c == (uint8_t)line[i]);
    }
    FUZZ_CHECK(genred_request_sanitise(line, len, max_bytes, out, 0) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_line = (size_t)data[0] % 256 + 1;
    uint32_t chunk_seed = data[1] * 2654435761u + 1;
    const uint8_t *stream = data + 2;
    size_t n = size - 2;

    event *expect = malloc((n + 1) * sizeof *expect);
    FUZZ_CHECK(expect != NULL);
    size_t n_expect = reference_events(stream, n, max_line, expect);

    genred_line_reader r;
    genred_line_reader_init(&r);
    size_t pos = 0, seen = 0;
    while (pos < n) {
        /* Chunk sizes 1..64 from a small LCG: deterministic per input. */
        chunk_seed = chunk_seed * 1103515245u + 12345u;
        size_t chunk = (chunk_seed >> 16) % 64 + 1;
        if (chunk > n - pos)
            chunk = n - pos;
        /* Exactly sized copy so ASan sees reads past this recv() buffer. */
        char *piece = malloc(chunk);
        FUZZ_CHECK(piece != NULL);
        memcpy(piece, stream + pos, chunk);
        const char *p = piece;
        size_t left = chunk;
        for (;;) {
            const char *line = NULL;
            size_t line_len = 0;
            size_t before = left;
            genred_line_event ev = genred_line_reader_push(&r, &p, &left, max_line, &line, &line_len);
            FUZZ_CHECK(left <= before && p == piece + (chunk - left));
            if (ev == GENRED_LINE_NEED_MORE) {
                FUZZ_CHECK(left == 0);
                break;
            }
            FUZZ_CHECK(ev != GENRED_LINE_NO_MEMORY);
            FUZZ_CHECK(seen < n_expect);
            FUZZ_CHECK(ev == expect[seen].kind);
            if (ev == GENRED_LINE_COMPLETE) {
                FUZZ_CHECK(line != NULL && line_len == expect[seen].len);
                FUZZ_CHECK(memcmp(line, stream + expect[seen].offset, line_len) == 0);
                FUZZ_CHECK(line[line_len] == '\0');
                check_parse(line, line_len);
            }
            seen++;
        }
        free(piece);
        pos += chunk;
    }
    FUZZ_CHECK(seen == n_expect);
    genred_line_reader_free(&r);
    free(expect);
    return 0;
}
