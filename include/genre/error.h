/* Error reporting convention shared by every libgenre module.
 *
 * Functions that can fail take a caller-owned message buffer (char *err,
 * size_t errlen).  On failure they return NULL / a negative value and write a
 * one-line, human-readable reason there (never longer than errlen-1, always
 * NUL-terminated when errlen > 0).  err may be NULL when the caller does not
 * care.  No module prints anything by itself. */
#ifndef GENRE_ERROR_H
#define GENRE_ERROR_H

#include <stddef.h>

#if defined(__GNUC__)
#define GENRE_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define GENRE_PRINTF(fmt, args)
#endif

/* Format a message into err (if err != NULL && errlen > 0). */
void genre_set_error(char *err, size_t errlen, const char *fmt, ...) GENRE_PRINTF(3, 4);

#endif
