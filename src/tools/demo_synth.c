/* demo-synth: writes the bundled demo input, a synthesised 120 bpm groove
 * (kick, snare, hi-hat, bass line, chord pad), as a 44.1 kHz stereo WAV.
 * Synthesised at build time so the project ships no recording and no
 * licence question arises; deterministic (fixed noise seed). */
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE 44100
#define BPM 120.0

typedef struct { uint32_t state; } noise_gen;

static float noise_next(noise_gen *g)
{
    /* xorshift32: cheap, deterministic, good enough for drum noise. */
    uint32_t x = g->state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    g->state = x;
    return (float)x / 2147483648.0f - 1.0f;
}

static double note_hz(int midi) { return 440.0 * pow(2.0, (midi - 69) / 12.0); }

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: demo-synth OUT.wav [SECONDS]\n");
        return 2;
    }
    double seconds = argc == 3 ? atof(argv[2]) : 30.0;
    if (!(seconds > 0 && seconds <= 3600)) {
        fprintf(stderr, "demo-synth: SECONDS must be in (0, 3600]\n");
        return 2;
    }
    size_t frames = (size_t)(seconds * RATE);
    SF_INFO info = {.samplerate = RATE, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *out = sf_open(argv[1], SFM_WRITE, &info);
    if (!out) {
        fprintf(stderr, "demo-synth: %s: %s\n", argv[1], sf_strerror(NULL));
        return 1;
    }
    static const int bass_line[8] = {40, 40, 43, 45, 40, 40, 47, 45};     /* E minor riff */
    static const int chords[4][3] = {{64, 67, 71}, {62, 66, 69}, {60, 64, 67}, {62, 66, 69}};
    const double beat = 60.0 / BPM;
    noise_gen noise = {0x12345678u};
    float block[2 * 1024];
    for (size_t start = 0; start < frames; start += 1024) {
        size_t n = frames - start < 1024 ? frames - start : 1024;
        for (size_t i = 0; i < n; i++) {
            double t = (double)(start + i) / RATE;
            double in_beat = fmod(t, beat);
            long beat_no = (long)(t / beat);
            double in_eighth = fmod(t, beat / 2);
            /* Kick: pitch-dropping sine on every beat. */
            double kick = exp(-in_beat * 18) * sin(2 * M_PI * (50 + 90 * exp(-in_beat * 30)) * in_beat);
            /* Snare: noise burst on beats 2 and 4. */
            double snare = (beat_no % 2) ? exp(-in_beat * 25) * noise_next(&noise) * 0.5 : 0;
            /* Hi-hat: short bright noise on every eighth. */
            double hat = exp(-in_eighth * 90) * noise_next(&noise) * 0.18;
            /* Bass: one note per eighth with a soft decay. */
            long eighth_no = (long)(t / (beat / 2));
            double bass = 0.35 * exp(-in_eighth * 4) *
                          sin(2 * M_PI * note_hz(bass_line[eighth_no % 8]) * t);
            /* Pad: one chord per bar, three detuned saw-ish partials. */
            const int *chord = chords[(beat_no / 4) % 4];
            double pad = 0;
            for (int c = 0; c < 3; c++) {
                double f = note_hz(chord[c]);
                for (int h = 1; h <= 4; h++)
                    pad += sin(2 * M_PI * f * h * t) / (h * 12.0);
            }
            double mid = 0.6 * kick + snare + bass;
            block[2 * i] = (float)(0.55 * (mid + 0.8 * pad + 1.2 * hat));
            block[2 * i + 1] = (float)(0.55 * (mid + 1.2 * pad + 0.8 * hat));
        }
        if (sf_writef_float(out, block, (sf_count_t)n) != (sf_count_t)n) {
            fprintf(stderr, "demo-synth: %s: %s\n", argv[1], sf_strerror(out));
            sf_close(out);
            return 1;
        }
    }
    if (sf_close(out) != 0) {
        fprintf(stderr, "demo-synth: %s: close failed\n", argv[1]);
        return 1;
    }
    return 0;
}
