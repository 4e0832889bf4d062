/* The daemon's level meter: what the audio inside the rolling window was
 * like, kept beside the features so that it describes the same audio the
 * network sees.  Samples are summed in blocks of 0.1 s covering the
 * window; each block also counts NaN/infinite samples (replaced by 0 on
 * the way in) and the losses (dropped or never captured audio) found while
 * it filled.  The feature thread owns one; nothing here locks.
 * Test: tests/daemon/test_level_meter.c. */
#ifndef GENRED_LEVEL_METER_H
#define GENRED_LEVEL_METER_H

#include <stddef.h>
#include <stdint.h>

/* Block length: the level's time resolution. */
#define GENRED_LEVEL_BLOCK_SECONDS 0.1

typedef struct genred_level_meter {
    double *sumsq;              /* per block */
    uint64_t *count;            /* samples per block */
    uint64_t *nonfinite;        /* NaN/infinite samples per block (counted in count) */
    uint64_t *loss_events;      /* losses found while the block filled (drops, gaps) */
    uint64_t *lost_frames;      /* source frames they lost */
    size_t n_blocks, cur;       /* cur: the block being filled */
    uint64_t block_samples;     /* samples (all channels) per full block */
} genred_level_meter;

/* Blocks covering window_s seconds of rate-Hz audio with `channels`
 * interleaved channels.  0, or -1 out of memory (m is then empty). */
int genred_level_meter_init(genred_level_meter *m, double window_s, double rate, int channels);
/* Frees the blocks; m is empty after (and freeing an empty one is fine). */
void genred_level_meter_free(genred_level_meter *m);
/* Forget everything measured (a new stream). */
void genred_level_meter_reset(genred_level_meter *m);

/* Add n interleaved samples.  Also the input check: a NaN or infinite
 * sample would slip past every comparison (NaN < x is false, so even the
 * silence test) and poison the features; it is replaced by 0 in x and
 * counted in its block.  Returns the number replaced. */
size_t genred_level_meter_add(genred_level_meter *m, float *x, size_t n);
/* A loss just before the samples that come next: it stays in the window's
 * account while its block does. */
void genred_level_meter_add_loss(genred_level_meter *m, uint64_t events, uint64_t frames);

/* RMS level over the blocks, dBFS (genre/level.h). */
double genred_level_meter_dbfs(const genred_level_meter *m);
/* Whether any block holds NaN/infinite samples. */
int genred_level_meter_has_nonfinite(const genred_level_meter *m);
/* Loss events and lost frames over the blocks. */
void genred_level_meter_losses(const genred_level_meter *m, uint64_t *events, uint64_t *frames);

#endif
