/* Logging a problem once (log_once.h). */
#include "log_once.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void log_once_reset(log_once *o)
{
    o->last[0] = '\0';
}

void log_once_msg(log_once *o, genred_log *log, const char *prefix, const char *fmt, ...)
{
    char reason[LOG_ONCE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    int repeated = strcmp(reason, o->last) == 0;
    genred_log_msg(log, repeated ? GENRED_LOG_DEBUG : GENRED_LOG_WARNING, "%s: %s", prefix, reason);
    memcpy(o->last, reason, sizeof reason);
}
