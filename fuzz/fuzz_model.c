/* Fuzz target: the model file loader (genre_model_load_buffer) and, for
 * files it accepts, the network built from them (genre_net_new/_run for a
 * version-1 chain, genre_graph_new/_push/_window/_run for a version-2
 * graph).
 *
 * Beyond "no crash", it checks what the loader promises: a refused file
 * comes with a message; an accepted file has every layer's weights and
 * biases really inside the image (all read here, so ASan sees any range
 * that is off), consistent counts, findable labels and a net that either
 * refuses it with a message or runs it to a probability vector.
 *
 * Built with FUZZ_MODEL_FRONTEND=1 (target model-frontend), it also builds
 * the front-end of every accepted model (genre_frontend_new on its spec,
 * what genred and genre-classify do with it) and feeds it a few hops of
 * audio: the loader must never accept a spec the front-end refuses
 * (issue 14: such a model failed only when a source was attached, and the
 * error blamed the audio). */
#include "genre/crc32.h"
#include "genre/frontend.h"
#include "inspect.h"
#include "genre/graph.h"
#include "genre/model.h"
#include "genre/net.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

/* Skip running nets whose single window would cost more than this many
 * multiply-adds: the target is the loader's and net's bookkeeping, not
 * the kernels' throughput, and a slow input would stall the fuzzer. */
#define MAX_RUN_COST 20000000.0

static float touch_floats(const float *p, size_t n)
{
    /* Volatile so the reads are not optimised away. */
    volatile float acc = 0.0f;
    for (size_t i = 0; i < n; i++)
        acc += p[i] * 0.0f;
    return acc;
}

static void check_layers(const genre_model *m)
{
    FUZZ_CHECK(m->n_layers == 0 || m->layers != NULL);
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const genre_layer *l = &m->layers[i];
        FUZZ_CHECK(l->type >= GENRE_LAYER_CONV2D && l->type <= GENRE_LAYER_SOFTMAX);
        FUZZ_CHECK((l->weight == NULL) == (l->weight_len == 0));
        FUZZ_CHECK((l->bias == NULL) == (l->bias_len == 0));
        if (l->type == GENRE_LAYER_CONV2D) {
            uint64_t expect = (uint64_t)l->p[0] * l->p[1] * l->p[2] * l->p[3];
            FUZZ_CHECK(l->weight_len == expect);
            FUZZ_CHECK(l->bias_len == l->p[1]);
        } else if (l->type == GENRE_LAYER_DENSE) {
            FUZZ_CHECK(l->weight_len == (uint64_t)l->p[0] * l->p[1]);
            FUZZ_CHECK(l->bias_len == l->p[1]);
        }
        if (l->weight)
            touch_floats(l->weight, l->weight_len);
        if (l->bias)
            touch_floats(l->bias, l->bias_len);
    }
}

static void check_model(const genre_model *m)
{
    FUZZ_CHECK(m->format_version >= 1 && m->format_version <= GENRE_MODEL_VERSION);
    FUZZ_CHECK((m->n_layers > 0) == (m->format_version == 1));
    FUZZ_CHECK((m->n_nodes > 0) == (m->format_version == 2));
    FUZZ_CHECK(m->n_labels >= 1 && m->labels != NULL);
    for (uint32_t i = 0; i < m->n_labels; i++) {
        FUZZ_CHECK(m->labels[i] != NULL);
        int found = genre_model_label_index(m, m->labels[i]);
        /* Duplicate names may resolve to an earlier index. */
        FUZZ_CHECK(found >= 0 && (uint32_t)found <= i);
    }
    FUZZ_CHECK(genre_model_label_index(m, "\x01no such label\x01") == -1);
    const genre_frontend_spec *fe = &m->frontend;
    FUZZ_CHECK((fe->norm_mean == NULL) == (fe->norm_std == NULL));
    if (fe->norm_mean) {
        touch_floats(fe->norm_mean, fe->n_mels);
        touch_floats(fe->norm_std, fe->n_mels);
    }
    if (m->meta)
        (void)strlen(m->meta);
    char value[64];
    const char *v = genre_model_meta_get(m, "trained", value, sizeof value);
    if (v)
        (void)strlen(v);
    check_layers(m);
}

static double run_cost(const genre_model *m)
{
    double cost = (double)m->frontend.window_frames * m->frontend.n_mels;
    double per_position = 0.0;
    for (uint32_t i = 0; i < m->n_layers; i++)
        per_position += (double)m->layers[i].weight_len;
    return cost * (per_position + 1.0);
}

