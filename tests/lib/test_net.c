/* Network engine: every layer kernel against a naive reference written here
 * with direct nested loops (random tensors, odd sizes, padding), a whole
 * net against a chain of the references, and genre_net_new's refusals. */
#include "genre/model.h"
#include "genre/net.h"
#include "net_layers.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model_builder.h"
#include "test_random.h"


/* ---- naive references ---- */

static void ref_conv2d(const float *in, size_t in_c, size_t h, size_t w, const float *wt,
                       const float *bias, size_t out_c, size_t kh, size_t kw, size_t ph, size_t pw,
                       float *out)
{
    size_t oh = h + 2 * ph - kh + 1, ow = w + 2 * pw - kw + 1;
    for (size_t o = 0; o < out_c; o++)
        for (size_t y = 0; y < oh; y++)
            for (size_t x = 0; x < ow; x++) {
                double acc = bias[o];
                for (size_t c = 0; c < in_c; c++)
                    for (size_t i = 0; i < kh; i++)
                        for (size_t j = 0; j < kw; j++) {
                            long iy = (long)(y + i) - (long)ph, ix = (long)(x + j) - (long)pw;
                            if (iy < 0 || ix < 0 || iy >= (long)h || ix >= (long)w)
                                continue;
                            acc += (double)wt[((o * in_c + c) * kh + i) * kw + j] *
                                   in[(c * h + (size_t)iy) * w + (size_t)ix];
                        }
                out[(o * oh + y) * ow + x] = (float)acc;
            }
}

static void ref_maxpool(const float *in, size_t c, size_t h, size_t w, size_t kh, size_t kw,
                        float *out)
{
    size_t oh = h / kh, ow = w / kw;
    for (size_t ch = 0; ch < c; ch++)
        for (size_t y = 0; y < oh; y++)
            for (size_t x = 0; x < ow; x++) {
                float m = -FLT_MAX;
                for (size_t i = 0; i < kh; i++)
                    for (size_t j = 0; j < kw; j++)
                        m = fmaxf(m, in[(ch * h + y * kh + i) * w + x * kw + j]);
                out[(ch * oh + y) * ow + x] = m;
            }
}

static void ref_meanmax(const float *in, size_t c, size_t h, size_t w, float *out)
{
    for (size_t ch = 0; ch < c; ch++) {
        double sum = 0;
        float m = -FLT_MAX;
        for (size_t i = 0; i < h * w; i++) {
            sum += in[ch * h * w + i];
            m = fmaxf(m, in[ch * h * w + i]);
        }
        out[ch] = (float)(sum / (double)(h * w));
        out[c + ch] = m;
    }
}

static void ref_dense(const float *in, size_t n_in, const float *wt, const float *b, size_t n_out,
                      float *out)
{
    for (size_t o = 0; o < n_out; o++) {
        double acc = b[o];
        for (size_t i = 0; i < n_in; i++)
            acc += (double)wt[o * n_in + i] * in[i];
        out[o] = (float)acc;
    }
}

static void ref_softmax(const float *in, size_t n, float *out)
{
    double m = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, in[i]);
    for (size_t i = 0; i < n; i++)
        sum += exp(in[i] - m);
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(exp(in[i] - m) / sum);
}

/* ---- layer tests ---- */

/* [c][h][w] (the references' order) <-> [h][w][c] (the layers'). */
static float *to_hwc(const float *chw, size_t c, size_t h, size_t w)
{
    float *hwc = malloc((c * h * w + 1) * sizeof *hwc);
    for (size_t ch = 0; ch < c; ch++)
        for (size_t p = 0; p < h * w; p++)
            hwc[p * c + ch] = chw[ch * h * w + p];
    return hwc;
}

static float *to_chw(const float *hwc, size_t c, size_t h, size_t w)
{
    float *chw = malloc((c * h * w + 1) * sizeof *chw);
    genre_layer_to_chw(hwc, c, h, w, chw);
    return chw;
}

/* One conv shape on one instruction set's kernels against the reference
 * (the layer works on [h][w][c]: inputs and outputs are converted). */
