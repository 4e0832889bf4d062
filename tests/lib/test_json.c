/* genre_json, the JSON writer behind genre-classify --json and every
 * object genred sends: strings are always valid UTF-8 JSON whatever bytes
 * they are given (issue 14: a Latin-1 model file name made every status
 * line unparseable). */
#include <string.h>

#include "check.h"
#include "genre/json.h"

/* The JSON text genre_json_string makes of s (quotes included). */
static const char *string_json(genre_json *j, const char *s)
{
    genre_json_reset(j);
    genre_json_string(j, s);
    return j->failed ? "(failed)" : j->buf;
}

static void check_string(genre_json *j, const char *in, const char *want)
{
    const char *got = string_json(j, in);
    CHECK_MSG(strcmp(got, want) == 0, "input \"%s\": got %s, want %s", in, got, want);
}

/* Every byte of text is printable ASCII or part of a well-formed UTF-8
 * sequence (checked independently of the writer's own decoder, by the
 * lead byte and continuation count only: enough to catch raw bytes). */
static int is_utf8(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        size_t n = *s < 0x80 ? 1 : (*s >> 5) == 6 ? 2 : (*s >> 4) == 14 ? 3 : (*s >> 3) == 30 ? 4 : 0;
        if (n == 0 || (n > 1 && *s < 0xc2))
            return 0;
        for (size_t i = 1; i < n; i++)
            if ((s[i] & 0xc0) != 0x80)
                return 0;
        s += n;
    }
    return 1;
}

int main(void)
{
    genre_json j;
    genre_json_init(&j);

    /* Plain ASCII, escapes and well-formed UTF-8 pass as they are. */
    check_string(&j, "rock", "\"rock\"");
    check_string(&j, "a\"b\\c\nd\te\x01\x7f", "\"a\\\"b\\\\c\\nd\\te\\u0001\\u007f\"");
    check_string(&j, "M\xc3\xbcsik \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xb5",
                 "\"M\xc3\xbcsik \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xb5\"");
    /* The highest code points of each length are still well-formed. */
    check_string(&j, "\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\"\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf\"");

    /* Each invalid byte becomes U+FFFD (EF BF BD). */
    const char *fffd = "\xef\xbf\xbd";
    char want[128];
    snprintf(want, sizeof want, "\"caf%s.gmdl\"", fffd);
    check_string(&j, "caf\xe9.gmdl", want);                         /* Latin-1 e-acute */
    snprintf(want, sizeof want, "\"%s%s\"", fffd, fffd);
    check_string(&j, "\xc0\xaf", want);                             /* overlong '/' */
    snprintf(want, sizeof want, "\"%s%s%s\"", fffd, fffd, fffd);
    check_string(&j, "\xed\xa0\x80", want);                         /* surrogate U+D800 */
    snprintf(want, sizeof want, "\"%s%s%s%s\"", fffd, fffd, fffd, fffd);
    check_string(&j, "\xf4\x90\x80\x80", want);                     /* above U+10FFFF */
    snprintf(want, sizeof want, "\"%sx\"", fffd);
    check_string(&j, "\x80x", want);                                /* stray continuation */
    snprintf(want, sizeof want, "\"a%s%s\"", fffd, fffd);
    check_string(&j, "a\xe2\x82", want);                            /* truncated at the end */
    snprintf(want, sizeof want, "\"%s%s(\"", fffd, fffd);
    check_string(&j, "\xe2\x82(", want);                            /* truncated mid-string */
    snprintf(want, sizeof want, "\"%s\"", fffd);
    check_string(&j, "\xff", want);

    /* C1 controls (U+0080..U+009F, e.g. CSI U+009B) are escaped like C0. */
    check_string(&j, "x\xc2\x9b" "31m", "\"x\\u009b31m\"");
    check_string(&j, "\xc2\xa0", "\"\xc2\xa0\"");   /* U+00A0 is not a control */

    /* Keys go through the same path. */
    genre_json_reset(&j);
    genre_json_begin_object(&j);
    genre_json_key(&j, "k\xe9y");
    genre_json_int(&j, 1);
    genre_json_end_object(&j);
    snprintf(want, sizeof want, "{\"k%sy\":1}", fffd);
    CHECK_MSG(strcmp(j.buf, want) == 0, "key: got %s", j.buf);

    /* Every single byte value, and every pair, gives valid UTF-8. */
    int bad = 0;
    for (int a = 1; a < 256; a++) {
        for (int b = 0; b < 256; b++) {
            char in[3] = {(char)a, (char)b, 0};
            if (!is_utf8(string_json(&j, in)))
                bad++;
        }
    }
    CHECK_MSG(bad == 0, "%d byte pairs gave invalid UTF-8", bad);

    /* Numbers: non-finite values are null, never "nan" or "inf". */
    genre_json_reset(&j);
    genre_json_begin_array(&j);
    genre_json_number(&j, 0.5);
    genre_json_number(&j, 0.0 / 0.0);
    genre_json_number(&j, 1.0 / 0.0);
    genre_json_fixed(&j, -1.0 / 0.0, 3);
    genre_json_end_array(&j);
    CHECK_MSG(strcmp(j.buf, "[0.5,null,null,null]") == 0, "numbers: got %s", j.buf);

    genre_json_free(&j);
    return check_exit_status("test_json");
}
