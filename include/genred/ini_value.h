/* Value parsers shared by genred's INI configuration files (genred.conf,
 * genred-mqtt.conf): one home for what "a number", "yes/no" and "a path"
 * mean there.  Each returns 0, or -1 with a reason in why (written to
 * follow "[section] key: ") and *out unchanged.  Tested by test_config. */
#ifndef GENRED_INI_VALUE_H
#define GENRED_INI_VALUE_H

#include <stddef.h>

/* A finite decimal number in lo..hi. */
int genred_ini_double(const char *v, double lo, double hi, double *out, char *why, size_t n);
/* A whole decimal number in lo..hi. */
int genred_ini_long(const char *v, long lo, long hi, long *out, char *why, size_t n);
/* yes/no, true/false, on/off, 1/0. */
int genred_ini_bool(const char *v, int *out, char *why, size_t n);
/* A string that fits dst[cap] (with its NUL); empty only when allow_empty. */
int genred_ini_string(const char *v, char *dst, size_t cap, int allow_empty, char *why,
                      size_t n);

#endif
