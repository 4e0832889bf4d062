#include "csv.h"
#include "genre/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Growable byte and pointer arrays, local to the parser. */
typedef struct { char *p; size_t len, cap; } strbuf;
typedef struct { char **p; size_t len, cap; } fieldlist;

static int strbuf_put(strbuf *b, char c)
{
    if (b->len + 1 >= b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
    return 0;
}

static int fieldlist_take(fieldlist *l, strbuf *b)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        char **np = realloc(l->p, cap * sizeof *np);
        if (!np)
            return -1;
        l->p = np;
        l->cap = cap;
    }
    char *s = b->p ? b->p : strdup("");
    if (!s)
        return -1;
    l->p[l->len++] = s;
    b->p = NULL;
    b->len = b->cap = 0;
    return 0;
}

static int table_add(csv_table *t, size_t *cap, fieldlist *l, size_t line)
{
    if (t->n_rows == *cap) {
        size_t ncap = *cap ? 2 * *cap : 64;
        csv_row *np = realloc(t->rows, ncap * sizeof *np);
        if (!np)
            return -1;
        t->rows = np;
        *cap = ncap;
    }
    t->rows[t->n_rows++] = (csv_row){.n_fields = l->len, .fields = l->p, .line = line};
    l->p = NULL;
    l->len = l->cap = 0;
    return 0;
}

static void fieldlist_free(fieldlist *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->p[i]);
    free(l->p);
}

csv_table *csv_read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        genre_set_error(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    csv_table *t = calloc(1, sizeof *t);
    strbuf field = {0};
    fieldlist row = {0};
    size_t rows_cap = 0, line = 1, row_line = 1;
    int in_quotes = 0, after_quote = 0, row_has_content = 0, failed = 0;
    if (!t) {
        fclose(f);
        genre_set_error(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    /* Skip a UTF-8 byte-order mark (spreadsheet exports add one). */
    unsigned char bom[3];
    size_t got = fread(bom, 1, 3, f);
    if (!(got == 3 && bom[0] == 0xef && bom[1] == 0xbb && bom[2] == 0xbf))
        rewind(f);

    for (;;) {
        int c = getc(f);
        if (in_quotes) {
            if (c == EOF) {
                genre_set_error(err, errlen, "%s:%zu: unterminated quoted field", path, row_line);
                failed = 1;
                break;
            }
            if (c == '"') {
                int next = getc(f);
                if (next == '"') {
                    failed |= strbuf_put(&field, '"') != 0;
                    continue;
                }
                ungetc(next, f);
                in_quotes = 0;
                after_quote = 1;
                continue;
            }
            if (c == '\n')
                line++;
            failed |= strbuf_put(&field, (char)c) != 0;
            if (failed)
                break;
            continue;
        }
        if (c == '\r') {
            int next = getc(f);
            if (next != '\n' && next != EOF)
                ungetc(next, f);
            c = '\n';
        }
        if (c == ',') {
            if (fieldlist_take(&row, &field) != 0) { failed = 1; break; }
            after_quote = 0;
            row_has_content = 1;
            continue;
        }
        if (c == '\n' || c == EOF) {
            if (row_has_content || field.len > 0 || after_quote) {
                if (fieldlist_take(&row, &field) != 0 || table_add(t, &rows_cap, &row, row_line) != 0) {
                    failed = 1;
                    break;
                }
            }
            after_quote = 0;
            row_has_content = 0;
            if (c == EOF)
                break;
            line++;
            row_line = line;
            continue;
        }
        if (c == '"') {
            if (field.len == 0 && !after_quote) {
                in_quotes = 1;
                row_has_content = 1;
                continue;
            }
            genre_set_error(err, errlen, "%s:%zu: stray quote inside an unquoted field", path, line);
            failed = 2;
            break;
        }
        if (after_quote) {
            genre_set_error(err, errlen, "%s:%zu: text after a closing quote", path, line);
            failed = 2;
            break;
        }
        if (strbuf_put(&field, (char)c) != 0) { failed = 1; break; }
    }
    if (!failed && ferror(f)) {
        genre_set_error(err, errlen, "%s: read error", path);
        failed = 2;
    }
    fclose(f);
    free(field.p);
    fieldlist_free(&row);
    if (failed) {
        if (failed == 1 && !(err && *err))
            genre_set_error(err, errlen, "%s: out of memory", path);
        csv_free(t);
        return NULL;
    }
    if (t->n_rows == 0) {
        genre_set_error(err, errlen, "%s: empty (no header row)", path);
        csv_free(t);
        return NULL;
    }
    return t;
}

long csv_column(const csv_table *t, const char *name)
{
    if (!t || t->n_rows == 0)
        return -1;
    for (size_t i = 0; i < t->rows[0].n_fields; i++)
        if (strcmp(t->rows[0].fields[i], name) == 0)
            return (long)i;
    return -1;
}

void csv_free(csv_table *t)
{
    if (!t)
        return;
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t i = 0; i < t->rows[r].n_fields; i++)
            free(t->rows[r].fields[i]);
        free(t->rows[r].fields);
    }
    free(t->rows);
    free(t);
}

void csv_write_field(FILE *out, const char *s)
{
    size_t n = strlen(s);
    int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    if (!quote)
        quote = strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) {
        fputs(s, out);
        return;
    }
    putc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', out);
        putc(*s, out);
    }
    putc('"', out);
}
