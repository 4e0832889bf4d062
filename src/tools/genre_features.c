/* genre-features: turn a labelled audio manifest into raw log-mel feature
 * files for training, through exactly the pipeline the classifier uses
 * (downmix -> libsamplerate -> front-end), so training and inference see the
 * same numbers.
 *
 *   genre-features [--jobs N] [--model FILE.gmdl [--node NAME] | spec flags] MANIFEST.csv OUTDIR
 *
 * Writes OUTDIR/feat/NNNNN.npy (float32 [frames, n_mels], NNNNN = manifest
 * data row, 0-based), OUTDIR/index.csv (manifest columns + npy, frames,
 * seconds), OUTDIR/errors.csv and OUTDIR/spec.json.
 *
 * With --node, each frame is instead the output of that node of the
 * model's graph ([frames, width]): the per-frame embeddings of a pretrained
 * trunk, computed by the stream classifier (genre/stream.h) exactly as the
 * daemon and genre-classify compute them, with the stream's context (zeros
 * only before the file's start and after its end). */
#include "build_config.h"
#include "csv.h"
#include "fanout.h"
#include "genre/audiofile.h"
#include "genre/error.h"
#include "genre/frontend.h"
#include "genre/json.h"
#include "genre/model.h"
#include "genre/npy.h"
#include "genre/pipeline.h"
#include "genre/stream.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_JOBS 64
#define ERRLEN 512
/* Exit statuses, as in every genred program: 0 every file done, 1 a
 * failure (some file, or the model, manifest or output folder), 2 a
 * usage error (the command line itself). */
#define EXIT_FAILED 1
#define EXIT_USAGE 2

typedef struct item_result {
    int ok;
    size_t frames;
    double seconds;
    char error[ERRLEN];
} item_result;

/* Everything the workers share; owned by main(). */
typedef struct features_run {
    const csv_table *manifest;
    size_t file_col;
    char *manifest_dir;
    const char *outdir;
    genre_frontend_spec spec;
    const genre_model *model;   /* --node: the model whose node is written */
    const char *node;
    size_t width;               /* floats per output frame */
    size_t n_items;
    item_result *results;
    pthread_mutex_t plan_lock;  /* FFTW's planner is not thread-safe */
    size_t finished, failed;    /* main thread: reported so far */
    int progress;
} features_run;

/* One worker's frames for the file being decoded (reused across files). */
typedef struct frame_store {
    float *data;
    size_t n_frames, cap_frames, width;
    int out_of_memory;
    /* The worker's pipeline (or with --node its stream), kept from file to
     * file while the format stays (setting up a resampler measures its
     * filter). */
    genre_pipeline *pipeline;
    genre_stream *stream;
} frame_store;

static int store_frame(void *user, const float *frame)
{
    frame_store *s = user;
    if (s->n_frames == s->cap_frames) {
        size_t cap = s->cap_frames ? 2 * s->cap_frames : 4096;
        float *np = realloc(s->data, cap * s->width * sizeof *np);
        if (!np) {
            s->out_of_memory = 1;
            return 1;
        }
        s->data = np;
        s->cap_frames = cap;
    }
    memcpy(s->data + s->n_frames * s->width, frame, s->width * sizeof *frame);
    s->n_frames++;
    return 0;
}

static int store_node_frame(void *user, uint64_t t, const float *frame)
{
    (void)t;    /* the graph delivers frames in order, each once */
    return store_frame(user, frame);
}

/* Sets up the worker's frame source for a file's format: a pipeline, or
 * with --node a stream tapping the node.  0, or -1 with a reason. */
static int prepare(features_run *run, frame_store *s, double rate, int channels, char *why,
                   size_t whylen)
{
    pthread_mutex_lock(&run->plan_lock);
    int rc = 0;
    if (run->node) {
        size_t width = 0;
        s->stream = genre_stream_renew(s->stream, run->model, rate, channels, 0, 1, why, whylen);
        rc = !s->stream || genre_stream_tap(s->stream, run->node, store_node_frame, s, &width, why,
                                            whylen)
                 ? -1
                 : 0;
        if (rc == 0 && width != s->width) {
            genre_set_error(why, whylen, "node %s gives %zu floats a frame, expected %zu",
                            run->node, width, s->width);
            rc = -1;
        }
    } else {
        s->pipeline = genre_pipeline_renew(s->pipeline, &run->spec, rate, channels, why, whylen);
        rc = s->pipeline ? 0 : -1;
    }
    pthread_mutex_unlock(&run->plan_lock);
    return rc;
}

