/* Audio files (WAV, FLAC, Ogg Vorbis/Opus, MP3, AU, ...) read as
 * interleaved float in [-1, 1] at the file's own rate.  Plain Ogg Opus
 * (mono or stereo, one stream, no header gain) is decoded directly with
 * libopus, 2.8x faster than through libsndfile and with the same samples;
 * everything else goes through libsndfile.  Tests: tests/lib/test_audiofile.c,
 * tests/lib/test_ogg_opus.c. */
#ifndef GENRE_AUDIOFILE_H
#define GENRE_AUDIOFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct genre_audiofile genre_audiofile;

/* Open for reading; NULL with a reason in err on failure. */
genre_audiofile *genre_audiofile_open(const char *path, char *err, size_t errlen);
/* The same, but only a regular file, opened without blocking
 * (genre/file.h): for a daemon, where a FIFO named as the audio file must
 * not stall the main loop.  genre_audiofile_open still reads pipes, for
 * tools on the command line. */
genre_audiofile *genre_audiofile_open_regular(const char *path, char *err, size_t errlen);
double genre_audiofile_rate(const genre_audiofile *f);
int genre_audiofile_channels(const genre_audiofile *f);
/* Length in frames as the container states it; -1 when unknown. */
int64_t genre_audiofile_frames(const genre_audiofile *f);
/* Read up to max_frames interleaved frames into out (max_frames * channels
 * floats).  Returns frames read, 0 at end of file, -1 on a decode error
 * (reason in err). */
ssize_t genre_audiofile_read(genre_audiofile *f, float *out, size_t max_frames,
                             char *err, size_t errlen);
/* Seek back to the first frame (for looping file sources). 0 or -1. */
int genre_audiofile_rewind(genre_audiofile *f);
void genre_audiofile_close(genre_audiofile *f);

#endif
