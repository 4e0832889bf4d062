/* Formatting into one buffer and writing it with a single write(2) keeps
 * lines from different threads whole, without a lock or stdio's buffering
 * (which would hold lines back when stderr is a pipe to journald). */
#include "genred/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024

static const char *const level_names[] = {"error", "warning", "info", "debug"};
/* syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int syslog_priorities[] = {3, 4, 6, 7};

/* JOURNAL_STREAM is "DEVICE:INODE" of the journal stream systemd connected
 * to stdout/stderr; it is only ours if fd still is that stream (a child
 * with redirected stderr inherits the variable too). */
static int stderr_is_journal(int fd)
{
    const char *js = getenv("JOURNAL_STREAM");
    if (!js || !*js)
        return 0;
    unsigned long long dev, ino;
    if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
        return 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void genred_log_init(genred_log *log, int fd)
{
    atomic_init(&log->level, GENRED_LOG_INFO);
    log->fd = fd;
    log->program = "genred";
    log->syslog_prefix = stderr_is_journal(fd);
}

void genred_log_set_level(genred_log *log, enum genred_log_level level)
{
    atomic_store_explicit(&log->level, (int)level, memory_order_relaxed);
}

int genred_log_enabled(const genred_log *log, enum genred_log_level level)
{
    return (int)level <= atomic_load_explicit(&log->level, memory_order_relaxed);
}

void genred_log_msg(genred_log *log, enum genred_log_level level, const char *fmt, ...)
{
    if (!log || !genred_log_enabled(log, level))
        return;
    char line[LOG_LINE_MAX];
    int n;
    if (log->syslog_prefix)
        n = snprintf(line, sizeof line, "<%d>", syslog_priorities[level]);
    else
        n = snprintf(line, sizeof line, "%s: %s: ", log->program, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;      /* truncated message, still one line */
    /* A message must not forge further log lines (e.g. a file name with a
     * newline in it). */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    ssize_t done = 0;
    while ((size_t)done < len) {
        ssize_t w = write(log->fd, line + done, len - (size_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;     /* nowhere to report a failing log; carry on */
        done += w;
    }
}

int genred_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *genred_log_level_name(enum genred_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "?";
}