static int push_audio(features_run *run, frame_store *s, const float *buf, size_t frames)
{
    if (run->node)
        return genre_stream_push(s->stream, buf, frames, NULL, NULL);
    return genre_pipeline_push(s->pipeline, buf, frames, store_frame, s);
}

static int finish_audio(features_run *run, frame_store *s)
{
    if (run->node)
        return genre_stream_finish(s->stream, NULL, NULL);
    return genre_pipeline_flush(s->pipeline, store_frame, s);
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* Decode one file into s; 0 or -1 with a reason in err. */
static int decode_file(features_run *run, const char *path, frame_store *s, double *seconds,
                       char *err, size_t errlen)
{
    genre_audiofile *af = genre_audiofile_open(path, err, errlen);
    if (!af)
        return -1;
    const int channels = genre_audiofile_channels(af);
    const double rate = genre_audiofile_rate(af);
    float *buf = malloc((size_t)GENRE_PIPELINE_MAX_CHUNK * (size_t)channels * sizeof *buf);
    if (!buf) {
        genre_set_error(err, errlen, "%s: out of memory", path);
        genre_audiofile_close(af);
        return -1;
    }
    char why[ERRLEN];
    int rc = 0;
    uint64_t total = 0;
    if (prepare(run, s, rate, channels, why, sizeof why)) {
        genre_set_error(err, errlen, "%s: %s", path, why);
        rc = -1;
    }
    while (rc == 0) {
        ssize_t got = genre_audiofile_read(af, buf, GENRE_PIPELINE_MAX_CHUNK, err, errlen);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 0)
            break;
        /* NaN or infinite samples would become NaN features in the
         * training data: the file is refused instead. */
        for (size_t i = 0; i < (size_t)got * (size_t)channels; i++) {
            if (!isfinite(buf[i])) {
                genre_set_error(err, errlen, "%s: non-finite sample (NaN or infinity) at %.3f s",
                                path, (double)(total + i / (size_t)channels) / rate);
                rc = -1;
                break;
            }
        }
        if (rc != 0)
            break;
        total += (uint64_t)got;
        if (push_audio(run, s, buf, (size_t)got) != 0)
            rc = -2;
    }
    if (rc == 0 && finish_audio(run, s) != 0)
        rc = -2;
    if (rc == -2) {
        if (s->out_of_memory)
            genre_set_error(err, errlen, "%s: out of memory for the features", path);
        else if (run->node)
            genre_set_error(err, errlen, "%s: %s", path, genre_stream_error(s->stream));
        else
            genre_set_error(err, errlen, "%s: resampling failed", path);
        rc = -1;
    }
    /* Every frame of the stream has its node output, no more, no less. */
    if (rc == 0 && run->node && s->n_frames != genre_stream_frames(s->stream)) {
        genre_set_error(err, errlen, "%s: %zu frames of node %s for %llu front-end frames", path,
                        s->n_frames, run->node, (unsigned long long)genre_stream_frames(s->stream));
        rc = -1;
    }
    *seconds = (double)total / rate;
    if (rc == 0 && s->n_frames == 0) {
        genre_set_error(err, errlen,
                        "%s: too short (%.3f s) to give one frame (needs %u samples at %u Hz)",
                        path, *seconds, run->spec.n_fft, run->spec.sample_rate);
        rc = -1;
    }
    free(buf);
    genre_audiofile_close(af);
    return rc;
}

static void process_item(features_run *run, size_t i, frame_store *s)
{
    item_result *r = &run->results[i];
    const csv_row *row = &run->manifest->rows[i + 1];
    const size_t n_cols = run->manifest->rows[0].n_fields;
    if (row->n_fields != n_cols) {
        genre_set_error(r->error, sizeof r->error, "manifest line %zu has %zu fields, the header has %zu",
                        row->line, row->n_fields, n_cols);
        return;
    }
    const char *file = row->fields[run->file_col];
    if (!*file) {
        genre_set_error(r->error, sizeof r->error, "manifest line %zu: empty file name", row->line);
        return;
    }
    char *path = file[0] == '/' ? strdup(file) : join_path(run->manifest_dir, file);
    if (!path) {
        genre_set_error(r->error, sizeof r->error, "%s: out of memory", file);
        return;
    }
    s->n_frames = 0;
    s->out_of_memory = 0;
    if (decode_file(run, path, s, &r->seconds, r->error, sizeof r->error) == 0) {
        char name[32];
        snprintf(name, sizeof name, "feat/%05zu.npy", i);
        char *out = join_path(run->outdir, name);
        size_t shape[2] = {s->n_frames, s->width};
        if (!out)
            genre_set_error(r->error, sizeof r->error, "%s: out of memory", path);
        else if (genre_npy_save_f32(out, s->data, shape, 2, r->error, sizeof r->error) == 0) {
            r->ok = 1;
            r->frames = s->n_frames;
        }
        free(out);
    }
    free(path);
}