static void conv_case(rng *r, const size_t *p, size_t t, genre_isa isa)
{
    const char *name = genre_isa_name(isa);
    genre_conv_shape s = {.in_c = p[0], .h = p[1], .w = p[2], .out_c = p[3], .kh = p[4],
                          .kw = p[5], .pad_h = p[6], .pad_w = p[7]};
    size_t oh = genre_conv_out_h(&s), ow = genre_conv_out_w(&s);
    CHECK_MSG(oh == p[1] + 2 * p[6] - p[4] + 1 && ow == p[2] + 2 * p[7] - p[5] + 1,
              "conv case %zu out shape", t);
    size_t n_out = s.out_c * oh * ow;
    float *in = random_floats(r, s.in_c * s.h * s.w, 1.0f);
    float *wt = random_floats(r, s.out_c * s.in_c * s.kh * s.kw, 1.0f);
    float *b = random_floats(r, s.out_c, 1.0f);
    /* garbage: must be overwritten where read */
    float *padded = random_floats(r, genre_conv_padded_size(&s) + 1, 1.0f);
    float *out = malloc(n_out * sizeof *out), *ref = malloc(n_out * sizeof *ref);
    genre_conv_plan plan;
    CHECK_MSG(genre_conv_plan_init(&plan, &s, wt, b, isa) == 0, "%s: conv plan", name);
    ref_conv2d(in, s.in_c, s.h, s.w, wt, b, s.out_c, s.kh, s.kw, s.pad_h, s.pad_w, ref);
    float *in_chw = in;
    in = to_hwc(in_chw, s.in_c, s.h, s.w);
    genre_layer_conv2d(&plan, in, false, padded, out);
    float *out_chw = to_chw(out, s.out_c, oh, ow);
    double d = max_rel_diff(out_chw, ref, n_out);
    free(out_chw), free(in_chw);
    CHECK_MSG(d <= 1e-5, "%s: conv case %zu (%zux%zux%zu -> %zu, k %zux%zu, pad %zu,%zu): diff %g",
              name, t, s.in_c, s.h, s.w, s.out_c, s.kh, s.kw, s.pad_h, s.pad_w, d);
    /* Fused ReLU is exactly conv followed by ReLU. */
    genre_layer_conv2d(&plan, in, true, padded, out);
    float *plain = malloc(n_out * sizeof *plain);
    genre_layer_conv2d(&plan, in, false, padded, plain);
    genre_layer_relu(plain, n_out, ref);
    CHECK_MSG(memcmp(out, ref, n_out * sizeof *out) == 0, "%s: conv case %zu fused relu differs",
              name, t);
    /* Row blocks of every size, computed out of order, rebuild exactly the
     * same output (what threaded nets do): each value is summed the same
     * way whatever rows are computed with it. */
    const float *src = genre_conv_source(&s, in, padded);
    for (size_t rows = 1; rows <= oh; rows++) {
        float *blocks = malloc(n_out * sizeof *blocks);
        size_t n_blocks = (oh + rows - 1) / rows;
        for (size_t k = n_blocks; k-- > 0;) {
            size_t oy0 = k * rows, oy1 = oy0 + rows < oh ? oy0 + rows : oh;
            genre_layer_conv2d_rows(&plan, src, true, oy0, oy1, blocks);
        }
        CHECK_MSG(memcmp(blocks, out, n_out * sizeof *out) == 0,
                  "%s: conv case %zu in blocks of %zu rows differs", name, t, rows);
        free(blocks);
    }
    /* Pooled straight from row blocks: exactly the conv's output pooled. */
    static const size_t pools[][2] = {{2, 2}, {3, 1}, {1, 2}};
    for (size_t q = 0; q < 3; q++) {
        size_t kh = pools[q][0], kw = pools[q][1];
        if (oh < kh || ow < kw)
            continue;
        size_t ph = oh / kh, n_pooled = ph * (ow / kw) * s.out_c;
        float *want = malloc(n_pooled * sizeof *want), *got = malloc(n_pooled * sizeof *got);
        genre_layer_maxpool2d(out, s.out_c, oh, ow, kh, kw, want);
        for (size_t rows = 1; rows <= ph; rows += 2) {
            float *scratch = random_floats(r, rows * kh * ow * s.out_c, 1.0f);
            for (size_t y0 = 0; y0 < ph; y0 += rows)
                genre_layer_conv2d_pool_rows(&plan, src, true, kh, kw, y0,
                                             y0 + rows < ph ? y0 + rows : ph, scratch, got);
            CHECK_MSG(memcmp(got, want, n_pooled * sizeof *got) == 0,
                      "%s: conv case %zu pooled %zux%zu in blocks of %zu rows differs", name, t, kh,
                      kw, rows);
            free(scratch);
        }
        free(want), free(got);
    }
    genre_conv_plan_free(&plan);
    free(plain);
    free(in), free(wt), free(b), free(padded), free(out), free(ref);
}