/* The same net with 3 threads of its own: every conv layer cut into row
 * blocks (any shape the fuzzer finds), under ASan.  It must build where the
 * one-thread net did, and its outputs must be a distribution when finite.
 * They are not required to equal the one-thread run's: with fuzzed weights
 * (1e30, cancellations) a differently blocked sgemm rounds differently by
 * any amount; tests/lib/test_net.c compares them on sane weights. */
static void check_threaded_net(const genre_model *m, const float *window, const float *single)
{
    char err[256] = "";
    genre_net *net = genre_net_new_threads(m, 3, err, sizeof err);
    FUZZ_CHECK(net != NULL);   /* the one-thread plan was accepted */
    if (!net)
        return;
    FUZZ_CHECK(genre_net_threads(net) == 3);
    float *probs = calloc(m->n_labels, sizeof *probs);
    FUZZ_CHECK(probs != NULL);
    FUZZ_CHECK(genre_net_run(net, window, probs) == 0);
    int all_finite = 1;
    double sum = 0.0, max_diff = 0.0;
    for (uint32_t i = 0; i < m->n_labels; i++) {
        if (!isfinite(probs[i]) || !isfinite(single[i])) {
            all_finite = 0;
            continue;
        }
        sum += probs[i];
        double d = fabs((double)probs[i] - (double)single[i]);
        max_diff = d > max_diff ? d : max_diff;
    }
    if (all_finite) {
        FUZZ_CHECK(fabs(sum - 1.0) < 1e-3);
        FUZZ_NOTE("3 threads: max |dp| %g\n", max_diff);
    }
    free(probs);
    genre_net_del(net);
}

static void check_net(const genre_model *m)
{
    char err[256] = "";
    genre_net *net = genre_net_new(m, err, sizeof err);
    if (!net) {
        FUZZ_NOTE("net refused: %s\n", err);
        FUZZ_CHECK_MSG(err);
        return;
    }
    FUZZ_CHECK(genre_net_output_size(net) == m->n_labels);
    if (run_cost(m) > MAX_RUN_COST) {
        FUZZ_NOTE("net built, too costly to run\n");
        genre_net_del(net);
        return;
    }
    size_t in_len = (size_t)m->frontend.window_frames * m->frontend.n_mels;
    float *window = calloc(in_len ? in_len : 1, sizeof *window);
    float *probs = calloc(m->n_labels, sizeof *probs);
    float *again = calloc(m->n_labels, sizeof *again);
    FUZZ_CHECK(window && probs && again);
    /* A gentle ramp, so not every activation is zero. */
    for (size_t i = 0; i < in_len; i++)
        window[i] = (float)(i % 7) * 0.25f - 0.75f;
    FUZZ_CHECK(genre_net_run(net, window, probs) == 0);
    FUZZ_CHECK(genre_net_run(net, window, again) == 0);
    /* _run keeps no state between windows. */
    FUZZ_CHECK(memcmp(probs, again, m->n_labels * sizeof *probs) == 0);
    int all_finite = 1;
    double sum = 0.0;
    for (uint32_t i = 0; i < m->n_labels; i++) {
        if (!isfinite(probs[i])) {
            all_finite = 0;
            continue;
        }
        FUZZ_CHECK(probs[i] >= 0.0f && probs[i] <= 1.0f + 1e-5f);
        sum += probs[i];
    }
    /* Weights from a fuzzer may overflow to inf/NaN; a finite softmax must
     * still be a distribution. */
    if (all_finite)
        FUZZ_CHECK(fabs(sum - 1.0) < 1e-3);
    FUZZ_NOTE("net ran: %u labels, p[0] = %g\n", m->n_labels, (double)probs[0]);
    /* Starting and joining threads costs more than most runs: one model in
     * eight (chosen by its CRC, so a given input always does the same). */
    if ((m->crc32 & 7) == 0)
        check_threaded_net(m, window, probs);
    free(window);
    free(probs);
    free(again);
    genre_net_del(net);
}

/* ---- version-2 graphs ---- */

/* Graphs whose frames cost more than this many multiply-adds each are built
 * but not run, and none is run on more than MAX_GRAPH_WORK in all (nor on
 * more than MAX_GRAPH_FRAMES frames); graphs whose buffers would exceed
 * MAX_GRAPH_FLOATS are not even built (the engine accepts up to 256 MiB a
 * buffer, which several buffers and ASan's shadow would take past
 * libFuzzer's RSS limit). */
