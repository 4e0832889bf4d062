/* Direct Ogg Opus decoding with libogg and libopus's plain decoder (see
 * ogg_opus.h for why and for what it declines). */
#include "ogg_opus.h"

#include "genre/error.h"

#include <errno.h>
#include <ogg/ogg.h>
#include <opus.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bytes read from the file at a time. */
#define READ_BYTES 65536
/* The longest Opus packet: 120 ms at 48 kHz. */
#define MAX_PACKET_FRAMES_48K 5760
/* The last page is found in the file's tail; an Ogg page is at most
 * 65307 bytes, so two pages' worth always holds one whole. */
#define TAIL_BYTES (2 * 65536)

struct genre_ogg_opus {
    int fd;
    char *path;
    ogg_sync_state sync;
    ogg_stream_state stream;
    long serial;
    OpusDecoder *dec;
    int channels, rate;
    int64_t preskip;            /* frames at `rate` dropped at the start */
    int64_t frames;             /* frames of the whole stream, -1 if unknown */
    float *pcm;                 /* the current packet's frames */
    size_t pcm_len, pcm_pos, pcm_cap;
    int64_t emitted, to_skip;
};

static int is_native_rate(uint32_t rate)
{
    return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* More bytes into the sync layer: bytes read, 0 at the end, -1 on error. */
static ssize_t feed(genre_ogg_opus *o)
{
    char *buf = ogg_sync_buffer(&o->sync, READ_BYTES);
    if (!buf)
        return -1;
    ssize_t got;
    do
        got = read(o->fd, buf, READ_BYTES);
    while (got < 0 && errno == EINTR);
    if (got > 0)
        ogg_sync_wrote(&o->sync, got);
    return got;
}

/* The next page of any stream: 1, 0 at the end of the file, -1 when the
 * bytes are not Ogg pages (a hole: corrupt or cut data). */
static int next_page(genre_ogg_opus *o, ogg_page *page, char *err, size_t errlen)
{
    for (;;) {
        int rc = ogg_sync_pageout(&o->sync, page);
        if (rc == 1)
            return 1;
        if (rc < 0) {
            genre_set_error(err, errlen, "%s: corrupt Ogg data (lost page sync)", o->path);
            return -1;
        }
        ssize_t got = feed(o);
        if (got < 0) {
            genre_set_error(err, errlen, "%s: read error: %s", o->path, strerror(errno));
            return -1;
        }
        if (got == 0)
            return 0;
    }
}

/* The next packet of our stream: 1, 0 at its end, -1 with a reason. */
static int next_packet(genre_ogg_opus *o, ogg_packet *packet, char *err, size_t errlen)
{
    for (;;) {
        int rc = ogg_stream_packetout(&o->stream, packet);
        if (rc == 1)
            return 1;
        if (rc < 0) {
            genre_set_error(err, errlen, "%s: corrupt Ogg data (a page is missing)", o->path);
            return -1;
        }
        ogg_page page;
        rc = next_page(o, &page, err, errlen);
        if (rc <= 0)
            return rc;
        /* Pages of other streams (a chained link after ours) are not ours. */
        if (ogg_page_serialno(&page) == o->serial && ogg_stream_pagein(&o->stream, &page) != 0) {
            genre_set_error(err, errlen, "%s: corrupt Ogg page", o->path);
            return -1;
        }
    }
}

/* Reads OpusHead and OpusTags from the start of the file.  0; 1 when the
 * file is not one this decoder takes; -1 with a reason. */
static int read_headers(genre_ogg_opus *o, int first, char *err, size_t errlen)
{
    ogg_page page;
    int rc = next_page(o, &page, err, errlen);
    if (rc <= 0 || !ogg_page_bos(&page))
        return 1;
    if (first) {
        o->serial = ogg_page_serialno(&page);
        if (ogg_stream_init(&o->stream, (int)o->serial) != 0)
            return 1;
    } else {
        ogg_stream_reset_serialno(&o->stream, (int)o->serial);
    }
    ogg_stream_pagein(&o->stream, &page);
    ogg_packet head;
    if (ogg_stream_packetout(&o->stream, &head) != 1 || head.bytes < 19 ||
        memcmp(head.packet, "OpusHead", 8) != 0)
        return 1;
    const unsigned char *h = head.packet;
    int gain = (int16_t)(h[16] | h[17] << 8);
    uint32_t rate = le32(h + 12);
    /* Version 0.x only (the major nibble), family 0 (mono or stereo,
     * no mapping table), no gain, a rate the decoder makes natively. */
    if ((h[8] >> 4) != 0 || h[18] != 0 || (h[9] != 1 && h[9] != 2) || gain != 0 ||
        !is_native_rate(rate))
        return 1;
    if (first) {
        o->channels = h[9];
        o->rate = (int)rate;
        o->preskip = (int64_t)(h[10] | h[11] << 8) * rate / 48000;
    }
    /* A second stream beginning here is a multiplexed file: not ours. */
    ogg_packet tags;
    for (;;) {
        rc = ogg_stream_packetout(&o->stream, &tags);
        if (rc == 1)
            break;
        if (rc < 0)
            return 1;
        rc = next_page(o, &page, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0 || ogg_page_serialno(&page) != o->serial)
            return 1;
        ogg_stream_pagein(&o->stream, &page);
    }
    if (tags.bytes < 8 || memcmp(tags.packet, "OpusTags", 8) != 0)
        return 1;
    return 0;
}

/* Frames of the whole stream from its last page's granule position; -1
 * when the tail holds no page of the stream. */
static int64_t stream_frames(genre_ogg_opus *o)
{
    off_t end = lseek(o->fd, 0, SEEK_END);
    if (end < 0)
        return -1;
    off_t start = end > TAIL_BYTES ? end - TAIL_BYTES : 0;
    ogg_sync_state tail;
    ogg_sync_init(&tail);
    char *buf = ogg_sync_buffer(&tail, (long)(end - start));
    ssize_t got = buf ? pread(o->fd, buf, (size_t)(end - start), start) : -1;
    int64_t granule = -1;
    if (got > 0) {
        ogg_sync_wrote(&tail, got);
        ogg_page page;
        int rc;
        while ((rc = ogg_sync_pageout(&tail, &page)) != 0) {
            if (rc == 1 && ogg_page_serialno(&page) == o->serial && ogg_page_granulepos(&page) >= 0)
                granule = ogg_page_granulepos(&page);
        }
    }
    ogg_sync_clear(&tail);
    if (granule < 0)
        return -1;
    int64_t frames = granule * o->rate / 48000 - o->preskip;
    return frames > 0 ? frames : 0;
}

static int start_decoding(genre_ogg_opus *o, char *err, size_t errlen)
{
    if (lseek(o->fd, 0, SEEK_SET) != 0) {
        genre_set_error(err, errlen, "%s: cannot seek: %s", o->path, strerror(errno));
        return -1;
    }
    ogg_sync_reset(&o->sync);
    int rc = read_headers(o, 0, err, errlen);
    if (rc != 0) {
        if (rc > 0)
            genre_set_error(err, errlen, "%s: Opus headers changed while reading", o->path);
        return -1;
    }
    opus_decoder_ctl(o->dec, OPUS_RESET_STATE);
    o->pcm_len = o->pcm_pos = 0;
    o->emitted = 0;
    o->to_skip = o->preskip;
    return 0;
}

genre_ogg_opus *genre_ogg_opus_open(int fd, const char *path, int *declined, char *err,
                                    size_t errlen)
{
    *declined = 0;
    unsigned char magic[4];
    if (pread(fd, magic, 4, 0) != 4 || memcmp(magic, "OggS", 4) != 0) {
        *declined = 1;
        return NULL;
    }
    genre_ogg_opus *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(path))) {
        free(o);
        genre_set_error(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    o->fd = fd;
    ogg_sync_init(&o->sync);
    if (lseek(fd, 0, SEEK_SET) != 0) {
        *declined = 1;
        goto fail;
    }
    int rc = read_headers(o, 1, err, errlen);
    if (rc != 0) {
        *declined = rc > 0;
        goto fail;
    }
    int e = OPUS_OK;
    o->dec = opus_decoder_create(o->rate, o->channels, &e);
    o->pcm_cap = (size_t)MAX_PACKET_FRAMES_48K * (size_t)o->rate / 48000;
    o->pcm = malloc(o->pcm_cap * (size_t)o->channels * sizeof *o->pcm);
    if (e != OPUS_OK || !o->dec || !o->pcm) {
        genre_set_error(err, errlen, "%s: cannot make an Opus decoder: %s", path,
                        e != OPUS_OK ? opus_strerror(e) : "out of memory");
        goto fail;
    }
    o->frames = stream_frames(o);
    if (start_decoding(o, err, errlen))
        goto fail;
    return o;
fail:
    genre_ogg_opus_del(o);
    return NULL;
}

int genre_ogg_opus_rate(const genre_ogg_opus *o) { return o->rate; }
int genre_ogg_opus_channels(const genre_ogg_opus *o) { return o->channels; }
int64_t genre_ogg_opus_frames(const genre_ogg_opus *o) { return o->frames; }

ssize_t genre_ogg_opus_read(genre_ogg_opus *o, float *out, size_t max_frames, char *err,
                            size_t errlen)
{
    size_t done = 0;
    const size_t ch = (size_t)o->channels;
    while (done < max_frames) {
        if (o->frames >= 0 && o->emitted >= o->frames)
            break;      /* the last page's granule position ends the stream */
        if (o->pcm_pos < o->pcm_len) {
            size_t n = o->pcm_len - o->pcm_pos;
            if (n > max_frames - done)
                n = max_frames - done;
            if (o->frames >= 0 && (int64_t)n > o->frames - o->emitted)
                n = (size_t)(o->frames - o->emitted);
            memcpy(out + done * ch, o->pcm + o->pcm_pos * ch, n * ch * sizeof *out);
            o->pcm_pos += n;
            o->emitted += (int64_t)n;
            done += n;
            continue;
        }
        ogg_packet packet;
        int rc = next_packet(o, &packet, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        int n = opus_decode_float(o->dec, packet.packet, (opus_int32)packet.bytes, o->pcm,
                                  (int)o->pcm_cap, 0);
        if (n < 0) {
            genre_set_error(err, errlen, "%s: Opus decode error: %s", o->path, opus_strerror(n));
            return -1;
        }
        o->pcm_len = (size_t)n;
        o->pcm_pos = 0;
        if (o->to_skip > 0) {
            size_t skip = (int64_t)n < o->to_skip ? (size_t)n : (size_t)o->to_skip;
            o->pcm_pos = skip;
            o->to_skip -= (int64_t)skip;
        }
    }
    return (ssize_t)done;
}

int genre_ogg_opus_rewind(genre_ogg_opus *o, char *err, size_t errlen)
{
    return start_decoding(o, err, errlen);
}

void genre_ogg_opus_del(genre_ogg_opus *o)
{
    if (!o)
        return;
    ogg_sync_clear(&o->sync);
    ogg_stream_clear(&o->stream);
    if (o->dec)
        opus_decoder_destroy(o->dec);
    free(o->pcm);
    free(o->path);
    free(o);
}