static void test_conv(rng *r)
{
    /* in_c, h, w, out_c, kh, kw, ph, pw: odd sizes, asymmetric kernels,
     * padding 0..kernel, 1x1 (the direct-GEMM path) and a kernel as large
     * as the padded input. */
    static const size_t cases[][8] = {
        {1, 7, 5, 3, 3, 3, 1, 1}, {2, 9, 11, 4, 3, 5, 0, 2}, {3, 5, 6, 2, 1, 1, 0, 0},
        {1, 1, 1, 2, 3, 3, 1, 1}, {4, 13, 3, 5, 5, 1, 2, 0}, {2, 6, 7, 1, 2, 2, 2, 1},
        {3, 4, 4, 3, 6, 6, 1, 1}, {1, 31, 17, 8, 3, 3, 1, 1}, {5, 8, 8, 7, 1, 1, 1, 0},
        {2, 3, 9, 3, 3, 9, 0, 0}, {16, 20, 12, 16, 3, 3, 1, 1},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++)
        for (int isa = GENRE_ISA_PORTABLE; isa <= GENRE_ISA_AVX512; isa++)
            if (genre_isa_available((genre_isa)isa))
                conv_case(r, cases[t], t, (genre_isa)isa);
}

static void test_pool_relu_meanmax(rng *r)
{
    static const size_t pools[][5] = {
        {1, 4, 4, 2, 2}, {3, 7, 9, 2, 2}, {2, 5, 11, 3, 4}, {4, 9, 3, 1, 3}, {1, 1, 1, 1, 1},
        {2, 8, 6, 8, 6},
    };
    for (size_t t = 0; t < sizeof pools / sizeof pools[0]; t++) {
        const size_t *p = pools[t];
        size_t n_out = p[0] * (p[1] / p[3]) * (p[2] / p[4]);
        float *in = random_floats(r, p[0] * p[1] * p[2], 1.0f), *hwc = to_hwc(in, p[0], p[1], p[2]);
        float *out = malloc(n_out * sizeof *out), *ref = malloc(n_out * sizeof *ref);
        ref_maxpool(in, p[0], p[1], p[2], p[3], p[4], ref);
        genre_layer_maxpool2d(hwc, p[0], p[1], p[2], p[3], p[4], out);
        float *chw = to_chw(out, p[0], p[1] / p[3], p[2] / p[4]);
        CHECK_MSG(memcmp(chw, ref, n_out * sizeof *out) == 0, "maxpool case %zu differs", t);
        free(in), free(hwc), free(chw), free(out), free(ref);
    }

    float *v = random_floats(r, 1001, 1.0f), *o = malloc(1001 * sizeof *o);
    genre_layer_relu(v, 1001, o);
    int ok = 1;
    for (size_t i = 0; i < 1001; i++)
        ok &= o[i] == (v[i] > 0 ? v[i] : 0.0f);
    CHECK_MSG(ok, "relu out of place");
    genre_layer_relu(v, 1001, v);
    CHECK_MSG(memcmp(v, o, 1001 * sizeof *o) == 0, "relu in place");
    free(v), free(o);

    static const size_t mm[][3] = {{1, 1, 1}, {3, 5, 7}, {16, 78, 12}, {2, 624, 96}};
    for (size_t t = 0; t < sizeof mm / sizeof mm[0]; t++) {
        size_t c = mm[t][0], h = mm[t][1], w = mm[t][2];
        float *in = random_floats(r, c * h * w, 1.0f);
        in[c * h * w - 1] = 5.0f;   /* the max in the last element of the last channel */
        float out[64], ref[64], *hwc = to_hwc(in, c, h, w);
        ref_meanmax(in, c, h, w, ref);
        genre_layer_global_meanmax(hwc, c, h, w, out);
        free(hwc);
        CHECK_MSG(max_rel_diff(out, ref, 2 * c) <= 1e-6, "meanmax case %zu diff %g", t,
                  max_rel_diff(out, ref, 2 * c));
        CHECK_MSG(out[2 * c - 1] == 5.0f, "meanmax case %zu misses the last element", t);
        free(in);
    }
}

