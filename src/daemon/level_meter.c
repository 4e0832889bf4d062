/* The level meter (level_meter.h). */
#include "genred/level_meter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "genre/level.h"

void genred_level_meter_free(genred_level_meter *m)
{
    free(m->sumsq);
    free(m->count);
    free(m->nonfinite);
    free(m->loss_events);
    free(m->lost_frames);
    memset(m, 0, sizeof *m);
}

int genred_level_meter_init(genred_level_meter *m, double window_s, double rate, int channels)
{
    memset(m, 0, sizeof *m);
    double block_frames = round(rate * GENRED_LEVEL_BLOCK_SECONDS);
    if (block_frames < 1)
        block_frames = 1;
    m->block_samples = (uint64_t)block_frames * (uint64_t)channels;
    m->n_blocks = (size_t)ceil(window_s / GENRED_LEVEL_BLOCK_SECONDS);
    if (m->n_blocks < 1)
        m->n_blocks = 1;
    m->sumsq = calloc(m->n_blocks, sizeof *m->sumsq);
    m->count = calloc(m->n_blocks, sizeof *m->count);
    m->nonfinite = calloc(m->n_blocks, sizeof *m->nonfinite);
    m->loss_events = calloc(m->n_blocks, sizeof *m->loss_events);
    m->lost_frames = calloc(m->n_blocks, sizeof *m->lost_frames);
    if (!m->sumsq || !m->count || !m->nonfinite || !m->loss_events || !m->lost_frames) {
        genred_level_meter_free(m);
        return -1;
    }
    return 0;
}

void genred_level_meter_reset(genred_level_meter *m)
{
    if (!m->sumsq)
        return;
    memset(m->sumsq, 0, m->n_blocks * sizeof *m->sumsq);
    memset(m->count, 0, m->n_blocks * sizeof *m->count);
    memset(m->nonfinite, 0, m->n_blocks * sizeof *m->nonfinite);
    memset(m->loss_events, 0, m->n_blocks * sizeof *m->loss_events);
    memset(m->lost_frames, 0, m->n_blocks * sizeof *m->lost_frames);
    m->cur = 0;
}

size_t genred_level_meter_add(genred_level_meter *m, float *x, size_t n)
{
    size_t replaced = 0;
    while (n > 0) {
        uint64_t room = m->block_samples - m->count[m->cur];
        size_t take = n < room ? n : (size_t)room;
        double acc = 0;
        size_t bad = 0;
        for (size_t i = 0; i < take; i++) {
            if (!isfinite(x[i])) {
                x[i] = 0;
                bad++;
            }
            acc += (double)x[i] * x[i];
        }
        m->sumsq[m->cur] += acc;
        m->count[m->cur] += take;
        m->nonfinite[m->cur] += bad;
        replaced += bad;
        x += take;
        n -= take;
        if (m->count[m->cur] == m->block_samples) {
            /* The oldest block makes room for the next. */
            m->cur = (m->cur + 1) % m->n_blocks;
            m->sumsq[m->cur] = 0;
            m->count[m->cur] = 0;
            m->nonfinite[m->cur] = 0;
            m->loss_events[m->cur] = 0;
            m->lost_frames[m->cur] = 0;
        }
    }
    return replaced;
}

void genred_level_meter_add_loss(genred_level_meter *m, uint64_t events, uint64_t frames)
{
    m->loss_events[m->cur] += events;
    m->lost_frames[m->cur] += frames;
}

void genred_level_meter_losses(const genred_level_meter *m, uint64_t *events, uint64_t *frames)
{
    *events = *frames = 0;
    for (size_t i = 0; i < m->n_blocks; i++) {
        *events += m->loss_events[i];
        *frames += m->lost_frames[i];
    }
}

int genred_level_meter_has_nonfinite(const genred_level_meter *m)
{
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->nonfinite[i])
            return 1;
    return 0;
}

double genred_level_meter_dbfs(const genred_level_meter *m)
{
    double s = 0;
    uint64_t c = 0;
    for (size_t i = 0; i < m->n_blocks; i++) {
        s += m->sumsq[i];
        c += m->count[i];
    }
    return genre_level_dbfs(s, c);
}
