/* The network of a model as a fixed plan: genre_net_new walks the layer list
 * once, computing every activation shape from the input window, refusing
 * anything inconsistent and sizing all buffers; genre_net_run then only
 * executes the plan (no allocation, no checks that could fail). */
#include "genre/net.h"

#include "genre/error.h"
#include "genre/pool.h"
#include "inspect.h"
#include "net_layers.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Largest activation or scratch buffer the plan accepts: 256 MiB of floats. */
#define MAX_BUFFER_FLOATS ((size_t)64 << 20)
/* With several threads a conv layer's output rows are cut into this many
 * blocks per thread: enough that a thread without a core holds up little,
 * few enough that each block still fills the kernels' tiles. */
#define BLOCKS_PER_THREAD 4
/* Conv rows a conv followed by a max-pool computes at a time, into a
 * scratch of that many rows, before pooling them: the conv's whole output
 * (the largest activation by far) never exists. */
#define POOLED_CONV_ROWS 16

typedef struct net_step {
    const genre_layer *layer;
    uint32_t type;
    bool fused_relu;            /* conv2d followed by relu: one pass */
    genre_conv_shape conv;
    genre_conv_plan kernel;     /* the conv's packed weights (set after planning) */
    size_t pool_kh, pool_kw;    /* a max-pool done by the conv (0: none) */
    size_t rows_per_block;      /* output rows per task (pooled rows, when pooling) */
    bool image_in;              /* dense on [H][W][C] with C > 1: read as [C][H][W] */
    size_t c, h, w;             /* input shape for 3-D steps */
    size_t n_in, n_out;         /* element counts in and out */
} net_step;

struct genre_net {
    const genre_model *model;
    net_step *steps;
    size_t n_steps;
    float *ping, *pong;         /* activations alternate between these */
    float *padded;              /* a padded conv's zero-padded input */
    float *rows;                /* a pooling conv's rows, rows_slot floats per thread */
    size_t rows_slot;
    genre_pool *pool;           /* NULL with one thread */
    size_t threads;
    size_t output_size;
};

/* One conv layer's output rows in pool tasks. */
typedef struct conv_job {
    const genre_net *net;
    const net_step *step;
    const float *src;           /* the input, or its padded copy */
    float *out;
} conv_job;

typedef struct shape {
    bool flat;                  /* a vector of n, else [c][h][w] */
    size_t c, h, w, n;
} shape;

/* a*b*c with a bound, or SIZE_MAX when it exceeds MAX_BUFFER_FLOATS. */
static size_t bounded_product(size_t a, size_t b, size_t c)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r) || __builtin_mul_overflow(r, c, &r) ||
        r > MAX_BUFFER_FLOATS)
        return SIZE_MAX;
    return r;
}

/* Fills step from the layer and advances the shape; -1 with a message when
 * the layer does not fit what precedes it. */