static void test_dense_softmax(rng *r)
{
    static const size_t sizes[][2] = {{1, 1}, {6, 3}, {37, 10}, {256, 129}, {5, 1}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        size_t n_in = sizes[t][0], n_out = sizes[t][1];
        float *in = random_floats(r, n_in, 1.0f), *wt = random_floats(r, n_in * n_out, 1.0f);
        float *b = random_floats(r, n_out, 1.0f);
        float *out = malloc(n_out * sizeof *out), *ref = malloc(n_out * sizeof *ref);
        ref_dense(in, n_in, wt, b, n_out, ref);
        genre_layer_dense(in, n_in, wt, b, n_out, out);
        CHECK_MSG(max_rel_diff(out, ref, n_out) <= 1e-5, "dense %zu->%zu diff %g", n_in, n_out,
                  max_rel_diff(out, ref, n_out));
        free(in), free(wt), free(b), free(out), free(ref);
    }

    float x[10], out[10], ref[10];
    for (int i = 0; i < 10; i++)
        x[i] = uniform(r) * 20;
    ref_softmax(x, 10, ref);
    genre_layer_softmax(x, 10, out);
    CHECK_MSG(max_rel_diff(out, ref, 10) <= 1e-6, "softmax diff %g", max_rel_diff(out, ref, 10));
    /* Large logits must not overflow: the max is subtracted first. */
    float big[3] = {1000.0f, 999.0f, -1000.0f}, pb[3];
    genre_layer_softmax(big, 3, pb);
    CHECK_MSG(isfinite(pb[0]) && fabsf(pb[0] - 0.7310586f) < 1e-6f && pb[2] == 0.0f,
              "softmax large logits: %g %g %g", pb[0], pb[1], pb[2]);
    genre_layer_softmax(big, 3, big);
    CHECK_MSG(memcmp(big, pb, sizeof pb) == 0, "softmax in place");
    float one = 3.0f;
    genre_layer_softmax(&one, 1, &one);
    CHECK_MSG(one == 1.0f, "softmax of one value = %g", one);
}

/* ---- whole nets built by hand ---- */

static void add_layer(test_model *h, uint32_t type, uint32_t p0, uint32_t p1, uint32_t p2,
                      uint32_t p3, uint32_t p4, uint32_t p5, rng *r)
{
    genre_layer *l = &h->layers[h->model.n_layers++];
    memset(l, 0, sizeof *l);
    l->type = type;
    uint32_t p[6] = {p0, p1, p2, p3, p4, p5};
    memcpy(l->p, p, sizeof p);
    if (type == GENRE_LAYER_CONV2D) {
        l->weight_len = (size_t)p1 * p0 * p2 * p3;
        l->bias_len = p1;
    } else if (type == GENRE_LAYER_DENSE) {
        l->weight_len = (size_t)p0 * p1;
        l->bias_len = p1;
    } else {
        return;
    }
    l->weight = test_model_own(h, random_floats(r, l->weight_len, 1.0f));
    l->bias = test_model_own(h, random_floats(r, l->bias_len, 1.0f));
}

