/* Audio file input: plain Ogg Opus through the direct decoder
 * (ogg_opus.h: the same samples, without libopus's per-packet CPU
 * detection), everything else through libsndfile.  Everything is read as
 * float so the rest of the chain sees one sample format whatever the
 * container holds. */
#include "genre/audiofile.h"
#include "inspect.h"
#include "genre/error.h"
#include "genre/file.h"
#include "ogg_opus.h"

#include <fcntl.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct genre_audiofile {
    SNDFILE *sf;            /* libsndfile, or */
    genre_ogg_opus *opus;   /* the direct Opus decoder, reading fd */
    int fd;
    SF_INFO info;           /* rate, channels, frames of either */
    char *path;             /* kept to name the file in decode errors */
};

/* libsndfile keeps the reason of a failed open in one process-wide
 * variable (sf_strerror(NULL)), which any other open, failed or not,
 * overwrites: with several files opened at once (genre-classify --jobs) a
 * file could be reported with another file's reason, or "No Error".  Opens
 * and the reading of that reason are therefore serialised here: the one
 * piece of shared state in libgenre, guarding a library's own. */
static pthread_mutex_t sndfile_open_lock = PTHREAD_MUTEX_INITIALIZER;

/* sf_open_fd (fd >= 0, owning it) or sf_open (path); on failure the file
 * and libsndfile's reason in err. */
static SNDFILE *sndfile_open(int fd, const char *path, SF_INFO *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    pthread_mutex_lock(&sndfile_open_lock);
    /* close_desc: libsndfile owns fd from here, and closes it itself
     * when the open fails. */
    SNDFILE *sf = fd >= 0 ? sf_open_fd(fd, SFM_READ, info, SF_TRUE)
                          : sf_open(path, SFM_READ, info);
    if (!sf)
        genre_set_error(err, errlen, "%s: cannot open audio file: %s", path, sf_strerror(NULL));
    pthread_mutex_unlock(&sndfile_open_lock);
    return sf;
}

/* A zeroed genre_audiofile holding a copy of path, or NULL with a message. */
static genre_audiofile *new_audiofile(const char *path, char *err, size_t errlen)
{
    genre_audiofile *f = calloc(1, sizeof *f);
    char *copy = strdup(path);
    if (!f || !copy) {
        genre_set_error(err, errlen, "%s: out of memory", path);
        free(f);
        free(copy);
        return NULL;
    }
    f->path = copy;
    return f;
}

/* The direct Opus decoder on a regular file: the file, NULL with
 * *declined = 1 (fd untouched, to be read by libsndfile), or NULL with a
 * reason (fd closed). */
static genre_audiofile *try_opus(int fd, const char *path, int *declined, char *err,
                                 size_t errlen)
{
    genre_ogg_opus *o = genre_ogg_opus_open(fd, path, declined, err, errlen);
    if (!o) {
        if (!*declined)
            close(fd);
        else if (lseek(fd, 0, SEEK_SET) != 0)
            *declined = 1;
        return NULL;
    }
    genre_audiofile *f = new_audiofile(path, err, errlen);
    if (!f) {
        genre_ogg_opus_del(o);
        close(fd);
        return NULL;
    }
    f->opus = o;
    f->fd = fd;
    f->info.samplerate = genre_ogg_opus_rate(o);
    f->info.channels = genre_ogg_opus_channels(o);
    int64_t frames = genre_ogg_opus_frames(o);
    f->info.frames = frames >= 0 ? (sf_count_t)frames : SF_COUNT_MAX;
    return f;
}

