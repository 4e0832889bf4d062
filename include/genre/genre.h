/* libgenre: music-genre classification of audio, the library genred,
 * genre-classify and genre-features are built on.  Include this header and
 * link with `pkg-config --cflags --libs genre`.
 *
 * The modules (each header documents every call and names its tests):
 *   genre/model.h      a model file: front-end, labels, network, provenance,
 *                      identity (sha256)
 *   genre/stream.h     the stream classifier: audio in (chunks of any size,
 *                      any rate and channel count), window results out
 *   genre/audiofile.h  audio files (WAV, FLAC, Ogg Vorbis/Opus, MP3, ...)
 *                      read as float
 *   genre/frontend.h   the log-mel front-end on its own
 *   genre/level.h      input level and the silence rule
 *   genre/sha256.h     SHA-256 (the model's identity)
 *
 * Conventions, the same in every module:
 *   - Lifecycle pairs: X_new/X_del, genre_model_load/genre_model_del,
 *     genre_audiofile_open/genre_audiofile_close.  _del and _close accept
 *     NULL.  Everything a call returns that is not documented otherwise is
 *     owned by the object it came from and valid until that object is
 *     deleted (labels, metadata, error strings) or until the next call on
 *     it (window probabilities: during the callback only).
 *   - Errors: a call that can fail takes `char *err, size_t errlen` and on
 *     failure returns NULL or -1 with a one-line reason written there (the
 *     buffer may be NULL; 256 bytes hold every message).  Long-lived
 *     objects keep their last error instead (genre_stream_error).
 *   - Threads: a loaded model is immutable and may be shared by any number
 *     of threads and streams; every other object is used by one thread at
 *     a time (genre_stream_cancel excepted).  FFTW's planner is not
 *     thread-safe: serialise genre_stream_new/_renew/_del and
 *     genre_frontend_new/_del across threads (one mutex around them).
 *   - Ownership: a model must outlive every stream made from it; a stream
 *     copies what it needs from its arguments.
 *   - Audio is float in [-1, 1], interleaved; NaN and infinity are the
 *     caller's to reject (genre-classify reports them as invalid audio).
 *
 * Example: the genre of each 10-s window of a file (examples/classify.c is
 * the complete program):
 *
 *     char err[256];
 *     genre_model *m = genre_model_load("genre.gmdl", err, sizeof err);
 *     genre_audiofile *f = genre_audiofile_open("song.flac", err, sizeof err);
 *     genre_stream *s = genre_stream_new(m, genre_audiofile_rate(f),
 *                                        genre_audiofile_channels(f),
 *                                        m->frontend.window_frames / 2, 1, err, sizeof err);
 *     float buf[4096 * 2];
 *     ssize_t n;
 *     while ((n = genre_audiofile_read(f, buf, 4096, err, sizeof err)) > 0)
 *         genre_stream_push(s, buf, (size_t)n, on_window, m);
 *     genre_stream_finish(s, on_window, m);  // on_window gets start_s, end_s, probs
 *     genre_stream_del(s);
 *     genre_audiofile_close(f);
 *     genre_model_del(m);
 *
 * (Stereo files need a buffer of 4096 * channels floats; the example
 * program allocates it.) */
#ifndef GENRE_GENRE_H
#define GENRE_GENRE_H

#include "genre/audiofile.h"
#include "genre/frontend.h"
#include "genre/level.h"
#include "genre/model.h"
#include "genre/sha256.h"
#include "genre/stream.h"

#endif