/* The reference forward pass: each layer by its naive function. */
static void ref_forward(const genre_model *m, const float *window, float *probs)
{
    size_t c = 1, hh = m->frontend.window_frames, w = m->frontend.n_mels, n = c * hh * w;
    float *cur = malloc(n * sizeof *cur);
    memcpy(cur, window, n * sizeof *cur);
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const genre_layer *l = &m->layers[i];
        const uint32_t *p = l->p;
        float *next = NULL;
        switch (l->type) {
        case GENRE_LAYER_CONV2D: {
            size_t oh = hh + 2 * p[4] - p[2] + 1, ow = w + 2 * p[5] - p[3] + 1;
            next = malloc(p[1] * oh * ow * sizeof *next);
            ref_conv2d(cur, c, hh, w, l->weight, l->bias, p[1], p[2], p[3], p[4], p[5], next);
            c = p[1], hh = oh, w = ow, n = c * hh * w;
            break;
        }
        case GENRE_LAYER_RELU:
            next = malloc(n * sizeof *next);
            for (size_t k = 0; k < n; k++)
                next[k] = fmaxf(cur[k], 0.0f);
            break;
        case GENRE_LAYER_MAXPOOL2D:
            next = malloc(c * (hh / p[0]) * (w / p[1]) * sizeof *next);
            ref_maxpool(cur, c, hh, w, p[0], p[1], next);
            hh /= p[0], w /= p[1], n = c * hh * w;
            break;
        case GENRE_LAYER_GLOBAL_MEANMAX:
            next = malloc(2 * c * sizeof *next);
            ref_meanmax(cur, c, hh, w, next);
            n = 2 * c;
            break;
        case GENRE_LAYER_DENSE:
            next = malloc(p[1] * sizeof *next);
            ref_dense(cur, n, l->weight, l->bias, p[1], next);
            n = p[1];
            break;
        case GENRE_LAYER_SOFTMAX:
            next = malloc(n * sizeof *next);
            ref_softmax(cur, n, next);
            break;
        }
        free(cur);
        cur = next;
    }
    memcpy(probs, cur, n * sizeof *probs);
    free(cur);
}

static void check_net_against_reference(test_model *h, rng *r, const char *what)
{
    char err[256] = "";
    genre_net *net = genre_net_new(&h->model, err, sizeof err);
    CHECK_MSG(net != NULL, "%s: genre_net_new: %s", what, err);
    if (!net)
        return;
    CHECK_MSG(genre_net_output_size(net) == h->model.n_labels, "%s: output size", what);
    size_t n_in = (size_t)h->model.frontend.window_frames * h->model.frontend.n_mels;
    float *window = random_floats(r, n_in, 1.0f), *copy = malloc(n_in * sizeof *copy);
    memcpy(copy, window, n_in * sizeof *copy);
    float probs[8], ref[8], again[8];
    genre_net_run(net, window, probs);
    ref_forward(&h->model, window, ref);
    double d = max_rel_diff(probs, ref, h->model.n_labels), sum = 0;
    for (uint32_t i = 0; i < h->model.n_labels; i++)
        sum += probs[i];
    CHECK_MSG(d <= 1e-5, "%s: net vs reference diff %g", what, d);
    CHECK_MSG(fabs(sum - 1.0) <= 1e-5, "%s: probabilities sum to %.8f", what, sum);
    CHECK_MSG(memcmp(window, copy, n_in * sizeof *copy) == 0, "%s: net wrote into its input", what);
    genre_net_run(net, window, again);
    CHECK_MSG(memcmp(probs, again, sizeof probs[0] * h->model.n_labels) == 0,
              "%s: second run differs (state leaks between runs)", what);
    /* Nets with their own threads give the single-threaded result, run after run. */
    for (size_t threads = 2; threads <= 5; threads += 3) {
        genre_net *tn = genre_net_new_threads(&h->model, threads, err, sizeof err);
        CHECK_MSG(tn != NULL && genre_net_threads(tn) == threads, "%s: %zu threads: %s", what,
                  threads, err);
        for (int run = 0; tn && run < 20; run++) {
            genre_net_run(tn, window, again);
            double dt = max_rel_diff(again, probs, h->model.n_labels);
            CHECK_MSG(dt <= 1e-5, "%s: %zu threads, run %d: diff %g", what, threads, run, dt);
        }
        genre_net_del(tn);
    }
    free(window), free(copy);
    genre_net_del(net);
}

