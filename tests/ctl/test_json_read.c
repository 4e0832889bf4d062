/* Unit tests of genrectl's JSON reader (src/ctl/json_read.h). */
#include "json_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static json_value *parse(const char *s)
{
    char err[128];
    return json_parse(s, strlen(s), err, sizeof err);
}

static void test_status_object(void)
{
    const char *text = " {\"type\":\"status\",\"seq\":42,\"genre\":\"rock\",\"confidence\":0.71,"
                       "\"probabilities\":{\"blues\":1e-2,\"rock\":0.71},\"window\":{\"start\":12.0,"
                       "\"end\":22.0},\"ok\":true,\"no\":false,\"gone\":null,\"list\":[1,[2],{}]} ";
    json_value *v = parse(text);
    CHECK(v && v->type == JSON_OBJECT && v->count == 10);
    if (!v)
        return;
    double d;
    CHECK(strcmp(json_get_string(v, "type"), "status") == 0);
    CHECK(json_get_number(v, "seq", &d) == 0 && d == 42);
    CHECK(json_get_number(v, "genre", &d) == -1);
    CHECK(json_get_string(v, "seq") == NULL);
    CHECK(json_get(v, "missing") == NULL);
    const json_value *p = json_get(v, "probabilities");
    CHECK(p && p->count == 2 && strcmp(p->keys[1], "rock") == 0);
    CHECK(json_get_number(p, "blues", &d) == 0 && d > 0.0099 && d < 0.0101);
    CHECK(json_get_number(json_get(v, "window"), "end", &d) == 0 && d == 22.0);
    CHECK(json_get(v, "ok")->type == JSON_BOOL && json_get(v, "ok")->boolean == 1);
    CHECK(json_get(v, "no")->boolean == 0);
    CHECK(json_get(v, "gone")->type == JSON_NULL);
    const json_value *list = json_get(v, "list");
    CHECK(list->type == JSON_ARRAY && list->count == 3 && list->items[1].count == 1);
    /* raw spans reproduce the source exactly */
    CHECK(list->raw_len == 10 && memcmp(list->raw, "[1,[2],{}]", 10) == 0);
    CHECK(json_get(v, "confidence")->raw_len == 4);
    CHECK(json_get(NULL, "x") == NULL && json_get(list, "x") == NULL);
    json_free(v);
}

static void test_strings(void)
{
    json_value *v = parse("\"a\\\"b\\\\c\\/\\n\\t\\u00e9\\u20ac\\ud83c\\udfb5\"");
    CHECK(v && v->type == JSON_STRING);
    if (v) {
        CHECK(strcmp(v->string, "a\"b\\c/\n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xb5") == 0);
        json_free(v);
    }
    v = parse("\"nul\\u0000inside\"");
    CHECK(v && v->string_len == 10 && v->string[3] == '\0');
    json_free(v);
    v = parse("{\"k\\u0041\":1}");
    CHECK(v && strcmp(v->keys[0], "kA") == 0);
    json_free(v);
}

static void test_numbers(void)
{
    static const char *good[] = {"0", "-0", "12", "-3.25", "1e5", "1E-2", "2.5e+3"};
    static const double value[] = {0, 0, 12, -3.25, 1e5, 1e-2, 2500};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        json_value *v = parse(good[i]);
        CHECK(v && v->type == JSON_NUMBER && v->number == value[i]);
        json_free(v);
    }
}

static void test_rejects(void)
{
    static const char *bad[] = {
        "", "   ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "1.",
        ".5", "-", "1e", "+1", "tru", "nul", "\"unterminated", "\"bad \\x escape\"",
        "\"ctrl \x01 char\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
        "{} {}", "{}x", "\"abc\\", "[\"a\"", "NaN", "Infinity",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "";
        json_value *v = json_parse(bad[i], strlen(bad[i]), err, sizeof err);
        CHECK_MSG(!v && err[0], "accepted or no reason: '%s'", bad[i]);
        json_free(v);
    }
    /* Deep nesting is an error, not a stack overflow. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    char err[128] = "";
    CHECK(json_parse(deep, 2 * depth, err, sizeof err) == NULL && strstr(err, "deep"));
    memset(deep, '[', JSON_READ_MAX_DEPTH);
    memset(deep + JSON_READ_MAX_DEPTH, ']', JSON_READ_MAX_DEPTH);
    json_value *v = json_parse(deep, 2 * JSON_READ_MAX_DEPTH, err, sizeof err);
    CHECK(v != NULL);
    json_free(v);
    free(deep);
    /* Input is length-delimited: nothing is read past len. */
    v = json_parse("{}garbage", 2, err, sizeof err);
    CHECK(v && v->type == JSON_OBJECT);
    json_free(v);
}

int main(void)
{
    test_status_object();
    test_strings();
    test_numbers();
    test_rejects();
    return check_exit_status("test_json_read");
}
