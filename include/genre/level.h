/* Input level and the silence rule, shared by the daemon (its level meter,
 * state "silence") and genre-classify (outcome "silence"): the RMS of the
 * samples (all channels) in dB relative to full scale, a full-scale square
 * wave reading 0 dBFS and a full-scale sine -3 dBFS; audio below
 * GENRE_SILENCE_DBFS gets no genre.  Tests: tests/lib/test_level.c. */
#ifndef GENRE_LEVEL_H
#define GENRE_LEVEL_H

#include <stdint.h>

/* Where silence begins unless configured otherwise (genred.conf
 * [inference] silence_dbfs, genre-classify --silence-dbfs). */
#define GENRE_SILENCE_DBFS (-60.0)
/* Digital silence (-inf dB) is reported as this floor. */
#define GENRE_LEVEL_FLOOR_DBFS (-120.0)

/* Level of `count` samples whose squares sum to `sumsq`; the floor for
 * none or all zero. */
double genre_level_dbfs(double sumsq, uint64_t count);

#endif
