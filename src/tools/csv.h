/* Small RFC 4180 CSV reader/writer for manifests and index files: quoted
 * fields may hold commas, doubled quotes and newlines; CRLF or LF line ends;
 * a UTF-8 byte-order mark is skipped. */
#ifndef GENRE_TOOLS_CSV_H
#define GENRE_TOOLS_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef struct csv_row {
    size_t n_fields;
    char **fields;
    size_t line;        /* 1-based line where the record starts */
} csv_row;

typedef struct csv_table {
    size_t n_rows;      /* including the header row */
    csv_row *rows;
} csv_table;

/* Parse a whole file.  Empty lines are skipped.  NULL with a reason
 * (naming the file and line) on error. */
csv_table *csv_read_file(const char *path, char *err, size_t errlen);
/* Column index of a header name in row 0, or -1. */
long csv_column(const csv_table *t, const char *name);
void csv_free(csv_table *t);

/* Write one field, quoted only when it needs to be. */
void csv_write_field(FILE *out, const char *s);

#endif
