/* The streaming graph engine (include/genre/graph.h).
 *
 * genre_graph_new turns the nodes into steps.  A frame step computes frames
 * of one frame-domain node into its own buffer: a conv step also applies
 * the relu / affine nodes that follow it and its frequency max when they
 * are its only consumers (so the wide [f][c] conv output never has to be
 * kept), the other frame steps are the input, concat, add and unfused
 * element-wise nodes.  Vector steps run per window: time_maxmean over the
 * window's frames of its input step, then dense, affine, relu, add, concat,
 * softmax, sigmoid.
 *
 * Frames are computed on demand, CHUNK at a time: to make frames up to t of
 * a pooled step, each step works out in reverse order what it needs of its
 * inputs (its own need plus its conv look-ahead), then steps run in
 * topological order.  A buffer keeps only what a consumer can still read:
 * conv context, the look-ahead difference between branches, and for pooled
 * steps one window -- sizes fixed at _new, so _push and _window never
 * allocate. */
#include "genre/graph.h"

#include "genre/error.h"
#include "genre/pool.h"
#include "graph_layers.h"
#include "inspect.h"
#include "graph_shape.h"
#include "net_layers.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Frames per conv pass: enough rows to fill the kernels' tiles and share
 * the cost of staging edge frames, few enough that a pass's output stays
 * in cache for the steps after it. */
#define CHUNK 32
#define MAX_EPILOGUE 8
#define MAX_STEPS 257
/* Largest scratch or buffer the plan accepts, in floats (256 MiB). */
#define MAX_FLOATS ((size_t)64 << 20)

enum step_kind { STEP_INPUT, STEP_CONV, STEP_UNARY, STEP_CONCAT, STEP_ADD };

typedef struct frame_step {
    enum step_kind kind;
    const genre_node *node;             /* the conv or element-wise node (NULL: input) */
    const genre_node *out_node;         /* the node whose output buf holds (after fusing) */
    const genre_node *epilogue[MAX_EPILOGUE]; /* relu / affine applied after the conv */
    size_t n_epilogue;
    bool reduce_f;                      /* a freq_max follows the epilogue */
    size_t n_in;
    int in[GENRE_NODE_MAX_INPUTS];      /* input frame steps */
    size_t f, c, frame;                 /* output frame [f][c], frame = f * c floats */
    size_t lctx, rctx;                  /* conv context before / after a frame */
    genre_tconv_shape conv;
    genre_tconv_plan kernel;            /* the conv's packed weights (conv steps) */
    bool pooled;                        /* read by a time_maxmean */
    float *buf;                         /* frames [base, done) */
    size_t cap;
    int64_t base, done;
} frame_step;

typedef struct vector_step {
    const genre_node *node;
    size_t n_in;
    int in[GENRE_NODE_MAX_INPUTS];      /* vector steps, or for time_maxmean its frame step */
    size_t c;
    float *out;
} vector_step;

/* Where a node's output lives. */
typedef struct node_home {
    bool frames;
    int step;
} node_home;

struct genre_graph {
    const genre_model *model;
    frame_step fs[MAX_STEPS];
    size_t n_fs;
    vector_step *vs;
    size_t n_vs;
    int output;                         /* vector step of the last node */
    int64_t total;                      /* frames pushed */
    bool ended;
    int64_t window_floor;               /* start of the last window asked for */
    size_t window_frames;
    size_t lookahead;                   /* frames from a pushed frame to a ready one */
    int64_t need[MAX_STEPS];            /* per-advance scratch */
    int64_t avail[MAX_STEPS];           /* availability() */
    float *staged, *conv_out;           /* per-thread scratch, slot floats each */
    size_t staged_slot, out_slot;
    genre_pool *pool;
    size_t threads;
    genre_isa isa;                      /* the conv kernels' instruction set */
    atomic_bool cancelled;              /* genre_graph_cancel, from any thread */
    int tap_step;                       /* genre_graph_tap: its frame step, or -1 */
    genre_node_sink tap_sink;
    void *tap_user;
};

/* ---- planning ---- */

static int consumers_of(const genre_model *m, int32_t node)
{
    int n = 0;
    for (uint32_t i = 0; i < m->n_nodes; i++)
        for (uint32_t k = 0; k < m->nodes[i].n_inputs; k++)
            n += m->nodes[i].inputs[k] == node;
    return n;
}

