/* Request framing and parsing for genred's socket protocol (doc/protocol.md).
 *
 * A client sends one short text command per line.  genred_line_reader
 * splits the byte stream into lines without ever holding more than
 * max_line (+1 for a trailing \r) bytes per client, so a client cannot make
 * the daemon buffer an unbounded line.  genred_request_parse turns one line
 * into a command. */
#ifndef GENRED_REQUEST_H
#define GENRED_REQUEST_H

#include <stddef.h>

#include "genred/protocol.h"

typedef enum genred_request_kind {
    GENRED_REQUEST_EMPTY,       /* blank line: ignored, not an error */
    GENRED_REQUEST_COMMAND,     /* one of genred_commands (protocol.h) */
    GENRED_REQUEST_UNKNOWN,     /* printable text that is no command */
    GENRED_REQUEST_BINARY,      /* NUL or another control byte inside the line */
} genred_request_kind;

typedef struct genred_request {
    genred_request_kind kind;
    genred_command command;     /* when kind is GENRED_REQUEST_COMMAND */
} genred_request;

/* Classify one line (without its '\n').  A trailing '\r' and surrounding
 * spaces/tabs are ignored; commands are case-sensitive. */
genred_request genred_request_parse(const char *line, size_t len);

/* Copy at most max_bytes of line into out (cap bytes incl. NUL) for echoing
 * it in an error object: bytes that are not printable ASCII become '?', so
 * the echo is always valid, harmless UTF-8.  Returns the length written. */
size_t genred_request_sanitise(const char *line, size_t len, size_t max_bytes,
                               char *out, size_t cap);

typedef struct genred_line_reader {
    char *buf;
    size_t len, cap;
    int discarding;             /* inside an overlong line: drop bytes up to '\n' */
} genred_line_reader;

typedef enum genred_line_event {
    GENRED_LINE_NEED_MORE,      /* input consumed, no complete line yet */
    GENRED_LINE_COMPLETE,       /* *line / *line_len hold one line, without '\n' */
    GENRED_LINE_TOO_LONG,       /* a line exceeded max_line; its rest will be discarded */
    GENRED_LINE_NO_MEMORY,      /* buffer growth failed; the client should be closed */
} genred_line_event;

void genred_line_reader_init(genred_line_reader *r);
void genred_line_reader_free(genred_line_reader *r);
/* Consume bytes from *data (advancing *data and *len) until one event
 * happens.  Call repeatedly until it returns GENRED_LINE_NEED_MORE.  A
 * returned line stays valid until the next call.  max_line may change
 * between calls (configuration reload). */
genred_line_event genred_line_reader_push(genred_line_reader *r, const char **data, size_t *len,
                                          size_t max_line, const char **line, size_t *line_len);

#endif
