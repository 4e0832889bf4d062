/* Streaming log-mel front-end: STFT (FFTW3 float, plan made once), window,
 * power spectrum, mel filterbank, log compression, per-band normalisation.
 * It is fed mono samples at spec.sample_rate in chunks of any size and emits
 * one frame of n_mels floats per hop.  Every parameter comes from the model
 * file (see doc/model-format.md for the exact definition). */
#ifndef GENRE_FRONTEND_H
#define GENRE_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

enum genre_stft_window { GENRE_STFT_HANN = 1 };              /* periodic Hann */
enum genre_mel_scale { GENRE_MEL_SLANEY = 1, GENRE_MEL_HTK = 2 };
/* Triangle height: peak 1, or area-normalised (each triangle scaled by
 * 2 / (f_right - f_left), Slaney's and librosa's default). */
enum genre_mel_norm { GENRE_MEL_NORM_PEAK = 0, GENRE_MEL_NORM_AREA = 1 };

typedef struct genre_frontend_spec {
    uint32_t sample_rate;   /* Hz */
    uint32_t n_fft;         /* frame length = FFT size, samples */
    uint32_t hop;           /* samples between frame starts */
    uint32_t stft_window;   /* enum genre_stft_window: the analysis window of each FFT */
    uint32_t n_mels;
    float fmin, fmax;       /* Hz, mel filterbank edges */
    uint32_t mel_scale;     /* enum genre_mel_scale */
    uint32_t mel_norm;      /* enum genre_mel_norm */
    float log_offset;       /* frame = ln(mel_power + log_offset) */
    uint32_t window_frames; /* frames in one network input window */
    /* Per-band normalisation: out = (ln(..) - norm_mean[b]) / norm_std[b].
     * Both NULL: no normalisation (raw log-mel, used to make training
     * features).  Pointers are borrowed; the front-end copies them. */
    const float *norm_mean, *norm_std;
} genre_frontend_spec;

/* Receives one frame of n_mels floats; return non-zero to stop. */
typedef int (*genre_frame_sink)(void *user, const float *frame);

typedef struct genre_frontend genre_frontend;

/* The project's default front-end (used to make training features before a
 * model exists): 16 kHz, n_fft 512, hop 256, periodic Hann, 96 slaney mels
 * over 0..8000 Hz, ln(E + 1e-3), 624-frame (exactly 10 s) windows, no
 * normalisation.  Exact definition: doc/frontend.md. */
genre_frontend_spec genre_frontend_default_spec(void);

/* Checks the spec (sizes, fmax <= rate/2, every mel band non-empty, ...).
 * Thread safety: _new and _del create/destroy an FFTW plan and FFTW's
 * planner is not thread-safe, so callers must not run _new/_del of any two
 * front-ends concurrently (serialise them, e.g. with a mutex); _push on
 * different front-ends may run concurrently. */
genre_frontend *genre_frontend_new(const genre_frontend_spec *spec, char *err, size_t errlen);
/* Exactly the checks genre_frontend_new makes, without building anything:
 * 0, or -1 with the same message.  The model loader runs it on every
 * model's front-end, so no model is accepted that the front-end refuses. */
int genre_frontend_check_spec(const genre_frontend_spec *spec, char *err, size_t errlen);
/* Seconds of audio one network window spans: from its first frame's first
 * sample to its last frame's last ((window_frames - 1) hops and one FFT). */
double genre_frontend_window_seconds(const genre_frontend_spec *spec);
/* Returns 0 or the first non-zero sink value. */
int genre_frontend_push(genre_frontend *fe, const float *samples, size_t n,
                        genre_frame_sink sink, void *user);
void genre_frontend_reset(genre_frontend *fe);
void genre_frontend_del(genre_frontend *fe);

#endif
