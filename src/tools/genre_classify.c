/* genre-classify: the genre of whole audio files, through the same library
 * path as the daemon (audio file -> pipeline -> rolling window -> net).
 *
 *   genre-classify [--model M.gmdl] [--hop SECONDS] [--json] [--segments]
 *                  [--plot OUT.svg|OUT.png] [--jobs N] FILE|DIR...
 *
 * Each file is cut into windows of the model's window_frames with the given
 * hop; the clip's probabilities are the mean of its windows'.  A clip
 * shorter than one window is classified once, zero-padded like the daemon's
 * window before it fills (reported as padded).  Where the input allows no
 * genre the file's outcome says why instead: too-short (under three tenths
 * of a window), silence (every window below the silence level, the
 * daemon's rule, genre/level.h; silent windows of a file that has music
 * are left out of its mean) or invalid-audio (NaN or infinite samples).
 * An unreadable file gets an error line and the others are still
 * classified.  Directories are searched for audio files (walk.h);
 * --segments merges windows into time ranges (segments.h); --plot draws
 * one file's timeline (plot.h).  Exit status: 1 if a file, a directory,
 * the model or the plot failed, else 3 if a file got no genre, else 0; 2
 * for a usage error. */
#include "build_config.h"
#include "genre/audiofile.h"
#include "genre/error.h"
#include "genre/json.h"
#include "genre/level.h"
#include "genre/model.h"
#include "genre/model_json.h"
#include "genre/pipeline.h"
#include "genre/rank.h"
#include "genre/stream.h"

#include "fanout.h"
#include "plot.h"
#include "segments.h"
#include "walk.h"

#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#define ERRLEN 512
/* The version of the --json lines (doc/output.md, "Versions"). */
#define OUTPUT_SCHEMA 1
#define MAX_JOBS 64
/* A file shorter than this fraction of the model's window gets no genre
 * (too-short): for the shipped models' 10-s windows 3 s, musicnn's own
 * training patch length.  Longer files up to a window are zero-padded. */
#define MIN_WINDOW_FRACTION 0.3
/* The level is measured in blocks of this many seconds; a window's level is
 * that of the blocks it covers. */
#define LEVEL_BLOCK_SECONDS 0.1
/* Exit statuses: 0, 1 and 2 as for every genred program (success, failure,
 * usage error); 3 is genre-classify's own. */
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_NO_GENRE 3

typedef struct options {
    const char *model_path;
    double hop_seconds;
    double silence_dbfs;
    bool json;
    bool segments;              /* --segments */
    const char *plot_path;      /* --plot */
    int jobs;
} options;

/* What one file produced: text for stdout and/or an error for stderr. */
typedef struct file_result {
    bool failed;
    bool no_genre;              /* an outcome without a genre (silence, too-short, invalid-audio) */
    char *output;               /* table row or JSON object (one line, no '\n'), or NULL */
    char error[ERRLEN];
} file_result;

/* Shared by the workers; owned by main(). */
typedef struct classify_run {
    const options *opt;
    const genre_model *model;
    const char *model_id_json;  /* the model's identity, the same in every line */
    const char *model_name;     /* the model file's base name */
    plot *plot;                 /* --plot's open file until the one file is drawn */
    const walk_item *items;     /* the files, and the directories that failed */
    size_t n_files;
    int name_width;             /* table column width for file names */
    file_result *results;
    pthread_mutex_t fftw_lock;  /* pipeline _new/_del plan FFTW: not thread-safe */
    bool progress;              /* a progress line on stderr between results */
    int status;                 /* the exit status so far */
} classify_run;

