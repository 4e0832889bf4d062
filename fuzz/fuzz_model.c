/* Fuzz target: the model file loader (genre_model_load_buffer) and, for
 * files it accepts, the network built from them (genre_net_new/_run).
 *
 * Beyond "no crash", it checks what the loader promises: a refused file
 * comes with a message; an accepted file has every layer's weights and
 * biases really inside the image (all read here, so ASan sees any range
 * that is off), consistent counts, findable labels and a net that either
 * refuses it with a message or runs it to a probability vector. */
#include "genre/crc32.h"
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
 * OpenBLAS throughput, and a slow input would stall the fuzzer. */
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
 * any amount; tests/test_net.c compares them on sane weights. */
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
    check_net(m);
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
