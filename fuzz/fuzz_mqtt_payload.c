/* Fuzz target: the state payload genred-mqtt builds from whatever genred
 * sends (bridge_state_payload on a parsed line).
 *
 * Checks beyond "no crash": for every object with a "state" string the
 * payload is valid UTF-8 and valid JSON, an object with the same members
 * but "type" and "device", in order, of the same types, numbers with the
 * same text, and "device" last; anything else is refused. */
#include "payload.h"

#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"

/* Well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n)
            return 0;
        unsigned cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];
    json_value *v = json_parse((const char *)data, size, err, sizeof err);
    if (!v)
        return 0;
    genre_json j;
    genre_json_init(&j);
    int rc = bridge_state_payload(&j, v, "fuzz-device");
    int is_result = v->type == JSON_OBJECT && json_get_string(v, "state") != NULL;
    FUZZ_CHECK((rc == 0) == is_result);
    if (rc == 0) {
        FUZZ_CHECK(valid_utf8((const unsigned char *)j.buf, j.len));
        json_value *out = json_parse(j.buf, j.len, err, sizeof err);
        FUZZ_CHECK(out && out->type == JSON_OBJECT);
        size_t k = 0;
        for (size_t i = 0; i < v->count; i++) {
            if (!strcmp(v->keys[i], "type") || !strcmp(v->keys[i], "device"))
                continue;
            FUZZ_CHECK(k < out->count && out->items[k].type == v->items[i].type);
            if (v->items[i].type == JSON_NUMBER)
                FUZZ_CHECK(out->items[k].raw_len == v->items[i].raw_len &&
                           !memcmp(out->items[k].raw, v->items[i].raw, v->items[i].raw_len));
            k++;
        }
        FUZZ_CHECK(k + 1 == out->count && strcmp(out->keys[k], "device") == 0);
        FUZZ_CHECK(strcmp(out->items[k].string, "fuzz-device") == 0);
        json_free(out);
    }
    genre_json_free(&j);
    json_free(v);
    return 0;
}