/* One worker's reusable state plus the current file's accumulators. */
typedef struct classifier {
    const genre_model *model;
    const char *model_id_json;  /* classify_run's */
    size_t hop_frames;          /* window hop in front-end frames */
    size_t n_labels;
    /* Per file: window times and their probabilities. */
    size_t n_windows, cap_windows;
    double *spans;              /* n_windows x (start, end) seconds */
    float *window_probs;        /* n_windows x n_labels */
    bool padded;                /* the file was shorter than one window */
    bool out_of_memory;
    /* Per file: the level in LEVEL_BLOCK_SECONDS blocks (all channels). */
    double *block_sumsq;
    size_t n_blocks, cap_blocks;
    uint64_t block_samples, block_fill;
    double rate;
    bool nonfinite;             /* a NaN or infinite sample (decoding stopped there) */
    double nonfinite_at;        /* its time, seconds */
    genre_stream *stream;       /* kept from file to file while the format stays */
} classifier;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: genre-classify [OPTIONS] FILE|DIR...\n"
            "Classify the music genre of audio files (WAV, FLAC, Ogg, MP3, AU, ...).\n"
            "\n"
            "  -m, --model PATH   model file (default: %s)\n"
            "      --hop SECONDS  hop between analysis windows (default 5; rounded to\n"
            "                     whole front-end frames, halves down)\n"
            "  -j, --json         one JSON object per line and file\n"
            "      --segments     also list the file's segments: consecutive windows\n"
            "                     with the same genre merged into time ranges\n"
            "      --plot FILE    draw the file's timeline (genre probabilities, the\n"
            "                     segments as a band) to FILE, .svg or .png; one\n"
            "                     audio file only\n"
            "      --silence-dbfs DB  windows below this level are silence (default %g,\n"
            "                     as the daemon's silence_dbfs)\n"
            "      --jobs N       classify N files in parallel (default 1)\n"
            "  -h, --help         this help\n"
            "  -V, --version      print the version\n"
            "\n"
            "The clip's probabilities are the mean over its windows with sound (the\n"
            "model's window length, e.g. 10 s). A clip shorter than one window is\n"
            "zero-padded (\"padded\"). No genre, but an outcome saying why: too-short\n"
            "(under %.0f%% of a window), silence (every window below the silence\n"
            "level), invalid-audio (NaN or infinite samples).\n"
            "A directory is searched recursively for audio files, sorted, hidden\n"
            "ones skipped (by extension: %s);\n"
            "a directory without any is an error.\n"
            "Exit status: 0 every file got a genre, 1 some file or directory failed\n"
            "(unreadable, undecodable), the model could not be used or the plot not\n"
            "written, 2 usage error, 3 no failure but some file got no genre.\n",
            GENRE_MODEL_INSTALLED, GENRE_SILENCE_DBFS, 100 * MIN_WINDOW_FRACTION,
            WALK_AUDIO_EXTENSIONS);
}

/* ---- classification of one file ---- */

static int classifier_init(classifier *c, const genre_model *m, double hop_seconds, char *err,
                           size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->model = m;
    c->n_labels = m->n_labels;
    double frames = hop_seconds * m->frontend.sample_rate / m->frontend.hop;
    /* Nearest whole frame, halves rounded down: 5 s at 16 kHz / hop 256 is
     * 312.5 frames -> 312, exactly half of a 624-frame window. */
    double whole = ceil(frames - 0.5);
    c->hop_frames = whole < 1.0 ? 1 : (size_t)whole;
    (void)err;
    (void)errlen;
    return 0;
}

static void classifier_free(classifier *c, classify_run *run)
{
    pthread_mutex_lock(&run->fftw_lock);
    genre_stream_del(c->stream);
    pthread_mutex_unlock(&run->fftw_lock);
    free(c->spans);
    free(c->window_probs);
    free(c->block_sumsq);
}

/* Adds samples to the level blocks; false when out of memory. */
static bool add_level(classifier *c, const float *x, size_t n)
{
    while (n > 0) {
        if (c->block_fill == 0) {
            if (c->n_blocks == c->cap_blocks) {
                size_t cap = c->cap_blocks ? 2 * c->cap_blocks : 1024;
                double *b = realloc(c->block_sumsq, cap * sizeof *b);
                if (!b)
                    return false;
                c->block_sumsq = b;
                c->cap_blocks = cap;
            }
            c->block_sumsq[c->n_blocks++] = 0;
        }
        size_t take = (size_t)(c->block_samples - c->block_fill);
        if (take > n)
            take = n;
        double acc = 0;
        for (size_t i = 0; i < take; i++)
            acc += (double)x[i] * x[i];
        c->block_sumsq[c->n_blocks - 1] += acc;
        c->block_fill = (c->block_fill + take) % c->block_samples;
        x += take;
        n -= take;
    }
    return true;
}

/* Level of the audio in [start, end) seconds: the blocks it overlaps. */
static double level_between(const classifier *c, double start, double end)
{
    size_t first = (size_t)(start / LEVEL_BLOCK_SECONDS);
    size_t last = (size_t)ceil(end / LEVEL_BLOCK_SECONDS);
    if (last > c->n_blocks)
        last = c->n_blocks;
    double sum = 0;
    uint64_t count = 0;
    for (size_t b = first; b < last; b++) {
        sum += c->block_sumsq[b];
        count += c->block_samples;
    }
    if (last == c->n_blocks && last > first && c->block_fill)   /* the last block is partial */
        count -= c->block_samples - c->block_fill;
    return genre_level_dbfs(sum, count);
}