static void *worker_start(void *ctx)
{
    features_run *run = ctx;
    frame_store *store = calloc(1, sizeof *store);
    if (store)
        store->width = run->width;
    return store;
}

static void worker_process(void *ctx, void *state, size_t i)
{
    features_run *run = ctx;
    if (state)
        process_item(run, i, state);
    else
        genre_set_error(run->results[i].error, sizeof run->results[i].error, "out of memory");
}

static void worker_stop(void *ctx, void *state)
{
    features_run *run = ctx;
    frame_store *store = state;
    if (!store)
        return;
    free(store->data);
    pthread_mutex_lock(&run->plan_lock);
    genre_pipeline_del(store->pipeline);
    genre_stream_del(store->stream);
    pthread_mutex_unlock(&run->plan_lock);
    free(store);
}

/* On the main thread, in manifest order: failures and progress. */
static void report_item(void *ctx, size_t i)
{
    features_run *run = ctx;
    run->finished++;
    if (!run->results[i].ok) {
        run->failed++;
        fprintf(stderr, "%sgenre-features: %s\n", run->progress ? "\r\033[K" : "",
                run->results[i].error);
    }
    if (run->progress)
        fprintf(stderr, "\r%zu/%zu files, %zu failed", run->finished, run->n_items, run->failed);
}

/* Shortest decimal that reads back as the same float, so spec.json states
 * exactly the values used. */