static int plan_step(uint32_t index, const genre_layer *l, shape *s, net_step *step,
                     size_t *padded_floats, char *err, size_t errlen)
{
    const char *name = genre_layer_type_name(l->type);
    memset(step, 0, sizeof *step);
    step->layer = l;
    step->type = l->type;
    step->c = s->c, step->h = s->h, step->w = s->w;
    step->n_in = s->flat ? s->n : s->c * s->h * s->w;
    bool needs_3d = l->type == GENRE_LAYER_CONV2D || l->type == GENRE_LAYER_MAXPOOL2D ||
                    l->type == GENRE_LAYER_GLOBAL_MEANMAX;
    if (needs_3d && s->flat) {
        genre_set_error(err, errlen, "layer %u (%s) needs a [C][H][W] input but gets a vector of %zu",
                        index, name, s->n);
        return -1;
    }
    switch (l->type) {
    case GENRE_LAYER_CONV2D: {
        genre_conv_shape *cs = &step->conv;
        *cs = (genre_conv_shape){.in_c = s->c, .h = s->h, .w = s->w, .out_c = l->p[1],
                                 .kh = l->p[2], .kw = l->p[3], .pad_h = l->p[4], .pad_w = l->p[5]};
        if (l->p[0] != s->c) {
            genre_set_error(err, errlen, "layer %u (conv2d) expects %u input channels, gets %zu",
                            index, l->p[0], s->c);
            return -1;
        }
        if (s->h + 2 * cs->pad_h < cs->kh || s->w + 2 * cs->pad_w < cs->kw) {
            genre_set_error(err, errlen,
                            "layer %u (conv2d) kernel %zux%zu larger than its padded input "
                            "%zux%zu",
                            index, cs->kh, cs->kw, s->h + 2 * cs->pad_h, s->w + 2 * cs->pad_w);
            return -1;
        }
        if (!l->weight || !l->bias || l->weight_len != cs->out_c * cs->in_c * cs->kh * cs->kw ||
            l->bias_len != cs->out_c) {
            genre_set_error(err, errlen, "layer %u (conv2d) weights do not match its parameters",
                            index);
            return -1;
        }
        s->c = cs->out_c;
        s->h = genre_conv_out_h(cs);
        s->w = genre_conv_out_w(cs);
        size_t padded = bounded_product(cs->in_c, cs->h + 2 * cs->pad_h, cs->w + 2 * cs->pad_w);
        if (padded == SIZE_MAX) {
            genre_set_error(err, errlen, "layer %u (conv2d) needs too large a padded input",
                            index);
            return -1;
        }
        if (genre_conv_padded_size(cs) > *padded_floats)
            *padded_floats = genre_conv_padded_size(cs);
        break;
    }
    case GENRE_LAYER_MAXPOOL2D:
        if (l->p[0] < 1 || l->p[1] < 1 || l->p[0] > s->h || l->p[1] > s->w) {
            genre_set_error(err, errlen, "layer %u (maxpool2d) kernel %ux%u does not fit input %zux%zu",
                            index, l->p[0], l->p[1], s->h, s->w);
            return -1;
        }
        s->h /= l->p[0];
        s->w /= l->p[1];
        break;
    case GENRE_LAYER_GLOBAL_MEANMAX:
        s->flat = true;
        s->n = 2 * s->c;
        break;
    case GENRE_LAYER_DENSE:
        step->image_in = !s->flat && s->c > 1;
        if (l->p[0] != step->n_in) {
            genre_set_error(err, errlen, "layer %u (dense) expects %u inputs, gets %zu", index,
                            l->p[0], step->n_in);
            return -1;
        }
        if (!l->weight || !l->bias || l->weight_len != (size_t)l->p[0] * l->p[1] ||
            l->bias_len != l->p[1]) {
            genre_set_error(err, errlen, "layer %u (dense) weights do not match its parameters",
                            index);
            return -1;
        }
        s->flat = true;
        s->n = l->p[1];
        break;
    case GENRE_LAYER_SOFTMAX:
        if (!s->flat) {
            genre_set_error(err, errlen, "layer %u (softmax) needs a vector input", index);
            return -1;
        }
        break;
    case GENRE_LAYER_RELU:
        break;
    default:
        genre_set_error(err, errlen, "layer %u: unknown layer type %u", index, l->type);
        return -1;
    }
    step->n_out = s->flat ? s->n : bounded_product(s->c, s->h, s->w);
    if (step->n_out == SIZE_MAX) {
        genre_set_error(err, errlen, "layer %u (%s) output is too large", index, name);
        return -1;
    }
    return 0;
}

genre_net *genre_net_new(const genre_model *model, char *err, size_t errlen)
{
    return genre_net_new_threads(model, 1, err, errlen);
}

genre_net *genre_net_new_threads(const genre_model *model, size_t threads, char *err,
                                 size_t errlen)
{
    return genre_net_new_isa(model, threads, GENRE_ISA_BEST, err, errlen);
}

