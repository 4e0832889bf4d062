/* Logging a problem once: a bridge retries for ever, and the same failure
 * on every retry (genred not running, broker unreachable) must not fill
 * the journal.  A reason equal to the last one logged goes to debug; a new
 * one is a warning.  Used by follower.c and broker.c. */
#ifndef GENRED_MQTT_LOG_ONCE_H
#define GENRED_MQTT_LOG_ONCE_H

#include "genre/error.h"
#include "genred/log.h"

#define LOG_ONCE_MAX 320

typedef struct log_once {
    char last[LOG_ONCE_MAX];    /* the last reason logged as a warning */
} log_once;

/* Forget the last reason: the next problem is news again. */
void log_once_reset(log_once *o);
/* Log "PREFIX: reason" (reason formatted from fmt). */
void log_once_msg(log_once *o, genred_log *log, const char *prefix, const char *fmt, ...)
    GENRE_PRINTF(4, 5);

#endif