static int add_frame_step(genre_graph *g, enum step_kind kind, const genre_node *node, size_t f,
                          size_t c)
{
    frame_step *s = &g->fs[g->n_fs];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->node = node;
    s->out_node = node;
    s->f = f;
    s->c = c;
    s->frame = f * c;
    return (int)g->n_fs++;
}

/* Can node i (relu / affine / freq_max) run inside the conv step that makes
 * its only input? */
static bool fuses_into_conv(const genre_graph *g, const genre_node *nd, const node_home *home)
{
    if (nd->type != GENRE_LAYER_RELU && nd->type != GENRE_LAYER_AFFINE &&
        nd->type != GENRE_LAYER_FREQ_MAX)
        return false;
    int32_t src = nd->inputs[0];
    if (src == GENRE_NODE_INPUT || !home[src].frames)
        return false;
    const frame_step *s = &g->fs[home[src].step];
    if (s->kind != STEP_CONV || s->reduce_f || s->n_epilogue == MAX_EPILOGUE)
        return false;
    /* The conv step's current output must be src, read by nothing else. */
    const genre_node *tail = s->n_epilogue ? s->epilogue[s->n_epilogue - 1] : s->node;
    return tail == &g->model->nodes[src] && consumers_of(g->model, src) == 1;
}

static int plan(genre_graph *g, char *err, size_t errlen)
{
    const genre_model *m = g->model;
    uint32_t order[256];
    genre_node_shape shapes[256];
    node_home home[256];
    if (genre_graph_check(m->nodes, m->n_nodes, m->frontend.n_mels, m->n_labels, order, shapes,
                          err, errlen))
        return -1;
    add_frame_step(g, STEP_INPUT, NULL, m->frontend.n_mels, 1);
    g->n_vs = 0;
    for (uint32_t k = 0; k < m->n_nodes; k++) {
        uint32_t i = order[k];
        const genre_node *nd = &m->nodes[i];
        const genre_node_shape *sh = &shapes[i];
        int in_step[GENRE_NODE_MAX_INPUTS];
        for (uint32_t j = 0; j < nd->n_inputs; j++)
            in_step[j] = nd->inputs[j] == GENRE_NODE_INPUT ? 0 : home[nd->inputs[j]].step;
        if (!sh->frames || nd->type == GENRE_LAYER_TIME_MAXMEAN) {
            vector_step *v = &g->vs[g->n_vs];
            memset(v, 0, sizeof *v);
            v->node = nd;
            v->n_in = nd->n_inputs;
            memcpy(v->in, in_step, sizeof in_step);
            v->c = sh->c;
            if (nd->type == GENRE_LAYER_TIME_MAXMEAN)
                g->fs[in_step[0]].pooled = true;
            home[i] = (node_home){.frames = false, .step = (int)g->n_vs++};
            continue;
        }
        if (fuses_into_conv(g, nd, home)) {
            frame_step *s = &g->fs[home[nd->inputs[0]].step];
            if (nd->type == GENRE_LAYER_FREQ_MAX)
                s->reduce_f = true;
            else
                s->epilogue[s->n_epilogue++] = nd;
            s->f = sh->f;
            s->frame = sh->f * sh->c;
            s->out_node = nd;
            home[i] = home[nd->inputs[0]];
            continue;
        }
        enum step_kind kind = nd->type == GENRE_LAYER_CONV2D   ? STEP_CONV
                              : nd->type == GENRE_LAYER_CONCAT ? STEP_CONCAT
                              : nd->type == GENRE_LAYER_ADD    ? STEP_ADD
                                                               : STEP_UNARY;
        int id = add_frame_step(g, kind, nd, sh->f, sh->c);
        frame_step *s = &g->fs[id];
        s->n_in = nd->n_inputs;
        memcpy(s->in, in_step, sizeof in_step);
        if (kind == STEP_CONV) {
            const frame_step *src = &g->fs[in_step[0]];
            s->conv = (genre_tconv_shape){.in_f = src->f, .in_c = src->c, .out_c = nd->p[1],
                                          .kt = nd->p[2], .kf = nd->p[3], .pad_t = nd->p[4],
                                          .pad_f = nd->p[5]};
            s->lctx = nd->p[4];
            s->rctx = nd->p[2] - 1 - nd->p[4];
        }
        home[i] = (node_home){.frames = true, .step = id};
    }
    g->output = home[m->n_nodes - 1].step;
    return 0;
}


