/* Audio file reading: files written here with libsndfile in every format we
 * promise (WAV, FLAC, Ogg Vorbis, Ogg Opus, MP3, AU) read back with the
 * right rate, channels, length and content; a missing file, a corrupt file,
 * an empty file and a directory give a message naming the file. */
#include "check.h"
#include "genre/audiofile.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct format_case {
    const char *name, *ext;
    int format;
    int rate;
    int lossless;
} format_case;

static const format_case cases[] = {
    {"WAV PCM16", "wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1},
    {"WAV float", "f.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 1},
    {"FLAC", "flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 48000, 1},
    {"AU", "au", SF_FORMAT_AU | SF_FORMAT_PCM_16, 16000, 1},
    {"Ogg Vorbis", "ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 0},
    {"Ogg Opus", "opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 0},
    {"MP3", "mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 0},
};

#define SECONDS 1.0
#define TONE_L 440.0
#define TONE_R 1000.0

static float test_signal(size_t i, int channel, int rate)
{
    double f = channel == 0 ? TONE_L : TONE_R;
    return (float)(0.4 * sin(2.0 * M_PI * f * (double)i / rate));
}

static int write_case(const char *path, const format_case *c, char *why, size_t whylen)
{
    SF_INFO info = {.samplerate = c->rate, .channels = 2, .format = c->format};
    if (!sf_format_check(&info)) {
        snprintf(why, whylen, "libsndfile cannot write %s", c->name);
        return -1;
    }
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        snprintf(why, whylen, "sf_open(write): %s", sf_strerror(NULL));
        return -1;
    }
    const size_t n = (size_t)(SECONDS * c->rate);
    float *buf = malloc(2 * n * sizeof *buf);
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = test_signal(i, 0, c->rate);
        buf[2 * i + 1] = test_signal(i, 1, c->rate);
    }
    sf_count_t wrote = sf_writef_float(sf, buf, (sf_count_t)n);
    free(buf);
    sf_close(sf);
    if (wrote != (sf_count_t)n) {
        snprintf(why, whylen, "wrote %lld of %zu frames", (long long)wrote, n);
        return -1;
    }
    return 0;
}

/* Per-channel frequency by upward zero crossings in the middle half. */
static double channel_hz(const float *x, size_t n, int channel, int rate)
{
    double first = -1, last = -1;
    size_t crossings = 0;
    for (size_t i = n / 4 + 1; i < 3 * n / 4; i++) {
        float a = x[2 * (i - 1) + (size_t)channel], b = x[2 * i + (size_t)channel];
        if (a < 0.0f && b >= 0.0f) {
            double t = (double)(i - 1) + (double)a / (double)(a - b);
            if (first < 0)
                first = t;
            last = t;
            crossings++;
        }
    }
    return crossings < 2 ? 0.0 : (double)(crossings - 1) * rate / (last - first);
}

static void test_formats(const char *dir)
{
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const format_case *c = &cases[k];
        char path[4096], why[256], err[512];
        snprintf(path, sizeof path, "%s/test.%s", dir, c->ext);
        if (write_case(path, c, why, sizeof why) != 0) {
            CHECK_MSG(0, "%s: cannot write the test file: %s", c->name, why);
            continue;
        }
        genre_audiofile *f = genre_audiofile_open(path, err, sizeof err);
        CHECK_MSG(f != NULL, "%s: %s", c->name, err);
        if (!f)
            continue;
        CHECK_MSG(genre_audiofile_rate(f) == c->rate, "%s: rate %g", c->name, genre_audiofile_rate(f));
        CHECK_MSG(genre_audiofile_channels(f) == 2, "%s: %d channels", c->name, genre_audiofile_channels(f));
        const size_t n = (size_t)(SECONDS * c->rate);
        const size_t cap = 2 * n;
        float *x = malloc(2 * cap * sizeof *x);
        size_t got = 0;
        for (;;) {
            /* odd read sizes exercise partial reads */
            size_t want = cap - got < 1237 ? cap - got : 1237;
            ssize_t r = genre_audiofile_read(f, x + 2 * got, want, err, sizeof err);
            CHECK_MSG(r >= 0, "%s: %s", c->name, err);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        int64_t stated = genre_audiofile_frames(f);
        if (c->lossless) {
            CHECK_MSG(got == n && stated == (int64_t)n, "%s: read %zu, stated %lld, wrote %zu", c->name, got,
                      (long long)stated, n);
            float worst = 0.0f;
            for (size_t i = 0; i < got && i < n; i++)
                for (int ch = 0; ch < 2; ch++)
                    worst = fmaxf(worst, fabsf(x[2 * i + (size_t)ch] - test_signal(i, ch, c->rate)));
            CHECK_MSG(worst <= 1.0f / 32768.0f, "%s: max sample error %g", c->name, worst);
        } else {
            /* lossy codecs add priming/padding; the length stays close */
            CHECK_MSG(got + 0.05 * c->rate >= n && got <= n + 0.1 * c->rate, "%s: read %zu frames for %zu",
                      c->name, got, n);
            double hz_l = channel_hz(x, got, 0, c->rate), hz_r = channel_hz(x, got, 1, c->rate);
            CHECK_MSG(fabs(hz_l - TONE_L) < 0.01 * TONE_L && fabs(hz_r - TONE_R) < 0.01 * TONE_R,
                      "%s: tones read back as %.2f / %.2f Hz", c->name, hz_l, hz_r);
        }
        /* rewind, then the first frame again */
        CHECK_MSG(genre_audiofile_rewind(f) == 0, "%s: rewind failed", c->name);
        float again[2] = {9, 9};
        CHECK_MSG(genre_audiofile_read(f, again, 1, err, sizeof err) == 1 && again[0] == x[0] &&
                             again[1] == x[1],
                  "%s: first frame differs after rewind", c->name);
        free(x);
        genre_audiofile_close(f);
        unlink(path);
    }
}

static void expect_open_error(const char *path, const char *what)
{
    char err[512] = "";
    genre_audiofile *f = genre_audiofile_open(path, err, sizeof err);
    CHECK_MSG(f == NULL, "%s opened", what);
    CHECK_MSG(strstr(err, path) != NULL, "%s: message '%s' does not name the file", what, err);
    CHECK_MSG(strlen(err) > strlen(path) + 4, "%s: message '%s' gives no reason", what, err);
    genre_audiofile_close(f);
}

static void test_bad_files(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/does-not-exist.wav", dir);
    expect_open_error(path, "missing file");

    snprintf(path, sizeof path, "%s/corrupt.wav", dir);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 5000; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    expect_open_error(path, "corrupt file");
    unlink(path);

    snprintf(path, sizeof path, "%s/empty.flac", dir);
    f = fopen(path, "wb");
    fclose(f);
    expect_open_error(path, "empty file");
    unlink(path);

    expect_open_error(dir, "a directory");

    char err[512] = "";
    CHECK_MSG(genre_audiofile_open("", err, sizeof err) == NULL && *err, "empty path");
    CHECK_MSG(genre_audiofile_open(NULL, NULL, 0) == NULL, "NULL path");
}

/* Opens `good` until told to stop, so that libsndfile's process-wide
 * error slot keeps changing under the main thread. */
typedef struct {
    const char *good;
    atomic_int stop;
    int opened;
} opener;

static void *open_repeatedly(void *arg)
{
    opener *o = arg;
    while (!atomic_load(&o->stop)) {
        genre_audiofile *f = genre_audiofile_open(o->good, NULL, 0);
        o->opened += f != NULL;
        genre_audiofile_close(f);
    }
    return NULL;
}

/* With other files opened at the same moment (genre-classify --jobs), a
 * failed open still reports its own reason. */
static void test_concurrent_open_errors(const char *dir)
{
    char good[4096], junk[4096];
    snprintf(good, sizeof good, "%s/good.au", dir);
    snprintf(junk, sizeof junk, "%s/junk.wav", dir);
    SF_INFO info = {.samplerate = 8000, .channels = 1, .format = SF_FORMAT_AU | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(good, SFM_WRITE, &info);
    float zero[64] = {0};
    sf_writef_float(sf, zero, 64);
    sf_close(sf);
    FILE *f = fopen(junk, "wb");
    fputs("RIFF not really a wave file", f);
    fclose(f);

    char alone[512] = "";
    CHECK(genre_audiofile_open(junk, alone, sizeof alone) == NULL);
    opener o = {.good = good};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, open_repeatedly, &o) == 0);
    int differing = 0;
    char first_bad[512] = "";
    for (int i = 0; i < 3000; i++) {
        char err[512] = "";
        genre_audiofile_close(genre_audiofile_open(junk, err, sizeof err));
        if (strcmp(err, alone) != 0 && differing++ == 0)
            snprintf(first_bad, sizeof first_bad, "%s", err);
    }
    atomic_store(&o.stop, 1);
    pthread_join(t, NULL);
    CHECK_MSG(o.opened > 0, "the other thread opened nothing");
    CHECK_MSG(differing == 0, "%d of 3000 failed opens gave another reason than '%s', e.g. '%s'",
              differing, alone, first_bad);
    unlink(good);
    unlink(junk);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/genre-audiofile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("libsndfile %s\n", sf_version_string());
    test_formats(dir);
    test_bad_files(dir);
    test_concurrent_open_errors(dir);
    rmdir(dir);
    return check_exit_status("test_audiofile");
}