genre_net *genre_net_new_isa(const genre_model *model, size_t threads, genre_isa isa, char *err,
                             size_t errlen)
{
    if (isa != GENRE_ISA_BEST && !genre_isa_available(isa)) {
        genre_set_error(err, errlen, "this CPU cannot run the %s kernels", genre_isa_name(isa));
        return NULL;
    }
    if (threads < 1 || threads > 64) {
        genre_set_error(err, errlen, "%zu threads: must be 1..64", threads);
        return NULL;
    }
    if (!model || model->n_layers == 0) {
        genre_set_error(err, errlen, "model has no layers");
        return NULL;
    }
    genre_net *net = calloc(1, sizeof *net);
    if (!net || !(net->steps = calloc(model->n_layers, sizeof *net->steps))) {
        free(net);
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    net->model = model;
    shape s = {.flat = false, .c = 1, .h = model->frontend.window_frames,
               .w = model->frontend.n_mels};
    size_t max_act = s.h * s.w, padded_floats = 0;
    for (uint32_t i = 0; i < model->n_layers; i++) {
        net_step step;
        if (plan_step(i, &model->layers[i], &s, &step, &padded_floats, err, errlen))
            goto fail;
        /* A max-pool right after a conv pools the conv's rows as they are
         * made. */
        if (step.type == GENRE_LAYER_MAXPOOL2D && net->n_steps > 0) {
            net_step *prev = &net->steps[net->n_steps - 1];
            if (prev->type == GENRE_LAYER_CONV2D && prev->pool_kh == 0) {
                prev->pool_kh = model->layers[i].p[0];
                prev->pool_kw = model->layers[i].p[1];
                prev->n_out = step.n_out;
                continue;
            }
        }
        /* ReLU right after a conv, or after a conv and a max-pool (max and
         * ReLU commute), is applied as the conv stores its output. */
        if (step.type == GENRE_LAYER_RELU && net->n_steps > 0) {
            net_step *prev = &net->steps[net->n_steps - 1];
            if (prev->type == GENRE_LAYER_CONV2D && !prev->fused_relu) {
                prev->fused_relu = true;
                continue;
            }
        }
        net->steps[net->n_steps++] = step;
    }
    uint32_t last = model->layers[model->n_layers - 1].type;
    if (last != GENRE_LAYER_SOFTMAX) {
        genre_set_error(err, errlen, "the last layer is %s; it must be softmax", genre_layer_type_name(last));
        goto fail;
    }
    if (s.n != model->n_labels) {
        genre_set_error(err, errlen, "the network outputs %zu values for %u labels", s.n,
                        model->n_labels);
        goto fail;
    }
    net->output_size = s.n;
    net->threads = threads;
    for (size_t i = 0; i < net->n_steps; i++) {
        net_step *st = &net->steps[i];
        if (st->n_out > max_act)
            max_act = st->n_out;
        if (st->type != GENRE_LAYER_CONV2D)
            continue;
        if (genre_conv_plan_init(&st->kernel, &st->conv, st->layer->weight, st->layer->bias,
                                 isa)) {
            genre_set_error(err, errlen, "out of memory for the conv weights");
            goto fail;
        }
        size_t oh = genre_conv_out_h(&st->conv), blocks = threads * BLOCKS_PER_THREAD;
        if (st->pool_kh) {
            st->rows_per_block = POOLED_CONV_ROWS / st->pool_kh ? POOLED_CONV_ROWS / st->pool_kh : 1;
            size_t need = st->rows_per_block * st->pool_kh * genre_conv_out_w(&st->conv) *
                          st->conv.out_c;
            net->rows_slot = need > net->rows_slot ? need : net->rows_slot;
        } else {
            st->rows_per_block = (oh + blocks - 1) / blocks;
        }
    }
    if (threads > 1 && !(net->pool = genre_pool_new(threads, err, errlen)))
        goto fail;
    net->ping = malloc(max_act * sizeof(float));
    net->pong = malloc(max_act * sizeof(float));
    net->padded = malloc((padded_floats ? padded_floats : 1) * sizeof(float));
    net->rows = malloc((net->rows_slot ? net->rows_slot * threads : 1) * sizeof(float));
    if (!net->ping || !net->pong || !net->padded || !net->rows) {
        genre_set_error(err, errlen, "out of memory for %zu-float activations", max_act);
        goto fail;
    }
    return net;
fail:
    genre_net_del(net);
    return NULL;
}

/* Output rows of the step (pooled ones when it pools). */
static size_t step_rows(const net_step *st)
{
    size_t oh = genre_conv_out_h(&st->conv);
    return st->pool_kh ? oh / st->pool_kh : oh;
}

static void conv_block(void *ctx, size_t task, size_t slot)
{
    const conv_job *job = ctx;
    const net_step *st = job->step;
    size_t rows = step_rows(st), y0 = task * st->rows_per_block;
    size_t y1 = y0 + st->rows_per_block < rows ? y0 + st->rows_per_block : rows;
    if (st->pool_kh)
        genre_layer_conv2d_pool_rows(&st->kernel, job->src, st->fused_relu, st->pool_kh,
                                     st->pool_kw, y0, y1, job->net->rows + slot * job->net->rows_slot,
                                     job->out);
    else
        genre_layer_conv2d_rows(&st->kernel, job->src, st->fused_relu, y0, y1, job->out);
}

static void run_conv(const genre_net *net, const net_step *st, const float *in, float *out)
{
    conv_job job = {.net = net, .step = st, .src = genre_conv_source(&st->conv, in, net->padded),
                    .out = out};
    size_t tasks = (step_rows(st) + st->rows_per_block - 1) / st->rows_per_block;
    if (!net->pool) {
        for (size_t t = 0; t < tasks; t++)
            conv_block(&job, t, 0);
        return;
    }
    genre_pool_run(net->pool, tasks, conv_block, &job);
}

int genre_net_run(genre_net *net, const float *window, float *probs)
{
    const float *cur = window;
    for (size_t i = 0; i < net->n_steps; i++) {
        const net_step *st = &net->steps[i];
        const genre_layer *l = st->layer;
        /* Element-wise steps work in place unless the input is the caller's
         * window, which is read-only. */
        float *out = (cur == net->ping) ? net->pong : net->ping;
        bool in_place_ok = cur != window;
        switch (st->type) {
        case GENRE_LAYER_CONV2D:
            run_conv(net, st, cur, out);
            break;
        case GENRE_LAYER_RELU:
            if (in_place_ok)
                out = (float *)cur;
            genre_layer_relu(cur, st->n_in, out);
            break;
        case GENRE_LAYER_MAXPOOL2D:
            genre_layer_maxpool2d(cur, st->c, st->h, st->w, l->p[0], l->p[1], out);
            break;
        case GENRE_LAYER_GLOBAL_MEANMAX:
            genre_layer_global_meanmax(cur, st->c, st->h, st->w, out);
            break;
        case GENRE_LAYER_DENSE:
            if (st->image_in) {
                /* out is free: the file's order there, the result in cur's buffer. */
                genre_layer_to_chw(cur, st->c, st->h, st->w, out);
                float *chw = out;
                out = (float *)cur;
                genre_layer_dense(chw, st->n_in, l->weight, l->bias, st->n_out, out);
                break;
            }
            genre_layer_dense(cur, st->n_in, l->weight, l->bias, st->n_out, out);
            break;
        case GENRE_LAYER_SOFTMAX:
            if (in_place_ok)
                out = (float *)cur;
            genre_layer_softmax(cur, st->n_in, out);
            break;
        }
        cur = out;
    }
    memcpy(probs, cur, net->output_size * sizeof *probs);
    return 0;
}

size_t genre_net_output_size(const genre_net *net)
{
    return net->output_size;
}

size_t genre_net_threads(const genre_net *net)
{
    return net->threads;
}

void genre_net_del(genre_net *net)
{
    if (!net)
        return;
    genre_pool_del(net->pool);
    if (net->steps)
        for (size_t i = 0; i < net->n_steps; i++)
            if (net->steps[i].type == GENRE_LAYER_CONV2D)
                genre_conv_plan_free(&net->steps[i].kernel);
    free(net->steps);
    free(net->ping);
    free(net->pong);
    free(net->padded);
    free(net->rows);
    free(net);
}
