#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "genre/error.h"

static int adopt_inherited(genred_listener *l, int fd, char *err, size_t errlen)
{
    int type = 0, domain = 0, listening = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        genre_set_error(err, errlen, "inherited fd %d is not a socket: %s", fd, strerror(errno));
        return -1;
    }
    len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX ||
        type != SOCK_STREAM) {
        genre_set_error(err, errlen, "inherited fd %d is not a UNIX stream socket", fd);
        return -1;
    }
    len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) {
        genre_set_error(err, errlen, "inherited fd %d is not a listening socket", fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        genre_set_error(err, errlen, "cannot make inherited fd %d non-blocking: %s", fd,
                        strerror(errno));
        return -1;
    }
    l->fd = fd;
    return 0;
}

static int check_directory(const char *path, char *err, size_t errlen)
{
    char *copy = strdup(path);
    if (!copy) {
        genre_set_error(err, errlen, "out of memory");
        return -1;
    }
    const char *dir = dirname(copy);
    struct stat st;
    int rc = -1;
    if (stat(dir, &st) < 0) {
        if (errno == ENOENT)
            genre_set_error(err, errlen, "socket directory %s does not exist", dir);
        else
            genre_set_error(err, errlen, "cannot access socket directory %s: %s", dir,
                            strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        genre_set_error(err, errlen, "socket directory %s is not a directory", dir);
    } else if (access(dir, W_OK | X_OK) < 0) {
        genre_set_error(err, errlen, "socket directory %s is not writable: %s", dir,
                        strerror(errno));
    } else {
        rc = 0;
    }
    free(copy);
    return rc;
}

/* A socket file left by a crashed daemon refuses connections; one with a
 * live daemon behind it accepts them (or is merely busy).  Only the first
 * kind may be removed. */
static int remove_stale_socket(const char *path, const struct sockaddr_un *addr, char *err,
                               size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        genre_set_error(err, errlen, "cannot examine %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        genre_set_error(err, errlen, "%s exists and is not a socket; refusing to replace it",
                        path);
        return -1;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        genre_set_error(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int rc = connect(probe, (const struct sockaddr *)addr, sizeof *addr);
    int saved = errno;
    close(probe);
    if (rc == 0 || saved == EAGAIN || saved == EINPROGRESS) {
        genre_set_error(err, errlen, "another process is already listening on %s", path);
        return -1;
    }
    if (saved != ECONNREFUSED) {
        genre_set_error(err, errlen, "cannot check existing socket %s: %s", path,
                        strerror(saved));
        return -1;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        genre_set_error(err, errlen, "cannot remove stale socket %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int set_group(const char *path, const char *group, char *err, size_t errlen)
{
    errno = 0;
    struct group *gr = getgrnam(group);
    if (!gr) {
        if (errno)
            genre_set_error(err, errlen, "cannot look up group %s: %s", group, strerror(errno));
        else
            genre_set_error(err, errlen, "socket group %s does not exist", group);
        return -1;
    }
    /* Already right (our primary group, a setgid directory): no chown,
     * which a system call filter may forbid. */
    struct stat st;
    if (lstat(path, &st) == 0 && st.st_gid == gr->gr_gid)
        return 0;
    /* A configured group that silently did not apply would leave its
     * members unable to connect with no hint why, so failure is an error
     * even when not running as root. */
    if (chown(path, (uid_t)-1, gr->gr_gid) < 0) {
        genre_set_error(err, errlen, "cannot give socket %s to group %s: %s", path, group,
                        strerror(errno));
        return -1;
    }
    return 0;
}

static int create_at_path(genred_listener *l, const genred_socket_spec *spec, char *err,
                          size_t errlen)
{
    const char *path = spec->path;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (!path || !*path) {
        genre_set_error(err, errlen, "no socket path given");
        return -1;
    }
    if (strlen(path) >= sizeof addr.sun_path) {
        genre_set_error(err, errlen, "socket path %s is too long (limit %zu bytes)", path,
                        sizeof addr.sun_path - 1);
        return -1;
    }
    /* The mode is applied as given: 0 is a valid mode (only root may
     * connect), not "unset". */
    unsigned mode = spec->mode;
    if (mode & ~07777u) {
        genre_set_error(err, errlen, "invalid socket mode %o", mode);
        return -1;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);

    if (check_directory(path, err, errlen) < 0 || remove_stale_socket(path, &addr, err, errlen) < 0)
        return -1;

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        genre_set_error(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)&addr, sizeof addr) < 0) {
        genre_set_error(err, errlen, "cannot bind %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    /* Permissions are set between bind and listen: until listen() every
     * connect is refused, so no client ever sees the default mode. */
    struct stat st;
    if (chmod(path, (mode_t)mode) < 0) {
        genre_set_error(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
        goto fail;
    }
    if (spec->group && *spec->group && set_group(path, spec->group, err, errlen) < 0)
        goto fail;
    if (listen(fd, SOMAXCONN) < 0) {
        genre_set_error(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
        goto fail;
    }
    if (lstat(path, &st) < 0) {
        genre_set_error(err, errlen, "socket %s vanished: %s", path, strerror(errno));
        goto fail;
    }
    l->path = strdup(path);
    if (!l->path) {
        genre_set_error(err, errlen, "out of memory");
        goto fail;
    }
    l->fd = fd;
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    return 0;
fail:
    close(fd);
    unlink(path);
    return -1;
}

int genred_listener_open(genred_listener *l, const genred_socket_spec *spec, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    if (!spec) {
        genre_set_error(err, errlen, "no socket given");
        return -1;
    }
    if (spec->inherited_fd >= 0)
        return adopt_inherited(l, spec->inherited_fd, err, errlen);
    return create_at_path(l, spec, err, errlen);
}

void genred_listener_close(genred_listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (l->path) {
        struct stat st;
        if (lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
            unlink(l->path);
        free(l->path);
        l->path = NULL;
    }
}
