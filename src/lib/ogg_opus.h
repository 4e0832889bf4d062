/* A direct Ogg Opus decoder for the common case: one logical stream,
 * channel mapping family 0 (mono or stereo), no header gain, an input rate
 * libopus decodes at natively (8, 12, 16, 24 or 48 kHz).  Private to
 * libgenre; audiofile.c uses it before libsndfile.
 *
 * Why: libsndfile decodes Opus through libopus's multistream decoder, which
 * re-detects the CPU on every packet (cpuid, slow in virtual machines);
 * the plain decoder does not, and gives the same samples.  Everything this
 * decoder does not take -- other mappings, gain, rates, multiplexed
 * streams, non-seekable input -- is left to libsndfile (*declined), so a
 * file never decodes differently here than there (tests/lib/test_audiofile.c
 * compares the two sample by sample).
 *
 * Output as libsndfile gives it: the OpusHead input rate, pre-skip
 * dropped, the stream cut at its last page's granule position. */
#ifndef GENRE_OGG_OPUS_H
#define GENRE_OGG_OPUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct genre_ogg_opus genre_ogg_opus;

/* fd: a seekable file, read from its start; not closed, and left at an
 * unspecified offset.  NULL with *declined = 1 when the file is not one
 * this decoder takes (nothing to report: use another decoder), NULL with
 * *declined = 0 and a reason naming `path` on a real error. */
genre_ogg_opus *genre_ogg_opus_open(int fd, const char *path, int *declined, char *err,
                                    size_t errlen);
int genre_ogg_opus_rate(const genre_ogg_opus *o);
int genre_ogg_opus_channels(const genre_ogg_opus *o);
int64_t genre_ogg_opus_frames(const genre_ogg_opus *o);
/* Interleaved float frames; 0 at the end, -1 with a reason naming the file. */
ssize_t genre_ogg_opus_read(genre_ogg_opus *o, float *out, size_t max_frames, char *err,
                            size_t errlen);
/* Back to the first frame.  0, or -1 with a reason. */
int genre_ogg_opus_rewind(genre_ogg_opus *o, char *err, size_t errlen);
/* Frees the decoder (not the fd). */
void genre_ogg_opus_del(genre_ogg_opus *o);

#endif
