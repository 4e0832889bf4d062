/* The tools' CSV reader and writer (src/tools/csv.c): RFC 4180 quoting,
 * CRLF and LF, a byte-order mark, empty lines, errors naming the line, and
 * what the writer quotes. */
#include "check.h"

#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static csv_table *read_text(const char *text, char *err, size_t errlen)
{
    char path[] = "/tmp/test_csv_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    csv_table *t = csv_read_file(path, err, errlen);
    unlink(path);
    return t;
}

static int field_is(const csv_table *t, size_t row, size_t col, const char *want)
{
    return row < t->n_rows && col < t->rows[row].n_fields &&
           strcmp(t->rows[row].fields[col], want) == 0;
}

int main(void)
{
    char err[256] = "";
    csv_table *t = read_text("\xEF\xBB\xBF" "file,label\r\n"
                             "a.opus,jazz\r\n"
                             "\n"
                             "\"b, with comma.opus\",\"say \"\"hi\"\"\"\n"
                             "\"multi\nline\",rock\n",
                             err, sizeof err);
    CHECK_MSG(t != NULL, "%s", err);
    if (t) {
        CHECK(t->n_rows == 4);
        CHECK(field_is(t, 0, 0, "file"));           /* the BOM is not part of the name */
        CHECK(csv_column(t, "label") == 1 && csv_column(t, "split") == -1);
        CHECK(field_is(t, 1, 1, "jazz"));
        CHECK(field_is(t, 2, 0, "b, with comma.opus") && field_is(t, 2, 1, "say \"hi\""));
        CHECK(field_is(t, 3, 0, "multi\nline"));
        CHECK_MSG(t->rows[2].line == 4 && t->rows[3].line == 5, "lines %zu %zu",
                  t->rows[2].line, t->rows[3].line);
        csv_free(t);
    }
    t = read_text("a,b\n\"open quote,x\n", err, sizeof err);
    CHECK_MSG(t == NULL && strstr(err, ":2") != NULL, "unterminated quote: %s", err);
    csv_free(t);

    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    csv_write_field(f, "plain");
    fputc(',', f);
    csv_write_field(f, "with, comma");
    fputc(',', f);
    csv_write_field(f, "quote\"d");
    fputc(',', f);
    csv_write_field(f, "new\nline");
    fclose(f);
    CHECK_MSG(strcmp(out, "plain,\"with, comma\",\"quote\"\"d\",\"new\nline\"") == 0, "%s", out);
    free(out);
    return check_exit_status("test_csv");
}