/* Window sink: records each window the stream classifier delivers. */
static int on_window(void *user, const genre_stream_window *w)
{
    classifier *c = user;
    if (c->n_windows == c->cap_windows) {
        size_t cap = c->cap_windows ? 2 * c->cap_windows : 64;
        double *s = realloc(c->spans, 2 * cap * sizeof *s);
        if (s)
            c->spans = s;
        float *p = realloc(c->window_probs, cap * c->n_labels * sizeof *p);
        if (p)
            c->window_probs = p;
        if (!s || !p) {
            c->out_of_memory = true;
            return 1;
        }
        c->cap_windows = cap;
    }
    memcpy(c->window_probs + c->n_windows * c->n_labels, w->probs, c->n_labels * sizeof *w->probs);
    c->spans[2 * c->n_windows] = w->start_s;
    c->spans[2 * c->n_windows + 1] = w->end_s;
    c->n_windows++;
    c->padded = w->partial;
    return 0;
}

/* Decodes path through the pipeline; fills c's windows. */
static int run_file(classifier *c, classify_run *run, const char *path, double *duration,
                    char *err, size_t errlen)
{
    char why[ERRLEN];
    genre_audiofile *af = genre_audiofile_open(path, why, sizeof why);
    if (!af) {
        genre_set_error(err, errlen, "%s", why);
        return -1;
    }
    int channels = genre_audiofile_channels(af);
    double rate = genre_audiofile_rate(af);
    pthread_mutex_lock(&run->fftw_lock);
    genre_stream *p = c->stream =
        genre_stream_renew(c->stream, c->model, rate, channels, c->hop_frames, 1, why, sizeof why);
    pthread_mutex_unlock(&run->fftw_lock);
    float *buf = malloc((size_t)GENRE_PIPELINE_MAX_CHUNK * (size_t)(channels > 0 ? channels : 1) *
                        sizeof *buf);
    int rc = 0;
    uint64_t total = 0;
    if (!p) {
        genre_set_error(err, errlen, "%s", why);
        rc = -1;
    } else if (!buf) {
        genre_set_error(err, errlen, "out of memory");
        rc = -1;
    }
    c->n_windows = 0;
    c->padded = false;
    c->out_of_memory = false;
    c->nonfinite = false;
    c->n_blocks = 0;
    c->block_fill = 0;
    c->rate = rate;
    double block_frames = round(rate * LEVEL_BLOCK_SECONDS);
    c->block_samples = (uint64_t)(block_frames < 1 ? 1 : block_frames) * (uint64_t)(channels > 0 ? channels : 1);
    while (rc == 0) {
        ssize_t got = genre_audiofile_read(af, buf, GENRE_PIPELINE_MAX_CHUNK, why, sizeof why);
        if (got < 0) {
            genre_set_error(err, errlen, "%s", why);
            rc = -1;
            break;
        }
        /* NaN or infinite samples would pass every comparison downstream
         * and still come out as a genre: the file's outcome is
         * invalid-audio instead, and decoding stops there. */
        for (size_t i = 0; got > 0 && i < (size_t)got * (size_t)channels; i++) {
            if (!isfinite(buf[i])) {
                c->nonfinite = true;
                c->nonfinite_at = (double)(total + i / (size_t)channels) / rate;
                break;
            }
        }
        if (c->nonfinite)
            break;
        if (got > 0 && !add_level(c, buf, (size_t)got * (size_t)channels)) {
            genre_set_error(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        int sink_rc = got == 0 ? genre_stream_finish(p, on_window, c)
                               : genre_stream_push(p, buf, (size_t)got, on_window, c);
        if (sink_rc != 0) {
            genre_set_error(err, errlen, "%s",
                            c->out_of_memory ? "out of memory" : genre_stream_error(p));
            rc = -1;
        }
        if (got == 0)
            break;
        total += (uint64_t)got;
    }
    free(buf);
    genre_audiofile_close(af);
    *duration = rate > 0 ? (double)total / rate : 0.0;
    return rc < 0 ? -1 : 0;
}

static void json_probabilities(genre_json *j, const genre_model *m, const float *p)
{
    genre_json_begin_object(j);
    for (uint32_t i = 0; i < m->n_labels; i++) {
        genre_json_key(j, m->labels[i]);
        genre_json_number(j, p[i]);
    }
    genre_json_end_object(j);
}

/* What a file came to. */
typedef struct outcome {
    const char *name;           /* "genre", "silence", "too-short", "invalid-audio" */
    char reason[ERRLEN];        /* why there is no genre ("" with one) */
    double level_dbfs;          /* the whole file's */
    const bool *silent;         /* per window */
    const segment *segments;    /* with --segments (else NULL) */
    size_t n_segments;
} outcome;

static char *format_json(const classifier *c, const char *path, const float *clip, double duration,
                         bool padded, const outcome *o)
{
    const genre_model *m = c->model;
    genre_json j;
    genre_json_init(&j);
    genre_json_begin_object(&j);
    genre_json_key(&j, "schema"); genre_json_int(&j, OUTPUT_SCHEMA);
    genre_json_key(&j, "file"); genre_json_string(&j, path);
    genre_json_key(&j, "outcome"); genre_json_string(&j, o->name);
    if (clip) {
        size_t best = genre_argmax(clip, c->n_labels);
        genre_json_key(&j, "genre"); genre_json_string(&j, m->labels[best]);
        genre_json_key(&j, "confidence"); genre_json_number(&j, clip[best]);
        genre_json_key(&j, "probabilities"); json_probabilities(&j, m, clip);
    } else {
        genre_json_key(&j, "genre"); genre_json_null(&j);
        genre_json_key(&j, "confidence"); genre_json_null(&j);
        genre_json_key(&j, "reason"); genre_json_string(&j, o->reason);
    }
    genre_json_key(&j, "duration"); genre_json_fixed(&j, duration, 3);
    genre_json_key(&j, "level_dbfs"); genre_json_fixed(&j, o->level_dbfs, 1);
    genre_json_key(&j, "padded"); genre_json_bool(&j, padded);
    genre_json_key(&j, "windows");
    genre_json_begin_array(&j);
    for (size_t w = 0; o->silent && w < c->n_windows; w++) {
        const float *p = c->window_probs + w * c->n_labels;
        size_t wb = genre_argmax(p, c->n_labels);
        /* A window spans its first frame's start to its last frame's end
         * (a padded window: the whole clip). */
        double start = c->spans[2 * w];
        double end = padded ? duration : c->spans[2 * w + 1];
        genre_json_begin_object(&j);
        genre_json_key(&j, "start"); genre_json_fixed(&j, start, 3);
        genre_json_key(&j, "end"); genre_json_fixed(&j, end, 3);
        genre_json_key(&j, "level_dbfs"); genre_json_fixed(&j, level_between(c, start, end), 1);
        genre_json_key(&j, "silent"); genre_json_bool(&j, o->silent[w]);
        /* A silent window has probabilities (the network ran) but, as in
         * the daemon, no genre. */
        genre_json_key(&j, "genre");
        if (o->silent[w])
            genre_json_null(&j);
        else
            genre_json_string(&j, m->labels[wb]);
        genre_json_key(&j, "confidence");
        if (o->silent[w])
            genre_json_null(&j);
        else
            genre_json_number(&j, p[wb]);
        genre_json_key(&j, "probabilities"); json_probabilities(&j, m, p);
        genre_json_end_object(&j);
    }
    genre_json_end_array(&j);
    if (o->segments) {
        genre_json_key(&j, "segments");
        genre_json_begin_array(&j);
        for (size_t i = 0; i < o->n_segments; i++) {
            const segment *s = &o->segments[i];
            bool silence = s->label == SEGMENT_SILENCE;
            genre_json_begin_object(&j);
            genre_json_key(&j, "start"); genre_json_fixed(&j, s->start, 3);
            genre_json_key(&j, "end"); genre_json_fixed(&j, s->end, 3);
            genre_json_key(&j, "silent"); genre_json_bool(&j, silence);
            genre_json_key(&j, "genre");
            if (silence)
                genre_json_null(&j);
            else
                genre_json_string(&j, m->labels[s->label]);
            genre_json_key(&j, "confidence");
            if (silence)
                genre_json_null(&j);
            else
                genre_json_number(&j, s->confidence);
            genre_json_key(&j, "windows"); genre_json_int(&j, (long long)s->n_windows);
            genre_json_end_object(&j);
        }
        genre_json_end_array(&j);
    }
    genre_json_key(&j, "model_id"); genre_json_raw(&j, c->model_id_json);
    genre_json_end_object(&j);
    char *text = j.failed ? NULL : j.buf;
    if (!text)
        genre_json_free(&j);
    return text;
}

static char *format_row(const classifier *c, const char *path, int name_width, const float *clip,
                        double duration, bool padded, const outcome *o)
{
    const genre_model *m = c->model;
    if (!clip) {
        size_t size = strlen(path) + (size_t)name_width + strlen(o->reason) + 64;
        char *row = malloc(size);
        char what[32];
        snprintf(what, sizeof what, "(%s)", o->name);
        if (row)
            snprintf(row, size, "%-*s  %-15s %7s  %s", name_width, path, what, "-", o->reason);
        return row;
    }
    size_t order[3];
    size_t shown = genre_top_k(clip, c->n_labels, 3, order);
    char top[512] = "";
    size_t len = 0;
    for (size_t k = 0; k < shown && len < sizeof top; k++)
        len += (size_t)snprintf(top + len, sizeof top - len, "%s%s %.1f%%", k ? ", " : "",
                                m->labels[order[k]], 100.0 * clip[order[k]]);
    char note[128] = "";
    if (padded) {
        double window = genre_frontend_window_seconds(&m->frontend);
        snprintf(note, sizeof note, "  (padded: %.1f s clip, window %.1f s)", duration, window);
    }
    size_t size = strlen(path) + (size_t)name_width + strlen(top) + strlen(note) + 512;
    char *row = malloc(size);
    if (row)
        snprintf(row, size, "%-*s  %-15s %6.1f%%  %s%s", name_width, path,
                 m->labels[order[0]], 100.0 * clip[order[0]], top, note);
    return row;
}

/* The table's segment lines under the file's row, each "\n" + indented
 * "start-end  genre  confidence"; row is reallocated (NULL: out of memory). */
static char *append_segments(char *row, const genre_model *m, const outcome *o)
{
    size_t len = row ? strlen(row) : 0;
    for (size_t i = 0; row && i < o->n_segments; i++) {
        const segment *s = &o->segments[i];
        char from[32], to[32], line[256];
        segments_clock(from, sizeof from, s->start);
        segments_clock(to, sizeof to, s->end);
        char span[80];
        snprintf(span, sizeof span, "%s-%s", from, to);
        if (s->label == SEGMENT_SILENCE)
            snprintf(line, sizeof line, "\n  %-15s %-15s %7s", span, "(silence)", "-");
        else
            snprintf(line, sizeof line, "\n  %-15s %-15s %6.1f%%", span, m->labels[s->label],
                     100.0 * s->confidence);
        size_t add = strlen(line);
        char *grown = realloc(row, len + add + 1);
        if (!grown) {
            free(row);
            return NULL;
        }
        row = grown;
        memcpy(row + len, line, add + 1);
        len += add;
    }
    return row;
}

static void classify_one(classifier *c, classify_run *run, size_t index, file_result *r)
{
    const char *path = run->items[index].path;
    const genre_frontend_spec *fe = &c->model->frontend;
    double duration = 0;
    char err[ERRLEN] = "";
    c->n_windows = 0;
    int decoded = 0;
    if (run->items[index].error)    /* a directory: unreadable or without audio */
        snprintf(err, sizeof err, "%s", run->items[index].error);
    else
        decoded = run_file(c, run, path, &duration, err, sizeof err) == 0;
    bool padded = c->padded;
    /* A padded window spans the clip, not the zeros after it (the JSON's
     * window end and the segments both say so). */
    for (size_t w = 0; padded && w < c->n_windows; w++)
        c->spans[2 * w + 1] = duration;
    /* A model whose activations overflow gives NaN: that is no genre, and
     * a fault of the model, not of the file. */
    for (size_t w = 0; decoded && !c->nonfinite && w < c->n_windows; w++) {
        for (size_t k = 0; k < c->n_labels; k++) {
            if (!isfinite(c->window_probs[w * c->n_labels + k])) {
                genre_set_error(err, sizeof err,
                                "the model's output is not finite (NaN or infinity) for the "
                                "window at %.3f s",
                                c->spans[2 * w]);
                break;
            }
        }
    }
    if (err[0]) {
        r->failed = true;
        snprintf(r->error, sizeof r->error, "%s", err);
        if (run->opt->json) {
            genre_json j;
            genre_json_init(&j);
            genre_json_begin_object(&j);
            genre_json_key(&j, "schema"); genre_json_int(&j, OUTPUT_SCHEMA);
            genre_json_key(&j, "file"); genre_json_string(&j, path);
            genre_json_key(&j, "outcome"); genre_json_string(&j, "error");
            genre_json_key(&j, "error"); genre_json_string(&j, err);
            genre_json_key(&j, "model_id"); genre_json_raw(&j, run->model_id_json);
            genre_json_end_object(&j);
            r->output = j.failed ? NULL : j.buf;
            if (!r->output)
                genre_json_free(&j);
        }
        return;
    }
    outcome o = {.name = "genre", .level_dbfs = level_between(c, 0, duration)};
    bool *silent = calloc(c->n_windows ? c->n_windows : 1, sizeof *silent);
    float *clip = calloc(c->n_labels, sizeof *clip);
    if (!clip || !silent) {
        r->failed = true;
        snprintf(r->error, sizeof r->error, "out of memory");
        free(clip);
        free(silent);
        return;
    }
    o.silent = silent;
    double window_s = genre_frontend_window_seconds(fe);
    size_t loud = 0;
    for (size_t w = 0; w < c->n_windows; w++) {
        double end = padded ? duration : c->spans[2 * w + 1];
        silent[w] = level_between(c, c->spans[2 * w], end) < run->opt->silence_dbfs;
        loud += !silent[w];
    }
    if (c->nonfinite) {
        o.name = "invalid-audio";
        snprintf(o.reason, sizeof o.reason, "non-finite sample (NaN or infinity) at %.3f s",
                 c->nonfinite_at);
    } else if (duration < MIN_WINDOW_FRACTION * window_s || c->n_windows == 0) {
        o.name = "too-short";
        snprintf(o.reason, sizeof o.reason, "%.3f s; the model needs at least %.1f s (its window "
                 "is %.1f s)", duration, MIN_WINDOW_FRACTION * window_s, window_s);
    } else if (loud == 0) {
        o.name = "silence";
        snprintf(o.reason, sizeof o.reason, "level %.1f dBFS, below %.1f dBFS in every window",
                 o.level_dbfs, run->opt->silence_dbfs);
    }
    bool has_genre = strcmp(o.name, "genre") == 0;
    if (has_genre) {
        /* Mean in double over the windows with sound: hours of audio make
         * thousands of windows, and silence between tracks has no genre. */
        for (size_t i = 0; i < c->n_labels; i++) {
            double sum = 0;
            for (size_t w = 0; w < c->n_windows; w++)
                if (!silent[w])
                    sum += c->window_probs[w * c->n_labels + i];
            clip[i] = (float)(sum / (double)loud);
        }
    }
    r->no_genre = !has_genre;
    segment *segments = NULL;
    if (run->opt->segments || run->plot) {
        /* Never more segments than windows; room for one even without. */
        segments = calloc(c->n_windows ? c->n_windows : 1, sizeof *segments);
        if (!segments) {
            r->failed = true;
            snprintf(r->error, sizeof r->error, "out of memory");
            free(clip);
            free(silent);
            return;
        }
        o.segments = segments;
        o.n_segments = segments_merge(c->spans, c->window_probs, silent, c->n_windows,
                                      c->n_labels, duration, segments);
    }
    if (run->plot && c->n_windows > 0) {
        /* Only one file is plotted: no other worker touches run->plot. */
        plot_data d = {.file_name = path, .model_name = run->model_name,
                       .labels = (const char *const *)c->model->labels,
                       .n_labels = c->n_labels, .spans = c->spans, .probs = c->window_probs,
                       .n_windows = c->n_windows, .segments = segments,
                       .n_segments = o.n_segments, .duration = duration};
        char why[ERRLEN];
        int drawn = plot_write(run->plot, &d, why, sizeof why);
        run->plot = NULL;
        if (drawn != 0) {
            r->failed = true;
            snprintf(r->error, sizeof r->error, "%s", why);
        }
    }
    if (!run->opt->segments) {
        o.segments = NULL;      /* computed for the plot only */
        o.n_segments = 0;
    }
    if (run->opt->json) {
        r->output = format_json(c, path, has_genre ? clip : NULL, duration, padded, &o);
    } else {
        r->output = format_row(c, path, run->name_width, has_genre ? clip : NULL, duration,
                               padded, &o);
        r->output = append_segments(r->output, c->model, &o);
    }
    free(segments);
    if (!r->output) {
        r->failed = true;
        snprintf(r->error, sizeof r->error, "out of memory");
    }
    free(clip);
    free(silent);
}

/* ---- workers and ordered output ---- */

/* A worker's classifier; a failure to make it fails each of its files. */
typedef struct worker_state {
    classifier c;
    bool ready;
    char error[ERRLEN];
} worker_state;

static void *worker_start(void *ctx)
{
    classify_run *run = ctx;
    worker_state *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->ready = classifier_init(&w->c, run->model, run->opt->hop_seconds, w->error,
                               sizeof w->error) == 0;
    w->c.model_id_json = run->model_id_json;
    return w;
}

static void worker_classify(void *ctx, void *state, size_t i)
{
    classify_run *run = ctx;
    worker_state *w = state;
    file_result *r = &run->results[i];
    if (w && w->ready) {
        classify_one(&w->c, run, i, r);
    } else {
        r->failed = true;
        snprintf(r->error, sizeof r->error, "%s", w ? w->error : "out of memory");
    }
}

static void worker_stop(void *ctx, void *state)
{
    worker_state *w = state;
    if (w)
        classifier_free(&w->c, ctx);
    free(w);
}

/* On the main thread, in file order: the file's line and its share of the
 * exit status. */
static void report_file(void *ctx, size_t i)
{
    classify_run *run = ctx;
    file_result *r = &run->results[i];
    if (run->progress)
        fprintf(stderr, "\r\033[K");
    if (r->failed) {
        /* Library messages about the file usually name it already. */
        const char *f = run->items[i].path;
        if (strncmp(r->error, f, strlen(f)) == 0)
            fprintf(stderr, "genre-classify: %s\n", r->error);
        else
            fprintf(stderr, "genre-classify: %s: %s\n", f, r->error);
        run->status = EXIT_FAILED;
    } else if (r->no_genre && run->status == 0) {
        run->status = EXIT_NO_GENRE;
    }
    if (r->output) {
        fputs(r->output, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    free(r->output);
    r->output = NULL;
    if (run->progress && i + 1 < run->n_files)
        fprintf(stderr, "[%zu/%zu] %s", i + 1, run->n_files, run->items[i].path);
}

static int parse_options(int argc, char **argv, options *opt)
{
    static const struct option longs[] = {
        {"model", required_argument, NULL, 'm'}, {"hop", required_argument, NULL, 'H'},
        {"json", no_argument, NULL, 'j'},        {"jobs", required_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},        {"version", no_argument, NULL, 'V'},
        {"silence-dbfs", required_argument, NULL, 'S'},
        {"segments", no_argument, NULL, 'G'},
        {"plot", required_argument, NULL, 'P'},
        {NULL, 0, NULL, 0},
    };
    *opt = (options){.model_path = NULL, .hop_seconds = 5.0, .silence_dbfs = GENRE_SILENCE_DBFS,
                     .json = false, .jobs = 1};
    int ch;
    while ((ch = getopt_long(argc, argv, "m:jhV", longs, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'm':
            opt->model_path = optarg;
            break;
        case 'H':
            opt->hop_seconds = strtod(optarg, &end);
            if (end == optarg || *end || !(opt->hop_seconds > 0) || opt->hop_seconds > 3600) {
                fprintf(stderr, "genre-classify: --hop wants seconds in (0, 3600], not \"%s\"\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'S':
            opt->silence_dbfs = strtod(optarg, &end);
            if (end == optarg || *end || !(opt->silence_dbfs >= GENRE_LEVEL_FLOOR_DBFS) ||
                opt->silence_dbfs > 0) {
                fprintf(stderr, "genre-classify: --silence-dbfs wants %g..0 dBFS, not \"%s\"\n",
                        GENRE_LEVEL_FLOOR_DBFS, optarg);
                return EXIT_USAGE;
            }
            break;
        case 'j':
            opt->json = true;
            break;
        case 'G':
            opt->segments = true;
            break;
        case 'P':
            if (plot_format_of(optarg) == PLOT_NONE) {
                fprintf(stderr, "genre-classify: --plot wants a file name ending in .svg or "
                        ".png, not \"%s\"\n", optarg);
                return EXIT_USAGE;
            }
            opt->plot_path = optarg;
            break;
        case 'J': {
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > MAX_JOBS) {
                fprintf(stderr, "genre-classify: --jobs wants 1..%d, not \"%s\"\n", MAX_JOBS,
                        optarg);
                return EXIT_USAGE;
            }
            opt->jobs = (int)n;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("genre-classify %s\n", GENRED_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "genre-classify: no audio files given (try --help)\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* Classifies the operands (files, and the directories that failed) with
 * the options; the exit status. */
static int classify_all(options opt, const walk_list *operands)
{
    int status;
    /* The installed model only: no fallback to the source tree the binary
     * was built in (tests and ./dev give --model). */
    if (!opt.model_path)
        opt.model_path = GENRE_MODEL_INSTALLED;
    char err[ERRLEN];
    /* The plot's file first: a path that cannot be written costs no
     * model loading and no decoding. */
    plot *plot = NULL;
    if (opt.plot_path && !(plot = plot_open(opt.plot_path, err, sizeof err))) {
        fprintf(stderr, "genre-classify: cannot write the plot: %s\n", err);
        return EXIT_FAILED;
    }
    genre_model *model = genre_model_load(opt.model_path, err, sizeof err);
    if (!model) {
        fprintf(stderr, "genre-classify: cannot load model: %s\n", err);
        plot_discard(plot);
        return EXIT_FAILED;
    }
    /* Refuse a model the network or its front-end cannot run before
     * touching any audio. */
    genre_stream *probe = genre_stream_new(model, model->frontend.sample_rate, 1, 1, 1, err,
                                           sizeof err);
    if (!probe) {
        fprintf(stderr, "genre-classify: %s: %s\n", opt.model_path, err);
        genre_model_del(model);
        plot_discard(plot);
        return EXIT_FAILED;
    }
    /* (A model whose front-end settings the front-end refuses is refused
     * by the loader already, with the front-end's own check: a model error,
     * not one error per audio file.) */
    genre_stream_del(probe);

    /* The model's identity: the same object genred reports (doc/output.md). */
    genre_json identity;
    genre_json_init(&identity);
    const char *slash = strrchr(opt.model_path, '/');
    genre_model_json_identity(&identity, model, slash ? slash + 1 : opt.model_path);
    if (identity.failed) {
        fprintf(stderr, "genre-classify: out of memory\n");
        genre_json_free(&identity);
        genre_model_del(model);
        plot_discard(plot);
        return 1;
    }
    classify_run run = {.opt = &opt, .model = model, .model_id_json = identity.buf,
                        .model_name = slash ? slash + 1 : opt.model_path, .plot = plot,
                        .items = operands->items, .n_files = operands->n};
    run.results = calloc(run.n_files, sizeof *run.results);
    if (!run.results) {
        fprintf(stderr, "genre-classify: out of memory\n");
        genre_json_free(&identity);
        genre_model_del(model);
        plot_discard(plot);
        return EXIT_FAILED;
    }
    for (size_t i = 0; i < run.n_files; i++) {
        int len = (int)strlen(run.items[i].path);
        if (len > run.name_width)
            run.name_width = len > 60 ? 60 : len;
    }
    pthread_mutex_init(&run.fftw_lock, NULL);
    run.progress = run.n_files > 1 && isatty(STDERR_FILENO);
    if (!opt.json)
        printf("%-*s  %-15s %7s  %s\n", run.name_width, "FILE", "GENRE", "CONF", "TOP-3");
    const fanout_ops ops = {.start = worker_start, .work = worker_classify, .stop = worker_stop,
                            .done = report_file};
    fanout_run(run.n_files, (unsigned)opt.jobs, &ops, &run);
    status = run.status;
    if (run.plot) {
        /* The file failed or had no window to draw. */
        fprintf(stderr, "genre-classify: %s: no plot: the file gave no window\n", opt.plot_path);
        plot_discard(run.plot);
        if (status == 0 || status == EXIT_NO_GENRE)
            status = EXIT_FAILED;
    }
    pthread_mutex_destroy(&run.fftw_lock);
    free(run.results);
    genre_json_free(&identity);
    genre_model_del(model);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "genre-classify: error writing output\n");
        status = EXIT_FAILED;
    }
    return status;
}

int main(int argc, char **argv)
{
    options opt;
    int status = parse_options(argc, argv, &opt);
    if (status >= 0)
        return status;
    walk_list operands = {0};
    for (int i = optind; i < argc; i++) {
        if (walk_add(&operands, argv[i]) != 0) {
            fprintf(stderr, "genre-classify: out of memory\n");
            walk_free(&operands);
            return EXIT_FAILED;
        }
    }
    /* Counted after the directories are searched: a directory holding
     * one audio file may be plotted. */
    if (opt.plot_path && operands.n != 1) {
        fprintf(stderr, "genre-classify: --plot draws one audio file; %zu were given "
                "(directories searched)\n", operands.n);
        walk_free(&operands);
        return EXIT_USAGE;
    }
    status = classify_all(opt, &operands);
    walk_free(&operands);
    return status;
}
