/* Writes the seed corpus of the audiofile fuzz target: a few hundred
 * milliseconds of tone in each container/codec libsndfile reads, plus
 * headers with unusual rates and channel counts.  Run by fuzz/make-corpus;
 * the output is committed, so this only needs rerunning to change seeds.
 *   make-audio-seeds OUTDIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sndfile.h>

typedef struct seed {
    const char *name;
    int format;
    int rate, channels;
    double seconds;
} seed;

static const seed seeds[] = {
    {"pcm16-8k-mono.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 0.05},
    {"float-44k-stereo.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 2, 0.03},
    {"pcm24-48k-6ch.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 48000, 6, 0.01},
    {"ulaw-16k.wav", SF_FORMAT_WAV | SF_FORMAT_ULAW, 16000, 1, 0.05},
    {"ima-adpcm-22k.wav", SF_FORMAT_WAV | SF_FORMAT_IMA_ADPCM, 22050, 1, 0.05},
    {"pcm16-1hz.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 1, 40.0},
    {"pcm16-384k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 384000, 1, 0.005},
    {"pcm16-16k.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 0.1},
    {"vorbis-22k.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 22050, 1, 0.2},
    {"opus-48k.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 1, 0.2},
    {"pcm16-32k.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 32000, 2, 0.02},
    {"float-16k.au", SF_FORMAT_AU | SF_FORMAT_FLOAT, 16000, 1, 0.03},
    {"alac-44k.caf", SF_FORMAT_CAF | SF_FORMAT_ALAC_16, 44100, 1, 0.05},
    {"pcm16-16k.w64", SF_FORMAT_W64 | SF_FORMAT_PCM_16, 16000, 1, 0.02},
    {"double-16k.rf64", SF_FORMAT_RF64 | SF_FORMAT_DOUBLE, 16000, 1, 0.02},
    {"mp3-44k.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 1, 0.2},
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    int status = 0;
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        const seed *sd = &seeds[s];
        SF_INFO info = {.samplerate = sd->rate, .channels = sd->channels, .format = sd->format};
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], sd->name);
        SNDFILE *f = sf_open(path, SFM_WRITE, &info);
        if (!f) {
            fprintf(stderr, "%s: %s (skipped)\n", path, sf_strerror(NULL));
            continue;
        }
        long frames = (long)(sd->rate * sd->seconds);
        if (frames < 1)
            frames = 1;
        float *buf = malloc((size_t)frames * (size_t)sd->channels * sizeof *buf);
        if (!buf) {
            sf_close(f);
            return 1;
        }
        /* A 440 Hz tone with a different phase per channel. */
        for (long i = 0; i < frames; i++)
            for (int c = 0; c < sd->channels; c++)
                buf[i * sd->channels + c] =
                    0.5f * (float)sin(2.0 * M_PI * 440.0 * (double)i / sd->rate + c);
        if (sf_writef_float(f, buf, frames) != frames) {
            fprintf(stderr, "%s: short write: %s\n", path, sf_strerror(f));
            status = 1;
        }
        free(buf);
        sf_close(f);
    }
    return status;
}
