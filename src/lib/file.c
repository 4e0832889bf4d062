/* Non-blocking opening of regular files (see file.h). */
#include "genre/file.h"
#include "genre/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

int genre_file_open_regular(const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        genre_set_error(err, errlen, "empty path");
        return -1;
    }
    /* O_NONBLOCK: open(2) of a FIFO without a writer would wait for one.
     * O_NOCTTY: a terminal must not become our controlling one. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        genre_set_error(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        genre_set_error(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        const char *kind = kind_of(st.st_mode);
        genre_set_error(err, errlen, "%s: %s%s", path, kind,
                        strcmp(kind, "not a regular file") == 0 ? "" : ", not a regular file");
        close(fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        genre_set_error(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

char *genre_file_read_regular(const char *path, size_t max, size_t *size, char *err,
                              size_t errlen)
{
    int fd = genre_file_open_regular(path, err, errlen);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        genre_set_error(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
        genre_set_error(err, errlen, "%s: too large (%lld bytes, at most %zu)", path,
                        (long long)st.st_size, max);
        close(fd);
        return NULL;
    }
    /* One byte more than the size: reading it means the file grew. */
    size_t cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap + 1);
    if (!buf) {
        genre_set_error(err, errlen, "%s: out of memory", path);
        close(fd);
        return NULL;
    }
    size_t len = 0;
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            genre_set_error(err, errlen, "%s: read error: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len == cap) {
        genre_set_error(err, errlen, "%s: it changed while being read", path);
        goto fail;
    }
    close(fd);
    buf[len] = '\0';
    *size = len;
    return buf;
fail:
    close(fd);
    free(buf);
    return NULL;
}
