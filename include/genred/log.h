/* genred's log: one line per message on stderr, safe to call from any
 * thread (each line goes out in a single write).  Under systemd (stderr is
 * the journal, JOURNAL_STREAM set) or with --syslog-prefix, lines carry a
 * "<N>" syslog priority prefix that journald turns into the priority;
 * otherwise they read "genred: warning: ...". */
#ifndef GENRED_LOG_H
#define GENRED_LOG_H

#include <stdatomic.h>
#include "genre/error.h"

enum genred_log_level {
    GENRED_LOG_ERROR = 0,
    GENRED_LOG_WARNING = 1,
    GENRED_LOG_INFO = 2,
    GENRED_LOG_DEBUG = 3,
};

typedef struct genred_log {
    _Atomic int level;          /* messages above this level are dropped */
    int syslog_prefix;          /* emit "<N>" priority prefixes */
    int fd;                     /* normally 2 */
    const char *program;        /* line prefix without syslog prefixes; "genred" */
} genred_log;

/* Level INFO, program "genred", syslog prefixes when JOURNAL_STREAM names
 * our stderr.  Another program sets log->program after this. */
void genred_log_init(genred_log *log, int fd);
void genred_log_set_level(genred_log *log, enum genred_log_level level);
int genred_log_enabled(const genred_log *log, enum genred_log_level level);
void genred_log_msg(genred_log *log, enum genred_log_level level, const char *fmt, ...)
    GENRE_PRINTF(3, 4);
/* "error" / "warning" / "info" / "debug" <-> level; -1 when unknown. */
int genred_log_level_parse(const char *name);
const char *genred_log_level_name(enum genred_log_level level);

#define genred_error(log, ...) genred_log_msg((log), GENRED_LOG_ERROR, __VA_ARGS__)
#define genred_warning(log, ...) genred_log_msg((log), GENRED_LOG_WARNING, __VA_ARGS__)
#define genred_info(log, ...) genred_log_msg((log), GENRED_LOG_INFO, __VA_ARGS__)
#define genred_debug(log, ...) genred_log_msg((log), GENRED_LOG_DEBUG, __VA_ARGS__)

#endif