static void json_float(genre_json *j, float v)
{
    char buf[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    genre_json_raw(j, buf);
}

static int write_spec_json(const char *outdir, const genre_frontend_spec *s, const char *source,
                           const features_run *run, char *err, size_t errlen)
{
    genre_json j;
    genre_json_init(&j);
    genre_json_begin_object(&j);
    genre_json_key(&j, "sample_rate"); genre_json_int(&j, s->sample_rate);
    genre_json_key(&j, "n_fft"); genre_json_int(&j, s->n_fft);
    genre_json_key(&j, "hop"); genre_json_int(&j, s->hop);
    genre_json_key(&j, "window"); genre_json_string(&j, "hann_periodic");
    genre_json_key(&j, "n_mels"); genre_json_int(&j, s->n_mels);
    genre_json_key(&j, "fmin"); json_float(&j, s->fmin);
    genre_json_key(&j, "fmax"); json_float(&j, s->fmax);
    genre_json_key(&j, "mel_scale");
    genre_json_string(&j, s->mel_scale == GENRE_MEL_HTK ? "htk" : "slaney");
    genre_json_key(&j, "mel_norm");
    genre_json_string(&j, s->mel_norm == GENRE_MEL_NORM_AREA ? "area" : "peak");
    genre_json_key(&j, "log_offset"); json_float(&j, s->log_offset);
    genre_json_key(&j, "window_frames"); genre_json_int(&j, s->window_frames);
    genre_json_key(&j, "normalisation");
    if (run->node)
        genre_json_string(&j, "the model's");
    else
        genre_json_null(&j);
    genre_json_key(&j, "downmix"); genre_json_string(&j, "mean of channels");
    genre_json_key(&j, "resampler"); genre_json_string(&j, "libsamplerate SRC_SINC_MEDIUM_QUALITY");
    genre_json_key(&j, "definition"); genre_json_string(&j, "doc/frontend.md");
    genre_json_key(&j, "spec_source"); genre_json_string(&j, source);
    if (run->node) {
        /* The frames are a node's outputs, the model's own normalisation applied. */
        genre_json_key(&j, "node"); genre_json_string(&j, run->node);
        genre_json_key(&j, "width"); genre_json_int(&j, (long long)run->width);
        genre_json_key(&j, "computed_by"); genre_json_string(&j, "genre_stream (libgenre), zero context outside the file");
        genre_json_key(&j, "feature_layout"); genre_json_string(&j, "float32 [frames, width], C order");
    } else {
        genre_json_key(&j, "feature_layout"); genre_json_string(&j, "float32 [frames, n_mels], C order");
    }
    genre_json_end_object(&j);
    int rc = -1;
    char *path = join_path(outdir, "spec.json");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (j.failed || !path)
        genre_set_error(err, errlen, "spec.json: out of memory");
    else if (!f)
        genre_set_error(err, errlen, "%s: cannot create: %s", path, strerror(errno));
    else if (fputs(j.buf, f) == EOF || fputc('\n', f) == EOF || fclose(f) != 0) {
        f = NULL;
        genre_set_error(err, errlen, "%s: write failed", path);
    } else {
        f = NULL;
        rc = 0;
    }
    if (f)
        fclose(f);
    free(path);
    genre_json_free(&j);
    return rc;
}

/* OUTDIR/name opened for writing (*path gets its path, to free), or NULL
 * with a message. */
static FILE *create_output(const features_run *run, const char *name, char **path, char *err,
                           size_t errlen)
{
    *path = join_path(run->outdir, name);
    FILE *f = *path ? fopen(*path, "w") : NULL;
    if (!f) {
        genre_set_error(err, errlen, "%s: cannot create: %s", *path ? *path : name,
                        strerror(errno));
        free(*path);
        *path = NULL;
    }
    return f;
}

/* Closes what create_output opened and frees its path: 0, or -1 with a
 * message when anything failed to reach the file. */
static int finish_output(FILE *f, char *path, char *err, size_t errlen)
{
    int rc = ferror(f) ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    if (rc)
        genre_set_error(err, errlen, "%s: write failed", path);
    free(path);
    return rc;
}

/* A manifest row's fields, each followed by a comma. */
static void write_row_fields(FILE *f, const csv_row *row)
{
    for (size_t c = 0; c < row->n_fields; c++) {
        csv_write_field(f, row->fields[c]);
        putc(',', f);
    }
}

static int write_index(const features_run *run, char *err, size_t errlen)
{
    char *path;
    FILE *f = create_output(run, "index.csv", &path, err, errlen);
    if (!f)
        return -1;
    write_row_fields(f, &run->manifest->rows[0]);
    fputs("npy,frames,seconds\n", f);
    for (size_t i = 0; i < run->n_items; i++) {
        const item_result *r = &run->results[i];
        if (!r->ok)
            continue;
        write_row_fields(f, &run->manifest->rows[i + 1]);
        fprintf(f, "feat/%05zu.npy,%zu,%.3f\n", i, r->frames, r->seconds);
    }
    return finish_output(f, path, err, errlen);
}

static int write_errors(const features_run *run, char *err, size_t errlen)
{
    char *path;
    FILE *f = create_output(run, "errors.csv", &path, err, errlen);
    if (!f)
        return -1;
    fputs("line,file,error\n", f);
    for (size_t i = 0; i < run->n_items; i++) {
        const item_result *r = &run->results[i];
        if (r->ok)
            continue;
        const csv_row *row = &run->manifest->rows[i + 1];
        fprintf(f, "%zu,", row->line);
        csv_write_field(f, run->file_col < row->n_fields ? row->fields[run->file_col] : "");
        putc(',', f);
        csv_write_field(f, r->error);
        putc('\n', f);
    }
    return finish_output(f, path, err, errlen);
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        errno = ENOTDIR;
    }
    return -1;
}

static void usage(FILE *out)
{
    fputs("usage: genre-features [--jobs N] [--model FILE.gmdl [--node NAME] | spec flags] MANIFEST.csv OUTDIR\n"
          "Decode every file of a manifest (CSV with a header row and a `file` column,\n"
          "relative to the manifest's folder unless absolute) into raw log-mel features.\n"
          "spec flags (default: the project's front-end, see doc/frontend.md):\n"
          "  --sample-rate HZ  --n-fft N  --hop N  --mels N  --fmin HZ  --fmax HZ\n"
          "  --mel-scale slaney|htk  --mel-norm peak|area  --log-offset X\n"
          "  --window-frames N\n"
          "  --model FILE.gmdl take the spec from a model file (features stay raw:\n"
          "                    the model's normalisation is not applied)\n"
          "  --node NAME       with --model: write that graph node's output per frame\n"
          "                    instead (embeddings, computed as the daemon does)\n"
          "  -j, --jobs N      parallel workers (default 1)\n"
          "  -h, --help        this help\n"
          "  -V, --version     print the version\n"
          "Exit status: 0 every file done, 1 some file failed or the model, manifest\n"
          "or output folder could not be used, 2 usage error.\n",
          out);
}