static void test_whole_nets(rng *r)
{
    test_model h;
    /* Every layer type; conv+relu pairs get fused, a relu after pooling not. */
    test_model_init(&h, 1, 13, 23, 5, "x");
    add_layer(&h, GENRE_LAYER_CONV2D, 1, 4, 3, 3, 1, 1, r);
    add_layer(&h, GENRE_LAYER_RELU, 0, 0, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_MAXPOOL2D, 2, 2, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_CONV2D, 4, 6, 3, 2, 0, 1, r);
    add_layer(&h, GENRE_LAYER_MAXPOOL2D, 3, 1, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_RELU, 0, 0, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_CONV2D, 6, 3, 1, 1, 0, 0, r);
    add_layer(&h, GENRE_LAYER_GLOBAL_MEANMAX, 0, 0, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_DENSE, 6, 9, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_RELU, 0, 0, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_DENSE, 9, 5, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_SOFTMAX, 0, 0, 0, 0, 0, 0, r);
    check_net_against_reference(&h, r, "every layer");
    test_model_free(&h);

    /* Element-wise layers straight on the caller's (read-only) window, and
     * dense on a flattened [C][H][W] activation. */
    test_model_init(&h, 1, 5, 6, 3, "x");
    add_layer(&h, GENRE_LAYER_RELU, 0, 0, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_MAXPOOL2D, 2, 2, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_DENSE, 6, 3, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_SOFTMAX, 0, 0, 0, 0, 0, 0, r);
    check_net_against_reference(&h, r, "relu on input, flatten");
    test_model_free(&h);

    /* Dense on a conv's several channels: the file's [C][H][W] order,
     * whatever order the engine keeps activations in. */
    test_model_init(&h, 1, 5, 6, 3, "x");
    add_layer(&h, GENRE_LAYER_CONV2D, 1, 3, 3, 3, 1, 1, r);
    add_layer(&h, GENRE_LAYER_DENSE, 90, 3, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_SOFTMAX, 0, 0, 0, 0, 0, 0, r);
    check_net_against_reference(&h, r, "dense on channels");
    test_model_free(&h);
}

static void expect_net_refused(test_model *h, const char *what, const char *message)
{
    char err[256] = "";
    genre_net *net = genre_net_new(&h->model, err, sizeof err);
    CHECK_MSG(net == NULL && strstr(err, message), "%s: got \"%s\", expected \"%s\"", what,
              net ? "accepted" : err, message);
    genre_net_del(net);
    test_model_free(h);
}