static int allocate(genre_graph *g, char *err, size_t errlen)
{
    size_t sum_r = 0, max_l = 0;
    for (size_t i = 0; i < g->n_fs; i++) {
        sum_r += g->fs[i].rctx;
        max_l = g->fs[i].lctx > max_l ? g->fs[i].lctx : max_l;
    }
    /* Look-ahead of each step: the most frames after t that some path to it
     * needs before its frame t can be made (steps are in topological order). */
    size_t delay[MAX_STEPS];
    g->lookahead = 0;
    for (size_t i = 0; i < g->n_fs; i++) {
        delay[i] = 0;
        for (size_t k = 0; k < g->fs[i].n_in; k++)
            delay[i] = delay[g->fs[i].in[k]] > delay[i] ? delay[g->fs[i].in[k]] : delay[i];
        delay[i] += g->fs[i].rctx;
        if (g->fs[i].pooled)
            g->lookahead = delay[i] > g->lookahead ? delay[i] : g->lookahead;
    }
    size_t rows_per_task = g->threads > 1 ? (CHUNK + 2 * g->threads - 1) / (2 * g->threads) : CHUNK;
    g->staged_slot = g->out_slot = 1;
    for (size_t i = 0; i < g->n_fs; i++) {
        frame_step *s = &g->fs[i];
        /* What a consumer may still read: the span between the slowest
         * consumer's context and the fastest one's look-ahead, one chunk,
         * and for a pooled step a whole window more. */
        s->cap = 2 * CHUNK + sum_r + max_l + (s->pooled ? g->window_frames + CHUNK : 0);
        if (s->kind == STEP_INPUT)
            s->cap += CHUNK;
        if (s->frame > MAX_FLOATS / s->cap) {
            genre_set_error(err, errlen, "node %s: frame buffer too large",
                            s->node ? s->node->name : "input");
            return -1;
        }
        if (!(s->buf = malloc(s->cap * s->frame * sizeof(float))))
            goto oom;
        if (s->kind != STEP_CONV)
            continue;
        size_t out_f = genre_tconv_out_f(&s->conv);
        size_t staged_frame = (s->conv.in_f + 2 * s->conv.pad_f) * s->conv.in_c;
        if (staged_frame > MAX_FLOATS / (rows_per_task + s->conv.kt) ||
            out_f * s->conv.out_c > MAX_FLOATS / rows_per_task) {
            genre_set_error(err, errlen, "node %s: conv scratch too large", s->node->name);
            return -1;
        }
        size_t staged = genre_tconv_scratch_size(&s->conv, rows_per_task);
        size_t out = rows_per_task * out_f * s->conv.out_c;
        g->staged_slot = staged > g->staged_slot ? staged : g->staged_slot;
        g->out_slot = out > g->out_slot ? out : g->out_slot;
        if (genre_tconv_plan_init(&s->kernel, &s->conv, s->node->weight, s->node->bias, g->isa))
            goto oom;
    }
    for (size_t i = 0; i < g->n_vs; i++)
        if (!(g->vs[i].out = malloc(g->vs[i].c * sizeof(float))))
            goto oom;
    if (g->staged_slot > MAX_FLOATS / g->threads || g->out_slot > MAX_FLOATS / g->threads) {
        genre_set_error(err, errlen, "conv scratch too large for %zu threads", g->threads);
        return -1;
    }
    g->staged = malloc(g->staged_slot * g->threads * sizeof(float));
    g->conv_out = malloc(g->out_slot * g->threads * sizeof(float));
    if (!g->staged || !g->conv_out)
        goto oom;
    return 0;
oom:
    genre_set_error(err, errlen, "out of memory for the graph's buffers");
    return -1;
}

genre_graph *genre_graph_new(const genre_model *model, size_t threads, char *err, size_t errlen)
{
    return genre_graph_new_isa(model, threads, GENRE_ISA_BEST, err, errlen);
}