/* Takes over sf (closing it on failure). */
static genre_audiofile *wrap(SNDFILE *sf, const SF_INFO *info, const char *path, char *err,
                             size_t errlen)
{
    if (info->channels <= 0 || info->samplerate <= 0) {
        genre_set_error(err, errlen, "%s: invalid audio format (%d channels at %d Hz)", path,
                        info->channels, info->samplerate);
        sf_close(sf);
        return NULL;
    }
    genre_audiofile *f = new_audiofile(path, err, errlen);
    if (!f) {
        sf_close(sf);
        return NULL;
    }
    f->sf = sf;
    f->fd = -1;
    f->info = *info;
    /* Integer files are normalised to [-1, 1) by libsndfile's default; float
     * files are passed through as stored.  Clipping float files would hide
     * level problems, so it is not requested. */
    sf_command(f->sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
    return f;
}

/* A regular file's fd: the direct Opus decoder if it takes the file, else
 * libsndfile.  Takes fd over. */
static genre_audiofile *open_fd(int fd, const char *path, char *err, size_t errlen)
{
    int declined = 0;
    genre_audiofile *f = try_opus(fd, path, &declined, err, errlen);
    if (f || !declined)
        return f;
    SF_INFO info;
    SNDFILE *sf = sndfile_open(fd, path, &info, err, errlen);
    if (!sf)
        return NULL;
    return wrap(sf, &info, path, err, errlen);
}

genre_audiofile *genre_audiofile_open(const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        genre_set_error(err, errlen, "audio file: empty path");
        return NULL;
    }
    /* libsndfile would call a directory an unrecognised format. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        genre_set_error(err, errlen, "%s: is a directory, not an audio file", path);
        return NULL;
    }
    /* A regular file can be read twice (the Opus check, then libsndfile);
     * a pipe or device goes to libsndfile alone. */
    if (S_ISREG(st.st_mode)) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            return open_fd(fd, path, err, errlen);
    }
    SF_INFO info;
    SNDFILE *sf = sndfile_open(-1, path, &info, err, errlen);
    if (!sf)
        return NULL;
    return wrap(sf, &info, path, err, errlen);
}

genre_audiofile *genre_audiofile_open_regular(const char *path, char *err, size_t errlen)
{
    int fd = genre_file_open_regular(path, err, errlen);
    if (fd < 0)
        return NULL;
    return open_fd(fd, path, err, errlen);
}

double genre_audiofile_rate(const genre_audiofile *f)
{
    return f ? (double)f->info.samplerate : 0.0;
}

int genre_audiofile_channels(const genre_audiofile *f)
{
    return f ? f->info.channels : 0;
}

int64_t genre_audiofile_frames(const genre_audiofile *f)
{
    /* libsndfile reports SF_COUNT_MAX for streams of unknown length. */
    if (!f || f->info.frames < 0 || f->info.frames == SF_COUNT_MAX)
        return -1;
    return (int64_t)f->info.frames;
}

ssize_t genre_audiofile_read(genre_audiofile *f, float *out, size_t max_frames,
                             char *err, size_t errlen)
{
    if (!f || !out) {
        genre_set_error(err, errlen, "audio file: invalid read arguments");
        return -1;
    }
    if (max_frames == 0)
        return 0;
    if (f->opus)
        return genre_ogg_opus_read(f->opus, out, max_frames, err, errlen);
    sf_count_t got = sf_readf_float(f->sf, out, (sf_count_t)max_frames);
    if (got < 0) {
        genre_set_error(err, errlen, "%s: decode error: %s", f->path, sf_strerror(f->sf));
        return -1;
    }
    /* A short or empty read is either end of file or a decoder failure;
     * only sf_error tells them apart. */
    if ((size_t)got < max_frames && sf_error(f->sf) != SF_ERR_NO_ERROR) {
        genre_set_error(err, errlen, "%s: decode error: %s", f->path, sf_strerror(f->sf));
        return -1;
    }
    return (ssize_t)got;
}

const char *genre_audiofile_decoder(const genre_audiofile *f)
{
    return f && f->opus ? "ogg-opus" : "libsndfile";
}

int genre_audiofile_rewind(genre_audiofile *f)
{
    if (!f)
        return -1;
    if (f->opus) {
        char err[256];
        return genre_ogg_opus_rewind(f->opus, err, sizeof err);
    }
    return sf_seek(f->sf, 0, SEEK_SET) < 0 ? -1 : 0;
}

void genre_audiofile_close(genre_audiofile *f)
{
    if (!f)
        return;
    if (f->opus) {
        genre_ogg_opus_del(f->opus);
        close(f->fd);
    } else {
        sf_close(f->sf);
    }
    free(f->path);
    free(f);
}