static int parse_u32(const char *s, const char *what, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-') {
        fprintf(stderr, "genre-features: %s: '%s' is not a whole number\n", what, s);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int parse_float(const char *s, const char *what, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        fprintf(stderr, "genre-features: %s: '%s' is not a finite number\n", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    genre_frontend_spec spec = genre_frontend_default_spec();
    uint32_t jobs = 1;
    enum { OPT_RATE = 256, OPT_NFFT, OPT_HOP, OPT_MELS, OPT_FMIN, OPT_FMAX, OPT_SCALE, OPT_NORM,
           OPT_OFFSET, OPT_WINDOW_FRAMES };
    static const struct option options[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"sample-rate", required_argument, NULL, OPT_RATE},
        {"n-fft", required_argument, NULL, OPT_NFFT},
        {"hop", required_argument, NULL, OPT_HOP},
        {"mels", required_argument, NULL, OPT_MELS},
        {"fmin", required_argument, NULL, OPT_FMIN},
        {"fmax", required_argument, NULL, OPT_FMAX},
        {"mel-scale", required_argument, NULL, OPT_SCALE},
        {"mel-norm", required_argument, NULL, OPT_NORM},
        {"log-offset", required_argument, NULL, OPT_OFFSET},
        {"window-frames", required_argument, NULL, OPT_WINDOW_FRAMES},
        {"model", required_argument, NULL, 'm'},
        {"node", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int fmax_given = 0, spec_flags = 0, opt;
    const char *model_path = NULL, *node = NULL;
    genre_model *model = NULL;
    while ((opt = getopt_long(argc, argv, "j:hV", options, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
        case 'j': bad = parse_u32(optarg, "--jobs", &jobs); break;
        case OPT_RATE: bad = parse_u32(optarg, "--sample-rate", &spec.sample_rate); break;
        case OPT_NFFT: bad = parse_u32(optarg, "--n-fft", &spec.n_fft); break;
        case OPT_HOP: bad = parse_u32(optarg, "--hop", &spec.hop); break;
        case OPT_MELS: bad = parse_u32(optarg, "--mels", &spec.n_mels); break;
        case OPT_FMIN: bad = parse_float(optarg, "--fmin", &spec.fmin); break;
        case OPT_FMAX: bad = parse_float(optarg, "--fmax", &spec.fmax); fmax_given = 1; break;
        case OPT_OFFSET: bad = parse_float(optarg, "--log-offset", &spec.log_offset); break;
        case OPT_WINDOW_FRAMES: bad = parse_u32(optarg, "--window-frames", &spec.window_frames); break;
        case OPT_SCALE:
            if (strcmp(optarg, "slaney") == 0)
                spec.mel_scale = GENRE_MEL_SLANEY;
            else if (strcmp(optarg, "htk") == 0)
                spec.mel_scale = GENRE_MEL_HTK;
            else {
                fprintf(stderr, "genre-features: --mel-scale: '%s' is not slaney or htk\n", optarg);
                bad = 1;
            }
            break;
        case OPT_NORM:
            if (strcmp(optarg, "peak") == 0)
                spec.mel_norm = GENRE_MEL_NORM_PEAK;
            else if (strcmp(optarg, "area") == 0)
                spec.mel_norm = GENRE_MEL_NORM_AREA;
            else {
                fprintf(stderr, "genre-features: --mel-norm: '%s' is not peak or area\n", optarg);
                bad = 1;
            }
            break;
        case 'm': model_path = optarg; break;
        case 'n': node = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("genre-features %s\n", GENRED_VERSION); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
        if (bad)
            return EXIT_USAGE;
        if (opt >= OPT_RATE)
            spec_flags = 1;
    }
    if (argc - optind != 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (jobs < 1 || jobs > MAX_JOBS) {
        fprintf(stderr, "genre-features: --jobs must be 1..%d\n", MAX_JOBS);
        return EXIT_USAGE;
    }
    char err[ERRLEN];
    char spec_source[ERRLEN] = "command-line flags / defaults";
    if (model_path) {
        if (spec_flags) {
            fprintf(stderr, "genre-features: give either --model or spec flags, not both\n");
            return EXIT_USAGE;
        }
        model = genre_model_load(model_path, err, sizeof err);
        if (!model) {
            fprintf(stderr, "genre-features: %s\n", err);
            return EXIT_FAILED;
        }
        spec = model->frontend;
        snprintf(spec_source, sizeof spec_source, "model %s", model_path);
    } else if (node) {
        fprintf(stderr, "genre-features: --node needs --model\n");
        return EXIT_USAGE;
    }
    size_t width = spec.n_mels;
    if (node) {
        /* A stream made once here checks the node (and the model) before
         * any work; workers make their own. */
        genre_stream *probe = genre_stream_new(model, spec.sample_rate, 1, 0, 1, err, sizeof err);
        if (!probe || genre_stream_tap(probe, node, store_node_frame, NULL, &width, err, sizeof err)) {
            fprintf(stderr, "genre-features: %s: %s\n", model_path, err);
            genre_stream_del(probe);
            genre_model_del(model);
            return EXIT_FAILED;
        }
        genre_stream_del(probe);
    } else {
        genre_model_del(model);
        model = NULL;
    }
    /* Training features are raw log-mel: training computes the
     * normalisation (a model's own is never applied here).  Node outputs
     * are the model's, its normalisation included. */
    if (!node)
        spec.norm_mean = spec.norm_std = NULL;
    /* A lower sample rate without an explicit --fmax means "up to Nyquist"
     * rather than an error about the default 8 kHz. */
    if (!model_path && !fmax_given && (double)spec.fmax > spec.sample_rate / 2.0)
        spec.fmax = (float)(spec.sample_rate / 2.0);

    const char *manifest_path = argv[optind], *outdir = argv[optind + 1];
    /* Check the spec once up front so a bad flag fails before any work. */
    genre_frontend *probe = genre_frontend_new(&spec, err, sizeof err);
    if (!probe) {
        fprintf(stderr, "genre-features: %s\n", err);
        genre_model_del(model);
        return EXIT_USAGE;
    }
    genre_frontend_del(probe);

    csv_table *manifest = csv_read_file(manifest_path, err, sizeof err);
    if (!manifest) {
        fprintf(stderr, "genre-features: %s\n", err);
        genre_model_del(model);
        return EXIT_FAILED;
    }
    long file_col = csv_column(manifest, "file");
    if (file_col < 0) {
        fprintf(stderr, "genre-features: %s: no `file` column in the header row\n", manifest_path);
        csv_free(manifest);
        genre_model_del(model);
        return EXIT_FAILED;
    }
    /* Training needs labels; a split is optional (train/genre_data.py makes
     * one where there is none). */
    if (csv_column(manifest, "label") < 0)
        fprintf(stderr, "genre-features: warning: %s has no `label` column\n", manifest_path);

    features_run run = {
        .manifest = manifest,
        .file_col = (size_t)file_col,
        .outdir = outdir,
        .spec = spec,
        .model = model,
        .node = node,
        .width = width,
        .n_items = manifest->n_rows - 1,
        .progress = isatty(STDERR_FILENO),
    };
    /* The manifest's folder, against which relative file names resolve. */
    const char *slash = strrchr(manifest_path, '/');
    run.manifest_dir = slash ? strndup(manifest_path, (size_t)(slash - manifest_path + (slash == manifest_path)))
                             : strdup(".");
    run.results = calloc(run.n_items ? run.n_items : 1, sizeof *run.results);
    char *featdir = join_path(outdir, "feat");
    int status = 0;
    if (!run.manifest_dir || !run.results || !featdir) {
        fprintf(stderr, "genre-features: out of memory\n");
        status = EXIT_FAILED;
    } else if (make_dir(outdir) != 0 || make_dir(featdir) != 0) {
        fprintf(stderr, "genre-features: cannot create %s: %s\n", featdir, strerror(errno));
        status = EXIT_FAILED;
    }
    if (status == 0) {
        pthread_mutex_init(&run.plan_lock, NULL);
        const fanout_ops ops = {.start = worker_start, .work = worker_process,
                                .stop = worker_stop, .done = report_item};
        fanout_run(run.n_items, jobs, &ops, &run);
        if (run.progress)
            fputc('\n', stderr);
        pthread_mutex_destroy(&run.plan_lock);

        if (write_index(&run, err, sizeof err) != 0 || write_errors(&run, err, sizeof err) != 0 ||
            write_spec_json(outdir, &spec, spec_source, &run, err, sizeof err) != 0) {
            fprintf(stderr, "genre-features: %s\n", err);
            status = EXIT_FAILED;
        } else {
            fprintf(stderr, "genre-features: %zu of %zu files done, %zu failed -> %s\n",
                    run.n_items - run.failed, run.n_items, run.failed, outdir);
            status = run.failed ? EXIT_FAILED : 0;
        }
    }
    free(featdir);
    free(run.results);
    free(run.manifest_dir);
    csv_free(manifest);
    genre_model_del(model);
    return status;
}