#define MAX_GRAPH_FRAME_COST 5e6
#define MAX_GRAPH_WORK 2e7
#define MAX_GRAPH_FRAMES 64
#define MAX_GRAPH_FLOATS ((double)(24u << 20))

typedef struct graph_cost {
    double per_frame;   /* multiply-adds (and element ops) per pushed frame */
    double per_window;  /* per window: pooling and the vector nodes */
    double floats;      /* a bound on the engine's buffers and scratch */
} graph_cost;

/* Walks the (already validated) graph for every node's shape, like the
 * loader does, and bounds the engine's work and memory from them. */
static graph_cost estimate_graph(const genre_model *m)
{
    enum { N = 256 };
    uint32_t n = m->n_nodes;
    double f[N], c[N];
    int frames[N], known[N] = {0};
    double kt_sum = 0;
    for (uint32_t i = 0; i < n; i++)
        if (m->nodes[i].type == GENRE_LAYER_CONV2D)
            kt_sum += m->nodes[i].p[2];
    /* What genre_graph keeps per frame step (2 chunks, the conv contexts,
     * a window and a chunk more), with room to spare. */
    double cap = 128.0 + kt_sum + m->frontend.window_frames;
    graph_cost cost = {0.0, 0.0, cap * m->frontend.n_mels};
    FUZZ_CHECK(n >= 1 && n <= N);
    for (uint32_t done = 0, pass = 0; done < n; pass++) {
        FUZZ_CHECK(pass <= n);  /* the loader refused cycles */
        for (uint32_t i = 0; i < n; i++) {
            const genre_node *nd = &m->nodes[i];
            int ready = !known[i];
            for (uint32_t k = 0; ready && k < nd->n_inputs; k++)
                ready = nd->inputs[k] < 0 || known[nd->inputs[k]];
            if (!ready)
                continue;
            int32_t a = nd->inputs[0];
            double in_f = a < 0 ? m->frontend.n_mels : f[a], in_c = a < 0 ? 1 : c[a];
            int in_frames = a < 0 || frames[a];
            f[i] = in_f, c[i] = in_c, frames[i] = in_frames;
            const uint32_t *p = nd->p;
            switch (nd->type) {
            case GENRE_LAYER_CONV2D:
                f[i] = in_f + 2.0 * p[5] - p[3] + 1.0;
                c[i] = p[1];
                cost.per_frame += f[i] * c[i] * (double)p[0] * p[2] * p[3];
                /* im2col and conv output scratch for a chunk, per thread (2) */
                cost.floats += 2 * 32.0 * f[i] * ((double)p[0] * p[2] * p[3] + c[i]);
                break;
            case GENRE_LAYER_FREQ_MAX:
                f[i] = 1;
                break;
            case GENRE_LAYER_TIME_MAXMEAN:
                frames[i] = 0;
                f[i] = 1;
                c[i] = 2 * in_c;
                cost.per_window += in_c * m->frontend.window_frames;
                break;
            case GENRE_LAYER_DENSE:
                c[i] = p[1];
                cost.per_window += (double)p[0] * p[1];
                break;
            case GENRE_LAYER_CONCAT:
                c[i] = 0;
                for (uint32_t k = 0; k < nd->n_inputs; k++)
                    c[i] += nd->inputs[k] < 0 ? 1 : c[nd->inputs[k]];
                break;
            default:
                break;
            }
            if (frames[i]) {
                cost.per_frame += in_f * in_c + f[i] * c[i];
                cost.floats += cap * f[i] * c[i];
            } else {
                cost.per_window += in_c + c[i];
            }
            known[i] = 1;
            done++;
        }
    }
    return cost;
}

/* Probabilities as the output node promises them, when they are finite
 * (fuzzed weights may overflow). */
static void check_probs(const genre_model *m, const float *probs)
{
    double sum = 0.0;
    for (uint32_t i = 0; i < m->n_labels; i++) {
        if (!isfinite(probs[i]))
            return;
        FUZZ_CHECK(probs[i] >= 0.0f && probs[i] <= 1.0f + 1e-5f);
        sum += probs[i];
    }
    if (m->nodes[m->n_nodes - 1].type == GENRE_LAYER_SOFTMAX)
        FUZZ_CHECK(fabs(sum - 1.0) < 1e-3);
}

