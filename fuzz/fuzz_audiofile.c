/* Fuzz target: reading audio files through libgenre (genre_audiofile over
 * libsndfile), then pushing what decodes through the same pipeline the
 * tools use (downmix, resample to 16 kHz, log-mel front-end), because a
 * hostile header can claim any rate or channel count.
 *
 * genre_audiofile takes a path, so the input is put in a memfd and opened as
 * /proc/self/fd/N: no temporary file, nothing left behind on a crash. */
#include "genre/audiofile.h"
#include "genre/pipeline.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_check.h"

/* Decode at most this many frames per input: long enough to fill several
 * front-end frames, short enough to keep the fuzzer fast. */
#define MAX_FRAMES 48000
#define CHUNK_FRAMES 1024
/* More channels than this are decoded but not pushed (the daemon and tools
 * do not bound it either, so the pipeline must cope: keep it moderate only
 * to bound the work per input). */
#define MAX_CHANNELS 64

typedef struct frame_stats {
    size_t frames;
    int nonfinite;
} frame_stats;

static int count_frame(void *user, const float *frame)
{
    frame_stats *st = user;
    /* 96 is the band count of the spec below. */
    for (int i = 0; i < 96; i++)
        if (!isfinite(frame[i]))
            st->nonfinite = 1;
    st->frames++;
    return 0;
}

static genre_frontend_spec default_spec(void)
{
    genre_frontend_spec s = {
        .sample_rate = 16000, .n_fft = 512, .hop = 256, .stft_window = GENRE_STFT_HANN,
        .n_mels = 96, .fmin = 0.0f, .fmax = 8000.0f, .mel_scale = GENRE_MEL_SLANEY,
        .log_offset = 1e-3f, .window_frames = 624, .norm_mean = NULL, .norm_std = NULL,
    };
    return s;
}

static void decode(genre_audiofile *f)
{
    int channels = genre_audiofile_channels(f);
    double rate = genre_audiofile_rate(f);
    FUZZ_CHECK(channels >= 1 && rate > 0.0);
    (void)genre_audiofile_frames(f);

    char err[256] = "";
    genre_pipeline *p = NULL;
    if (channels <= MAX_CHANNELS) {
        genre_frontend_spec spec = default_spec();
        p = genre_pipeline_new(&spec, rate, channels, err, sizeof err);
        /* Refusing an absurd rate is fine, silently or not is not. */
        if (!p) {
            FUZZ_NOTE("pipeline refused: %s\n", err);
            FUZZ_CHECK_MSG(err);
        }
    }
    float *buf = malloc((size_t)CHUNK_FRAMES * (size_t)channels * sizeof *buf);
    FUZZ_CHECK(buf != NULL);
    frame_stats st = {0, 0};
    size_t total = 0;
    int first_pass = 1;
    while (total < MAX_FRAMES) {
        err[0] = '\0';
        ssize_t got = genre_audiofile_read(f, buf, CHUNK_FRAMES, err, sizeof err);
        if (got < 0) {
            FUZZ_CHECK_MSG(err);
            break;
        }
        FUZZ_CHECK((size_t)got <= CHUNK_FRAMES);
        if (got == 0) {
            /* Exercise rewind once, as looping file sources do. */
            if (!first_pass || genre_audiofile_rewind(f) != 0)
                break;
            first_pass = 0;
            continue;
        }
        total += (size_t)got;
        if (p)
            FUZZ_CHECK(genre_pipeline_push(p, buf, (size_t)got, count_frame, &st) == 0);
    }
    if (p) {
        FUZZ_CHECK(genre_pipeline_flush(p, count_frame, &st) == 0);
        genre_pipeline_del(p);
    }
    /* The front-end adds 1e-3 before the log; only non-finite input (a float
     * file can store inf/NaN) may give a non-finite frame.  Note it rather
     * than fail: what to do with such samples is a policy question. */
    FUZZ_NOTE("%d ch at %g Hz: %zu frames decoded, %zu log-mel frames%s\n", channels, rate, total,
              st.frames, st.nonfinite ? " (some non-finite)" : "");
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-audio", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        FUZZ_CHECK(w > 0);
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    char err[256] = "";
    genre_audiofile *f = genre_audiofile_open(path, err, sizeof err);
    if (!f) {
        FUZZ_NOTE("open refused: %s\n", err);
        FUZZ_CHECK_MSG(err);
    } else {
        decode(f);
        genre_audiofile_close(f);
    }
    close(fd);
    return 0;
}
