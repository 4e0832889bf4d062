/* Unit tests of request framing and parsing (include/genred/request.h). */
#include "genred/request.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

#define PARSE(lit) genred_request_parse(lit, sizeof(lit) - 1).kind
/* The line parses as exactly this command. */
#define PARSES_AS(lit, cmd)                                                                    \
    (genred_request_parse(lit, sizeof(lit) - 1).kind == GENRED_REQUEST_COMMAND &&              \
     genred_request_parse(lit, sizeof(lit) - 1).command == (cmd))

static void test_parse(void)
{
    CHECK(PARSES_AS("status", GENRED_COMMAND_STATUS));
    CHECK(PARSES_AS("watch", GENRED_COMMAND_WATCH));
    CHECK(PARSES_AS("unwatch", GENRED_COMMAND_UNWATCH));
    CHECK(PARSES_AS("stats", GENRED_COMMAND_STATS));
    CHECK(PARSES_AS("version", GENRED_COMMAND_VERSION));
    CHECK(PARSES_AS("help", GENRED_COMMAND_HELP));
    CHECK(PARSES_AS("  status\t \r", GENRED_COMMAND_STATUS));
    CHECK(PARSE("Status") == GENRED_REQUEST_UNKNOWN);
    CHECK(PARSE("statu") == GENRED_REQUEST_UNKNOWN);
    CHECK(PARSE("statuss") == GENRED_REQUEST_UNKNOWN);
    CHECK(PARSE("status now") == GENRED_REQUEST_UNKNOWN);
    CHECK(PARSE("") == GENRED_REQUEST_EMPTY);
    CHECK(PARSE(" \t\r") == GENRED_REQUEST_EMPTY);
    CHECK(PARSE("\r") == GENRED_REQUEST_EMPTY);
    CHECK(PARSE("sta\0tus") == GENRED_REQUEST_BINARY);
    CHECK(PARSE("\0") == GENRED_REQUEST_BINARY);
    CHECK(PARSE("status\r\r") == GENRED_REQUEST_BINARY);  /* only one trailing \r is framing */
    CHECK(PARSE("\x1b[A") == GENRED_REQUEST_BINARY);
    CHECK(PARSE("x\x7f") == GENRED_REQUEST_BINARY);
    CHECK(PARSE("caf\xc3\xa9") == GENRED_REQUEST_UNKNOWN);   /* UTF-8 is text */
}

/* The command table (protocol.h): every name is found again by lookup,
 * `help` lists status first, and only unwatch needs a session. */
static void test_command_table(void)
{
    CHECK(GENRED_COMMAND_COUNT == 6);
    CHECK(strcmp(genred_commands[0].name, "status") == 0);
    for (int i = 0; i < GENRED_COMMAND_COUNT; i++) {
        const char *name = genred_commands[i].name;
        CHECK(genred_command_lookup(name, strlen(name)) == i);
        CHECK(genred_commands[i].reply_type != NULL);
        CHECK(genred_commands[i].one_shot == (i != GENRED_COMMAND_UNWATCH));
    }
    CHECK(strcmp(genred_commands[GENRED_COMMAND_WATCH].reply_type, "ok") == 0);
    CHECK(genred_command_lookup("stat", 4) == -1);
    CHECK(genred_command_lookup("statuses", 6) == GENRED_COMMAND_STATUS);
}

static void test_sanitise(void)
{
    char out[16];
    CHECK(genred_request_sanitise("ab\x01\xff" "c", 5, 64, out, sizeof out) == 5);
    CHECK(strcmp(out, "ab??c") == 0);
    CHECK(genred_request_sanitise("abcdefgh", 8, 3, out, sizeof out) == 3);
    CHECK(strcmp(out, "abc") == 0);
    CHECK(genred_request_sanitise("abcdefghijklmnopqrstuvwxyz", 26, 64, out, sizeof out) == 15);
    CHECK(strcmp(out, "abcdefghijklmno") == 0);
    CHECK(genred_request_sanitise("abc", 3, 64, out, 0) == 0);
}

/* Feeds input in chunks of `chunk` bytes and records events as a string:
 * "L<line>|" per complete line, "T|" per too-long line. */
static void run_reader(const char *input, size_t len, size_t chunk, size_t max_line, char *log,
                       size_t logcap)
{
    genred_line_reader r;
    genred_line_reader_init(&r);
    log[0] = '\0';
    for (size_t pos = 0; pos < len; pos += chunk) {
        const char *p = input + pos;
        size_t left = len - pos < chunk ? len - pos : chunk;
        for (;;) {
            const char *line;
            size_t line_len;
            genred_line_event ev = genred_line_reader_push(&r, &p, &left, max_line, &line, &line_len);
            if (ev == GENRED_LINE_NEED_MORE)
                break;
            size_t used = strlen(log);
            if (ev == GENRED_LINE_COMPLETE)
                snprintf(log + used, logcap - used, "L%.*s|", (int)line_len, line);
            else if (ev == GENRED_LINE_TOO_LONG)
                snprintf(log + used, logcap - used, "T|");
            else
                snprintf(log + used, logcap - used, "M|");
        }
        CHECK(left == 0);
    }
    genred_line_reader_free(&r);
}

static void test_reader(void)
{
    static const char stream[] = "status\nhelp\r\n\n0123456789\n0123456789\r\n01234567890\n"
                                 "0123456789abcdefghij0123456789\nversion\npartial";
    static const char expect[] = "Lstatus|Lhelp\r|L|L0123456789|L0123456789\r|T|T|Lversion|";
    char log[512];
    /* Every chunking must give the same events. */
    for (size_t chunk = 1; chunk <= sizeof stream; chunk++) {
        run_reader(stream, sizeof stream - 1, chunk, 10, log, sizeof log);
        CHECK_MSG(strcmp(log, expect) == 0, "chunk %zu: got %s", chunk, log);
    }
    /* An overlong line without newline is reported once, as soon as known. */
    run_reader("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 36, 4, 10, log, sizeof log);
    CHECK(strcmp(log, "T|") == 0);
    run_reader("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nok\n", 40, 7, 10, log, sizeof log);
    CHECK(strcmp(log, "T|Lok|") == 0);

    /* The limit may change between calls (reload). */
    genred_line_reader r;
    genred_line_reader_init(&r);
    const char *p = "abcdef\n";
    size_t left = 7;
    const char *line;
    size_t line_len;
    CHECK(genred_line_reader_push(&r, &p, &left, 3, &line, &line_len) == GENRED_LINE_TOO_LONG);
    p = "abcdef\n";
    left = 7;
    CHECK(genred_line_reader_push(&r, &p, &left, 6, &line, &line_len) == GENRED_LINE_COMPLETE);
    CHECK(line_len == 6 && memcmp(line, "abcdef", 6) == 0 && line[6] == '\0');
    genred_line_reader_free(&r);
}

int main(void)
{
    test_parse();
    test_command_table();
    test_sanitise();
    test_reader();
    return check_exit_status("test_request");
}