/* A window's result: 0 and probabilities, or -1 with a message (the
 * engine may refuse, e.g. a buffer it cannot fit, but must say so). */
static void check_window_result(const genre_model *m, int rc, const char *err, size_t errlen,
                                const float *probs)
{
    if (rc == 0) {
        check_probs(m, probs);
        return;
    }
    FUZZ_CHECK(rc == -1);
    FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', errlen) && !strchr(err, '\n'));
    FUZZ_NOTE("graph window refused: %s\n", err);
}

static void run_graph(const genre_model *m, size_t threads, const graph_cost *cost)
{
    char err[256] = "";
    genre_graph *g = genre_graph_new(m, threads, err, sizeof err);
    if (!g) {
        /* The loader checked the graph; the plan may still find buffers
         * too large. */
        FUZZ_NOTE("graph refused: %s\n", err);
        FUZZ_CHECK_MSG(err);
        return;
    }
    FUZZ_CHECK(genre_graph_threads(g) == threads);
    FUZZ_CHECK(genre_graph_frames(g) == 0 && genre_graph_ready(g) == 0);
    if (cost->per_frame > MAX_GRAPH_FRAME_COST || cost->per_window > MAX_GRAPH_WORK) {
        FUZZ_NOTE("graph built, too costly to run (%g per frame, %g per window)\n",
                  cost->per_frame, cost->per_window);
        genre_graph_del(g);
        return;
    }
    const size_t n_mels = m->frontend.n_mels, w = m->frontend.window_frames;
    size_t n = (size_t)(MAX_GRAPH_WORK / (cost->per_frame + 1.0));
    n = n < 1 ? 1 : n > MAX_GRAPH_FRAMES ? MAX_GRAPH_FRAMES : n;
    float *frames = calloc(n * n_mels, sizeof *frames);
    float *probs = calloc(m->n_labels, sizeof *probs);
    FUZZ_CHECK(frames && probs);
    for (size_t i = 0; i < n * n_mels; i++)
        frames[i] = (float)(i % 7) * 0.25f - 0.75f;
    size_t lookahead = genre_graph_lookahead(g);

    /* A stream: a first piece, a window as soon as one is ready, the rest,
     * the end, the last window. */
    size_t first = n < 5 ? n : 5;
    FUZZ_CHECK(genre_graph_push(g, frames, first, err, sizeof err) == 0);
    FUZZ_CHECK(genre_graph_frames(g) == first);
    uint64_t ready = genre_graph_ready(g);
    FUZZ_CHECK(ready == (first > lookahead ? first - lookahead : 0));
    if (ready > 0) {
        uint64_t len = ready < w ? ready : w;
        int rc = genre_graph_window(g, ready - len, ready, probs, err, sizeof err);
        check_window_result(m, rc, err, sizeof err, probs);
    }
    int rc = genre_graph_push(g, frames + first * n_mels, n - first, err, sizeof err);
    check_window_result(m, rc, err, sizeof err, probs);
    genre_graph_end(g);
    FUZZ_CHECK(genre_graph_ready(g) == genre_graph_frames(g));
    FUZZ_CHECK(rc != 0 || genre_graph_frames(g) == n);
    if (rc == 0) {
        uint64_t len = n < w ? n : w;
        rc = genre_graph_window(g, n - len, n, probs, err, sizeof err);
        check_window_result(m, rc, err, sizeof err, probs);
    }
    /* Past the end: refused, with a message. */
    err[0] = '\0';
    FUZZ_CHECK(genre_graph_window(g, n, n + 1, probs, err, sizeof err) == -1);
    FUZZ_CHECK_MSG(err);
    FUZZ_CHECK(genre_graph_push(g, frames, 1, err, sizeof err) == -1);
    FUZZ_CHECK_MSG(err);

    /* From scratch (resets the stream). */
    size_t k = n < w ? n : w;
    rc = genre_graph_run(g, frames, k, probs, err, sizeof err);
    check_window_result(m, rc, err, sizeof err, probs);
    FUZZ_NOTE("graph ran: %zu thread(s), %zu frames, look-ahead %zu, p[0] = %g\n", threads, n,
              lookahead, (double)probs[0]);
    free(frames);
    free(probs);
    genre_graph_del(g);
}