static void test_refusals(rng *r)
{
    {
        test_model h;
        test_model_init(&h, 1, 5, 6, 3, "x");
        add_layer(&h, GENRE_LAYER_MAXPOOL2D, 2, 2, 0, 0, 0, 0, r);
        add_layer(&h, GENRE_LAYER_DENSE, 6, 3, 0, 0, 0, 0, r);
        add_layer(&h, GENRE_LAYER_SOFTMAX, 0, 0, 0, 0, 0, 0, r);
        char err[256] = "";
        genre_net *net = genre_net_new_threads(&h.model, 0, err, sizeof err);
        CHECK_MSG(net == NULL && strstr(err, "must be 1..64"), "0 threads: got \"%s\"",
                  net ? "accepted" : err);
        genre_net_del(net);
        net = genre_net_new_threads(&h.model, 65, err, sizeof err);
        CHECK_MSG(net == NULL && strstr(err, "must be 1..64"), "65 threads: got \"%s\"",
                  net ? "accepted" : err);
        genre_net_del(net);
        test_model_free(&h);
    }
    test_model h;
    test_model_init(&h, 1, 4, 8, 3, "x");
    add_layer(&h, GENRE_LAYER_CONV2D, 2, 4, 3, 3, 1, 1, r);
    expect_net_refused(&h, "conv channels", "layer 0 (conv2d) expects 2 input channels, gets 1");

    test_model_init(&h, 1, 4, 2, 3, "x");
    add_layer(&h, GENRE_LAYER_CONV2D, 1, 4, 5, 3, 1, 1, r);
    expect_net_refused(&h, "conv kernel too large", "kernel 5x3 larger than its padded input 4x6");

    test_model_init(&h, 1, 4, 8, 3, "x");
    add_layer(&h, GENRE_LAYER_MAXPOOL2D, 9, 1, 0, 0, 0, 0, r);
    expect_net_refused(&h, "pool too large", "layer 0 (maxpool2d) kernel 9x1 does not fit input 8x4");

    test_model_init(&h, 1, 4, 8, 3, "x");
    add_layer(&h, GENRE_LAYER_GLOBAL_MEANMAX, 0, 0, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_CONV2D, 1, 1, 1, 1, 0, 0, r);
    expect_net_refused(&h, "conv on a vector", "layer 1 (conv2d) needs a [C][H][W] input but gets a vector of 2");

    test_model_init(&h, 1, 4, 8, 3, "x");
    add_layer(&h, GENRE_LAYER_GLOBAL_MEANMAX, 0, 0, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_DENSE, 3, 3, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_SOFTMAX, 0, 0, 0, 0, 0, 0, r);
    expect_net_refused(&h, "dense inputs", "layer 1 (dense) expects 3 inputs, gets 2");

    test_model_init(&h, 1, 4, 8, 3, "x");
    add_layer(&h, GENRE_LAYER_SOFTMAX, 0, 0, 0, 0, 0, 0, r);
    expect_net_refused(&h, "softmax on 3-D", "layer 0 (softmax) needs a vector input");

    test_model_init(&h, 1, 4, 8, 3, "x");
    add_layer(&h, GENRE_LAYER_GLOBAL_MEANMAX, 0, 0, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_DENSE, 2, 4, 0, 0, 0, 0, r);
    add_layer(&h, GENRE_LAYER_SOFTMAX, 0, 0, 0, 0, 0, 0, r);
    expect_net_refused(&h, "label count", "the network outputs 4 values for 3 labels");

    test_model_init(&h, 1, 4, 8, 2, "x");
    add_layer(&h, GENRE_LAYER_GLOBAL_MEANMAX, 0, 0, 0, 0, 0, 0, r);
    expect_net_refused(&h, "no softmax", "the last layer is global_meanmax; it must be softmax");

    test_model_init(&h, 1, 4, 8, 2, "x");
    add_layer(&h, 42, 0, 0, 0, 0, 0, 0, r);
    expect_net_refused(&h, "unknown type", "layer 0: unknown layer type 42");

    test_model_init(&h, 1, 4, 8, 2, "x");
    add_layer(&h, GENRE_LAYER_CONV2D, 1, 2, 3, 3, 0, 0, r);
    h.layers[0].weight_len--;
    expect_net_refused(&h, "short weights", "layer 0 (conv2d) weights do not match its parameters");

    /* 100000 frames x 512 mels through a 3x3 conv with 1024 channels needs
     * far more memory than the plan allows: refused, not attempted. */
    test_model_init(&h, 1, 512, 100000, 2, "x");
    genre_layer big = {.type = GENRE_LAYER_CONV2D, .p = {1, 1024, 3, 3, 1, 1}};
    static const float dummy[9216 + 1024];
    big.weight = dummy, big.bias = dummy, big.weight_len = 9216, big.bias_len = 1024;
    h.layers[h.model.n_layers++] = big;
    expect_net_refused(&h, "huge activation", "too large");

    genre_model empty = {0};
    char err[128];
    CHECK_MSG(genre_net_new(&empty, err, sizeof err) == NULL && strstr(err, "no layers"),
              "empty model");
    genre_net_del(NULL);
}

int main(void)
{
    rng r = {0x9E3779B97F4A7C15ull};
    test_conv(&r);
    test_pool_relu_meanmax(&r);
    test_dense_softmax(&r);
    test_whole_nets(&r);
    test_refusals(&r);
    return check_exit_status("test_net");
}