genre_graph *genre_graph_new_isa(const genre_model *model, size_t threads, genre_isa isa,
                                 char *err, size_t errlen)
{
    if (isa != GENRE_ISA_BEST && !genre_isa_available(isa)) {
        genre_set_error(err, errlen, "this CPU cannot run the %s kernels", genre_isa_name(isa));
        return NULL;
    }
    if (!model || model->n_nodes == 0) {
        genre_set_error(err, errlen, "model has no graph (a version-1 model runs on genre_net)");
        return NULL;
    }
    if (threads < 1 || threads > 64) {
        genre_set_error(err, errlen, "%zu threads: must be 1..64", threads);
        return NULL;
    }
    genre_graph *g = calloc(1, sizeof *g);
    if (!g || !(g->vs = calloc(model->n_nodes, sizeof *g->vs))) {
        free(g);
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    g->model = model;
    atomic_init(&g->cancelled, false);
    g->tap_step = -1;
    g->threads = threads;
    g->isa = isa == GENRE_ISA_BEST ? genre_isa_detect() : isa;
    g->window_frames = model->frontend.window_frames;
    if (plan(g, err, errlen) || allocate(g, err, errlen))
        goto fail;
    if (threads > 1 && !(g->pool = genre_pool_new(threads, err, errlen)))
        goto fail;
    genre_graph_reset(g);
    return g;
fail:
    genre_graph_del(g);
    return NULL;
}

void genre_graph_reset(genre_graph *g)
{
    for (size_t i = 0; i < g->n_fs; i++)
        g->fs[i].base = g->fs[i].done = 0;
    g->total = 0;
    g->ended = false;
    g->window_floor = 0;
}

/* ---- computing frames ---- */

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Frames of each step that can be made from what has been pushed (steps
 * are in topological order, so one forward pass). */
static void availability(genre_graph *g)
{
    for (size_t i = 0; i < g->n_fs; i++) {
        const frame_step *s = &g->fs[i];
        if (g->ended || i == 0) {
            g->avail[i] = g->total;
            continue;
        }
        int64_t a = INT64_MAX;
        for (size_t k = 0; k < s->n_in; k++)
            a = min64(a, g->avail[s->in[k]]);
        g->avail[i] = max64(0, a - (int64_t)s->rctx);
    }
}

/* Drops frames no consumer of step i will read again, so that frames up to
 * `upto` fit.  -1 when they cannot (a planning bug, reported, not hidden). */
static int make_room(genre_graph *g, size_t i, int64_t upto, char *err, size_t errlen)
{
    frame_step *s = &g->fs[i];
    if (upto - s->base <= (int64_t)s->cap)
        return 0;
    int64_t keep = s->done;
    for (size_t j = i + 1; j < g->n_fs; j++) {
        const frame_step *c = &g->fs[j];
        for (size_t k = 0; k < c->n_in; k++)
            if (c->in[k] == (int)i)
                keep = min64(keep, c->done - (int64_t)c->lctx);
    }
    /* A pooled step keeps the frames a later window may start at, but never
     * more than fit: a window nobody asked for in time is given up. */
    if (s->pooled)
        keep = min64(keep, max64(g->window_floor, upto - (int64_t)s->cap));
    keep = max64(keep, s->base);
    if (upto - keep > (int64_t)s->cap) {
        genre_set_error(err, errlen, "graph buffer of %s too small (%lld frames needed, %zu)",
                        s->node ? s->node->name : "input", (long long)(upto - keep), s->cap);
        return -1;
    }
    size_t drop = (size_t)(keep - s->base);
    memmove(s->buf, s->buf + drop * s->frame, (size_t)(s->done - keep) * s->frame * sizeof(float));
    s->base = keep;
    return 0;
}

static float *frame_at(const frame_step *s, int64_t t)
{
    return s->buf + (size_t)(t - s->base) * s->frame;
}

typedef struct conv_job {
    genre_graph *g;
    frame_step *s;
    genre_frame_span span;
    int64_t t0;
    size_t rows, rows_per_task;
} conv_job;

/* Rows [task * rows_per_task, ...) of one conv pass, with the fused
 * epilogue and frequency max, into the step's buffer. */
static void conv_task(void *ctx, size_t task, size_t slot)
{
    conv_job *job = ctx;
    frame_step *s = job->s;
    size_t r0 = task * job->rows_per_task;
    size_t rows = r0 + job->rows_per_task <= job->rows ? job->rows_per_task : job->rows - r0;
    size_t out_f = genre_tconv_out_f(&s->conv), c = s->conv.out_c;
    float *dst = frame_at(s, job->t0 + (int64_t)r0);
    float *out = s->reduce_f ? job->g->conv_out + slot * job->g->out_slot : dst;
    /* A ReLU right after the conv happens in the kernel's store. */
    size_t e = s->n_epilogue && s->epilogue[0]->type == GENRE_LAYER_RELU;
    genre_tconv(&s->kernel, &job->span, job->t0 + (int64_t)r0, rows, e == 1,
                job->g->staged + slot * job->g->staged_slot, out);
    for (; e < s->n_epilogue; e++) {
        const genre_node *nd = s->epilogue[e];
        if (nd->type == GENRE_LAYER_RELU)
            genre_rows_relu(out, rows * out_f, c);
        else
            genre_rows_affine(out, rows * out_f, c, nd->weight, nd->bias);
    }
    if (s->reduce_f)
        genre_rows_freq_max(out, rows, out_f, c, dst);
}

static void run_conv(genre_graph *g, frame_step *s, int64_t t0, size_t rows)
{
    const frame_step *src = &g->fs[s->in[0]];
    conv_job job = {.g = g, .s = s, .t0 = t0, .rows = rows,
                    .span = {.frames = src->buf, .base = src->base, .lo = 0,
                             .hi = g->ended ? g->total : src->done}};
    if (!g->pool) {
        job.rows_per_task = rows;
        conv_task(&job, 0, 0);
        return;
    }
    job.rows_per_task = (CHUNK + 2 * g->threads - 1) / (2 * g->threads);
    genre_pool_run(g->pool, (rows + job.rows_per_task - 1) / job.rows_per_task, conv_task, &job);
}

static void run_elementwise(genre_graph *g, frame_step *s, int64_t t0, size_t rows)
{
    float *dst = frame_at(s, t0);
    const frame_step *a = &g->fs[s->in[0]];
    switch (s->kind) {
    case STEP_CONCAT:
        for (size_t r = 0; r < rows; r++) {
            float *o = dst + r * s->frame;
            /* Channels of each input, bin by bin: [f][c_0 + c_1 + ...]. */
            for (size_t b = 0; b < s->f; b++) {
                for (size_t k = 0; k < s->n_in; k++) {
                    const frame_step *in = &g->fs[s->in[k]];
                    memcpy(o, frame_at(in, t0 + (int64_t)r) + b * in->c, in->c * sizeof *o);
                    o += in->c;
                }
            }
        }
        return;
    case STEP_ADD: {
        const frame_step *b = &g->fs[s->in[1]];
        const float *x = frame_at(a, t0), *y = frame_at(b, t0);
        for (size_t i = 0; i < rows * s->frame; i++)
            dst[i] = x[i] + y[i];
        return;
    }
    default:
        break;
    }
    const genre_node *nd = s->node;
    if (nd->type == GENRE_LAYER_FREQ_MAX) {
        genre_rows_freq_max(frame_at(a, t0), rows, a->f, a->c, dst);
        return;
    }
    memcpy(dst, frame_at(a, t0), rows * s->frame * sizeof *dst);
    if (nd->type == GENRE_LAYER_RELU)
        genre_rows_relu(dst, rows * s->f, s->c);
    else
        genre_rows_affine(dst, rows * s->f, s->c, nd->weight, nd->bias);
}

/* Makes the frames of every pooled step up to `upto` (or as far as the
 * pushed frames allow), CHUNK at a time and all pooled steps together: a
 * step read by several branches then never waits on a branch that has not
 * moved, so its buffer holds only the look-ahead difference between them. */
static int advance(genre_graph *g, int64_t upto, char *err, size_t errlen)
{
    availability(g);
    for (;;) {
        bool more = false;
        for (size_t i = 0; i < g->n_fs; i++)
            g->need[i] = g->fs[i].done;
        for (size_t i = 1; i < g->n_fs; i++) {
            int64_t target = min64(upto, g->avail[i]);
            if (g->fs[i].pooled && g->fs[i].done < target) {
                g->need[i] = min64(target, g->fs[i].done + CHUNK);
                more = true;
            }
        }
        if (!more)
            return 0;
        for (size_t i = g->n_fs; i-- > 1;) {
            const frame_step *s = &g->fs[i];
            if (g->need[i] <= s->done)
                continue;
            for (size_t k = 0; k < s->n_in; k++) {
                size_t in = (size_t)s->in[k];
                int64_t want = min64(g->need[i] + (int64_t)s->rctx, g->avail[in]);
                g->need[in] = max64(g->need[in], want);
            }
        }
        for (size_t i = 1; i < g->n_fs; i++) {
            frame_step *s = &g->fs[i];
            while (s->done < g->need[i]) {
                /* Checked per chunk of one step: the finest grain at which
                 * the buffers stay consistent. */
                if (atomic_load_explicit(&g->cancelled, memory_order_relaxed)) {
                    genre_set_error(err, errlen, "cancelled");
                    return -1;
                }
                int64_t t0 = s->done, end = min64(g->need[i], t0 + CHUNK);
                if (make_room(g, i, end, err, errlen))
                    return -1;
                if (s->kind == STEP_CONV)
                    run_conv(g, s, t0, (size_t)(end - t0));
                else
                    run_elementwise(g, s, t0, (size_t)(end - t0));
                s->done = end;
                if ((int)i == g->tap_step)
                    for (int64_t t = t0; t < end; t++)
                        if (g->tap_sink(g->tap_user, (uint64_t)t, frame_at(s, t))) {
                            genre_set_error(err, errlen, "the frame sink stopped the graph");
                            return -1;
                        }
            }
        }
    }
}

int genre_graph_push(genre_graph *g, const float *frames, size_t n, char *err, size_t errlen)
{
    if (g->ended) {
        genre_set_error(err, errlen, "frames pushed after the end of the stream");
        return -1;
    }
    frame_step *in = &g->fs[0];
    while (n > 0) {
        size_t piece = n < CHUNK ? n : CHUNK;
        if (g->total + (int64_t)piece - in->base > (int64_t)in->cap) {
            if (advance(g, INT64_MAX, err, errlen) ||
                make_room(g, 0, g->total + (int64_t)piece, err, errlen))
                return -1;
        }
        memcpy(frame_at(in, g->total), frames, piece * in->frame * sizeof *frames);
        g->total += (int64_t)piece;
        in->done = g->total;
        frames += piece * in->frame;
        n -= piece;
    }
    return 0;
}

int genre_graph_tap(genre_graph *g, const char *node, genre_node_sink sink, void *user,
                    size_t *floats, char *err, size_t errlen)
{
    const genre_model *m = g->model;
    uint32_t idx = m->n_nodes;
    for (uint32_t i = 0; i < m->n_nodes && idx == m->n_nodes; i++)
        if (strncmp(m->nodes[i].name, node, sizeof m->nodes[i].name) == 0)
            idx = i;
    if (idx == m->n_nodes) {
        genre_set_error(err, errlen, "the model has no node '%s'", node);
        return -1;
    }
    const genre_node *want = &m->nodes[idx];
    for (size_t i = 1; i < g->n_fs; i++) {
        const frame_step *s = &g->fs[i];
        if (s->out_node == want) {
            g->tap_step = (int)i;
            g->tap_sink = sink;
            g->tap_user = user;
            *floats = s->frame;
            return 0;
        }
        bool inside = s->node == want;
        for (size_t k = 0; k < s->n_epilogue; k++)
            inside |= s->epilogue[k] == want;
        if (inside) {
            genre_set_error(err, errlen, "node '%s' is computed inside a fused step and not kept; "
                            "tap '%s', the step's last node", node, s->out_node->name);
            return -1;
        }
    }
    genre_set_error(err, errlen, "node '%s' is not per frame (it comes after the time pooling)",
                    node);
    return -1;
}

int genre_graph_flush(genre_graph *g, char *err, size_t errlen)
{
    if (!g->ended) {
        genre_set_error(err, errlen, "flush before the end of the stream");
        return -1;
    }
    return advance(g, INT64_MAX, err, errlen);
}

void genre_graph_cancel(genre_graph *g)
{
    atomic_store_explicit(&g->cancelled, true, memory_order_relaxed);
}

void genre_graph_end(genre_graph *g)
{
    g->ended = true;
}

uint64_t genre_graph_frames(const genre_graph *g)
{
    return (uint64_t)g->total;
}

uint64_t genre_graph_ready(const genre_graph *g)
{
    if (g->ended)
        return (uint64_t)g->total;
    return g->total > (int64_t)g->lookahead ? (uint64_t)(g->total - (int64_t)g->lookahead) : 0;
}

size_t genre_graph_lookahead(const genre_graph *g)
{
    return g->lookahead;
}

/* ---- per window ---- */

static void run_vector(genre_graph *g, vector_step *v, int64_t start, int64_t end)
{
    const genre_node *nd = v->node;
    const float *a = nd->type == GENRE_LAYER_TIME_MAXMEAN ? NULL : g->vs[v->in[0]].out;
    switch (nd->type) {
    case GENRE_LAYER_TIME_MAXMEAN: {
        const frame_step *s = &g->fs[v->in[0]];
        genre_frames_time_maxmean(frame_at(s, start), (size_t)(end - start), s->c, v->out);
        break;
    }
    case GENRE_LAYER_DENSE:
        genre_layer_dense(a, nd->p[0], nd->weight, nd->bias, nd->p[1], v->out);
        break;
    case GENRE_LAYER_AFFINE:
        memcpy(v->out, a, v->c * sizeof(float));
        genre_rows_affine(v->out, 1, v->c, nd->weight, nd->bias);
        break;
    case GENRE_LAYER_RELU:
        genre_layer_relu(a, v->c, v->out);
        break;
    case GENRE_LAYER_SOFTMAX:
        genre_layer_softmax(a, v->c, v->out);
        break;
    case GENRE_LAYER_SIGMOID:
        genre_rows_sigmoid(a, v->c, v->out);
        break;
    case GENRE_LAYER_ADD: {
        const float *b = g->vs[v->in[1]].out;
        for (size_t i = 0; i < v->c; i++)
            v->out[i] = a[i] + b[i];
        break;
    }
    case GENRE_LAYER_CONCAT: {
        float *o = v->out;
        for (size_t k = 0; k < v->n_in; k++) {
            memcpy(o, g->vs[v->in[k]].out, g->vs[v->in[k]].c * sizeof *o);
            o += g->vs[v->in[k]].c;
        }
        break;
    }
    default:
        break;
    }
}

int genre_graph_window(genre_graph *g, uint64_t start, uint64_t end, float *probs, char *err,
                       size_t errlen)
{
    if (start >= end || end - start > g->window_frames) {
        genre_set_error(err, errlen, "window [%llu, %llu) must hold 1..%zu frames",
                        (unsigned long long)start, (unsigned long long)end, g->window_frames);
        return -1;
    }
    if (end > genre_graph_ready(g)) {
        genre_set_error(err, errlen, "window end %llu is not ready (%llu frames ready)",
                        (unsigned long long)end, (unsigned long long)genre_graph_ready(g));
        return -1;
    }
    if ((int64_t)start < g->window_floor) {
        genre_set_error(err, errlen, "window start %llu is before the previous window's %lld",
                        (unsigned long long)start, (long long)g->window_floor);
        return -1;
    }
    if (advance(g, (int64_t)end, err, errlen))
        return -1;
    for (size_t i = 0; i < g->n_fs; i++) {
        if (!g->fs[i].pooled)
            continue;
        if ((int64_t)start < g->fs[i].base) {
            genre_set_error(err, errlen, "window start %llu is no longer kept (oldest frame %lld)",
                            (unsigned long long)start, (long long)g->fs[i].base);
            return -1;
        }
    }
    g->window_floor = (int64_t)start;
    for (size_t i = 0; i < g->n_vs; i++)
        run_vector(g, &g->vs[i], (int64_t)start, (int64_t)end);
    memcpy(probs, g->vs[g->output].out, g->model->n_labels * sizeof *probs);
    return 0;
}

int genre_graph_run(genre_graph *g, const float *frames, size_t n, float *probs, char *err,
                    size_t errlen)
{
    genre_graph_reset(g);
    if (genre_graph_push(g, frames, n, err, errlen))
        return -1;
    genre_graph_end(g);
    return genre_graph_window(g, 0, n, probs, err, errlen);
}

size_t genre_graph_threads(const genre_graph *g)
{
    return g->threads;
}

void genre_graph_del(genre_graph *g)
{
    if (!g)
        return;
    genre_pool_del(g->pool);
    for (size_t i = 0; i < g->n_fs; i++) {
        free(g->fs[i].buf);
        genre_tconv_plan_free(&g->fs[i].kernel);
    }
    if (g->vs)
        for (size_t i = 0; i < g->n_vs; i++)
            free(g->vs[i].out);
    free(g->vs);
    free(g->staged);
    free(g->conv_out);
    free(g);
}