static void check_graph(const genre_model *m)
{
    FUZZ_CHECK(m->nodes != NULL);
    for (uint32_t i = 0; i < m->n_nodes; i++) {
        const genre_node *nd = &m->nodes[i];
        FUZZ_CHECK(memchr(nd->name, '\0', sizeof nd->name) != NULL);
        FUZZ_CHECK(nd->n_inputs >= 1 && nd->n_inputs <= GENRE_NODE_MAX_INPUTS);
        for (uint32_t k = 0; k < nd->n_inputs; k++)
            FUZZ_CHECK(nd->inputs[k] >= GENRE_NODE_INPUT && nd->inputs[k] < (int32_t)m->n_nodes);
        FUZZ_CHECK((nd->weight == NULL) == (nd->weight_len == 0));
        FUZZ_CHECK((nd->bias == NULL) == (nd->bias_len == 0));
        if (nd->weight)
            touch_floats(nd->weight, nd->weight_len);
        if (nd->bias)
            touch_floats(nd->bias, nd->bias_len);
    }
    graph_cost cost = estimate_graph(m);
    if (cost.floats > MAX_GRAPH_FLOATS) {
        FUZZ_NOTE("graph not built: buffers of ~%g floats\n", cost.floats);
        return;
    }
    run_graph(m, 1, &cost);
    /* Threads: one model in eight, as for nets. */
    if ((m->crc32 & 7) == 0)
        run_graph(m, 2, &cost);
}

#if FUZZ_MODEL_FRONTEND
static int count_frame(void *user, const float *frame)
{
    (void)frame;
    ++*(size_t *)user;
    return 0;
}

static void check_frontend(const genre_model *m)
{
    char err[256] = "";
    genre_frontend *fe = genre_frontend_new(&m->frontend, err, sizeof err);
    if (!fe)
        fprintf(stderr, "the loader accepted a front-end that genre_frontend_new refuses: %s\n",
                err);
    FUZZ_CHECK(fe != NULL);
    const genre_frontend_spec *s = genre_frontend_get_spec(fe);
    FUZZ_CHECK(s->n_mels == m->frontend.n_mels && s->n_fft == m->frontend.n_fft &&
               s->hop == m->frontend.hop);
    FUZZ_CHECK((s->norm_mean == NULL) == (m->frontend.norm_mean == NULL));
    /* A frame of audio and three hops: a full-scale ramp, in two pushes. */
    size_t n = (size_t)s->n_fft + 3 * (size_t)s->hop, frames = 0;
    float *audio = malloc(n * sizeof *audio);
    FUZZ_CHECK(audio != NULL);
    for (size_t i = 0; i < n; i++)
        audio[i] = (float)(i % 64) / 32.0f - 1.0f;
    FUZZ_CHECK(genre_frontend_push(fe, audio, n / 2, count_frame, &frames) == 0);
    FUZZ_CHECK(genre_frontend_push(fe, audio + n / 2, n - n / 2, count_frame, &frames) == 0);
    FUZZ_CHECK(frames >= 1);
    FUZZ_NOTE("front-end built: %zu frames from %zu samples\n", frames, n);
    free(audio);
    genre_frontend_del(fe);
}
#endif

static void load_and_check(const uint8_t *data, size_t size)
{
    char err[256] = "";
    genre_model *m = genre_model_load_buffer(data, size, err, sizeof err);
    if (!m) {
        FUZZ_NOTE("model refused: %s\n", err);
        FUZZ_CHECK_MSG(err);
        return;
    }
    check_model(m);
#if FUZZ_MODEL_FRONTEND
    check_frontend(m);
#endif
    check_net(m);
    if (m->format_version >= 2)
        check_graph(m);
    genre_model_del(m);
}

/* Offsets from doc/model-format.md: the header's file-size field and the
 * trailing CRC-32 of everything before it. */
#define FILE_SIZE_OFFSET 24
#define HEADER_MIN 36

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* As given: mostly exercises the size and CRC refusals. */
    load_and_check(data, size);

    /* With the size field and CRC made to match, so that mutations reach
     * the section, tensor and layer checks behind them instead of all being
     * turned away by the checksum. */
    if (size < HEADER_MIN)
        return 0;
    uint8_t *fixed = malloc(size);
    FUZZ_CHECK(fixed != NULL);
    memcpy(fixed, data, size);
    uint64_t total = size;
    for (int i = 0; i < 8; i++)
        fixed[FILE_SIZE_OFFSET + i] = (uint8_t)(total >> (8 * i));
    uint32_t crc = genre_crc32(0, fixed, size - 4);
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    if (memcmp(fixed, data, size) != 0)
        load_and_check(fixed, size);
    free(fixed);
    return 0;
}
