/* Opening files that configuration names, without ever blocking.
 *
 * A daemon opens its config, model and audio file on its main loop.  If
 * such a path names a FIFO, open(2) waits for a writer and read(2) for
 * data, possibly for ever, and the loop stops serving clients and
 * signals.  A character device (/dev/zero, a terminal) is no better.  So
 * these open with O_NONBLOCK (which makes open return at once for any
 * kind of file), refuse everything but a regular file, and only then
 * clear O_NONBLOCK (irrelevant to regular files, but a library handed the
 * fd should see an ordinary one). */
#ifndef GENRE_FILE_H
#define GENRE_FILE_H

#include <stddef.h>

/* A read-only, close-on-exec fd of the regular file at path, or -1 with
 * a reason in err ("PATH: No such file or directory", "PATH: is a FIFO,
 * not a regular file", ...). */
int genre_file_open_regular(const char *path, char *err, size_t errlen);

/* The whole regular file at path, at most max bytes, in a malloc'd buffer
 * (NUL-terminated, the terminator not counted in *size).  NULL with a
 * reason in err when it cannot be opened, is not a regular file, is
 * larger than max, cannot be read, or grows while it is read. */
char *genre_file_read_regular(const char *path, size_t max, size_t *size, char *err,
                              size_t errlen);

#endif
