/* Value parsers for INI configuration files (genred.conf, genred-mqtt.conf):
 * each checks one value completely and returns 0, or -1 with the reason in
 * why (a phrase to follow "[section] key: "), leaving *out unchanged. */
#include "genred/ini_value.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int genred_ini_double(const char *v, double lo, double hi, double *out, char *why, size_t n)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(d)) {
        snprintf(why, n, "'%s' is not a number", v);
        return -1;
    }
    if (d < lo || d > hi) {
        snprintf(why, n, "%s is out of range (%g..%g)", v, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

int genred_ini_long(const char *v, long lo, long hi, long *out, char *why, size_t n)
{
    char *end;
    errno = 0;
    long l = strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno == ERANGE) {
        snprintf(why, n, "'%s' is not a whole number", v);
        return -1;
    }
    if (l < lo || l > hi) {
        snprintf(why, n, "%s is out of range (%ld..%ld)", v, lo, hi);
        return -1;
    }
    *out = l;
    return 0;
}

int genred_ini_bool(const char *v, int *out, char *why, size_t n)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    snprintf(why, n, "'%s' is not yes/no/true/false/on/off/1/0", v);
    return -1;
}

int genred_ini_string(const char *v, char *dst, size_t cap, int allow_empty, char *why,
                        size_t n)
{
    size_t len = strlen(v);
    if (len == 0 && !allow_empty) {
        snprintf(why, n, "an empty value is not allowed");
        return -1;
    }
    if (len >= cap) {
        snprintf(why, n, "value too long (%zu bytes, at most %zu)", len, cap - 1);
        return -1;
    }
    memcpy(dst, v, len + 1);
    return 0;
}
