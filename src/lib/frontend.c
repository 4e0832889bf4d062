/* Streaming log-mel front-end.  The exact definition every number here must
 * follow is doc/frontend.md; tests/lib/test_frontend_numpy.py implements the same
 * document independently in NumPy. */
#include "genre/frontend.h"
#include "inspect.h"
#include "genre/error.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Limits that keep every size computation far from overflow and refuse
 * specs no sensible model would use. */
#define FRONTEND_MAX_RATE 768000u
#define FRONTEND_MIN_FFT 16u
#define FRONTEND_MAX_FFT 65536u
#define FRONTEND_MAX_MELS 1024u
#define FRONTEND_MAX_WINDOW_FRAMES 1000000u

struct genre_frontend {
    genre_frontend_spec spec;   /* norm pointers redirected to our copies */
    size_t n_bins;              /* n_fft/2 + 1 */
    float *stft_weights;        /* n_fft periodic Hann weights */
    float *mel;                 /* n_mels x n_bins dense filterbank */
    uint32_t *band_first;       /* first non-zero bin of each band */
    uint32_t *band_len;         /* number of bins from band_first on */
    float *norm_mean, *norm_std;        /* copies; NULL without normalisation */
    float *norm_inv_std;                /* 1/norm_std, used per frame */
    float *ring;                /* the current n_fft input samples */
    size_t fill;                /* samples in ring */
    float *fft_in;              /* windowed frame (FFTW-aligned) */
    fftwf_complex *fft_out;
    float *power;               /* n_bins */
    float *frame;               /* n_mels: the emitted frame */
    fftwf_plan plan;
};

genre_frontend_spec genre_frontend_default_spec(void)
{
    genre_frontend_spec s = {
        .sample_rate = 16000,
        .n_fft = 512,
        .hop = 256,
        .stft_window = GENRE_STFT_HANN,
        .n_mels = 96,
        .fmin = 0.0f,
        .fmax = 8000.0f,
        .mel_scale = GENRE_MEL_SLANEY,
        .mel_norm = GENRE_MEL_NORM_PEAK,
        .log_offset = 1e-3f,
        .window_frames = 624,   /* (624-1)*256 + 512 = 160000 samples = 10 s */
        .norm_mean = NULL,
        .norm_std = NULL,
    };
    return s;
}

/* Slaney's auditory-toolbox mel: linear below 1 kHz, logarithmic above. */
static double hz_to_mel(double f, uint32_t scale)
{
    if (scale == GENRE_MEL_HTK)
        return 2595.0 * log10(1.0 + f / 700.0);
    if (f < 1000.0)
        return 3.0 * f / 200.0;
    return 15.0 + log(f / 1000.0) / (log(6.4) / 27.0);
}

static double mel_to_hz(double m, uint32_t scale)
{
    if (scale == GENRE_MEL_HTK)
        return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
    if (m < 15.0)
        return 200.0 * m / 3.0;
    return 1000.0 * exp((m - 15.0) * (log(6.4) / 27.0));
}

static int check_spec(const genre_frontend_spec *s, char *err, size_t errlen)
{
    if (s->sample_rate == 0 || s->sample_rate > FRONTEND_MAX_RATE) {
        genre_set_error(err, errlen, "front-end: sample_rate %u Hz out of range 1..%u",
                        s->sample_rate, FRONTEND_MAX_RATE);
        return -1;
    }
    if (s->n_fft < FRONTEND_MIN_FFT || s->n_fft > FRONTEND_MAX_FFT || s->n_fft % 2 != 0) {
        genre_set_error(err, errlen, "front-end: n_fft %u must be even and in %u..%u",
                        s->n_fft, FRONTEND_MIN_FFT, FRONTEND_MAX_FFT);
        return -1;
    }
    if (s->hop == 0 || s->hop > s->n_fft) {
        genre_set_error(err, errlen, "front-end: hop %u must be in 1..n_fft (%u)", s->hop, s->n_fft);
        return -1;
    }
    if (s->stft_window != GENRE_STFT_HANN) {
        genre_set_error(err, errlen, "front-end: unknown window kind %u (only 1 = periodic Hann)",
                        s->stft_window);
        return -1;
    }
    if (s->n_mels == 0 || s->n_mels > FRONTEND_MAX_MELS) {
        genre_set_error(err, errlen, "front-end: n_mels %u out of range 1..%u", s->n_mels,
                        FRONTEND_MAX_MELS);
        return -1;
    }
    if (s->mel_scale != GENRE_MEL_SLANEY && s->mel_scale != GENRE_MEL_HTK) {
        genre_set_error(err, errlen, "front-end: unknown mel scale %u (1 = slaney, 2 = htk)",
                        s->mel_scale);
        return -1;
    }
    if (s->mel_norm != GENRE_MEL_NORM_PEAK && s->mel_norm != GENRE_MEL_NORM_AREA) {
        genre_set_error(err, errlen, "front-end: unknown mel normalisation %u (0 = peak, 1 = area)",
                        s->mel_norm);
        return -1;
    }
    if (!isfinite(s->fmin) || !isfinite(s->fmax) || s->fmin < 0.0f || s->fmin >= s->fmax) {
        genre_set_error(err, errlen, "front-end: need 0 <= fmin < fmax, got fmin %g fmax %g",
                        (double)s->fmin, (double)s->fmax);
        return -1;
    }
    if ((double)s->fmax > s->sample_rate / 2.0) {
        genre_set_error(err, errlen, "front-end: fmax %g Hz above the Nyquist frequency %g Hz",
                        (double)s->fmax, s->sample_rate / 2.0);
        return -1;
    }
    if (!isfinite(s->log_offset) || !(s->log_offset > 0.0f)) {
        genre_set_error(err, errlen, "front-end: log_offset %g must be positive and finite",
                        (double)s->log_offset);
        return -1;
    }
    if (s->window_frames == 0 || s->window_frames > FRONTEND_MAX_WINDOW_FRAMES) {
        genre_set_error(err, errlen, "front-end: window_frames %u out of range 1..%u",
                        s->window_frames, FRONTEND_MAX_WINDOW_FRAMES);
        return -1;
    }
    if ((s->norm_mean == NULL) != (s->norm_std == NULL)) {
        genre_set_error(err, errlen, "front-end: norm_mean and norm_std must both be given or both be NULL");
        return -1;
    }
    if (s->norm_mean) {
        for (uint32_t b = 0; b < s->n_mels; b++) {
            if (!isfinite(s->norm_mean[b])) {
                genre_set_error(err, errlen, "front-end: norm_mean[%u] is not finite", b);
                return -1;
            }
            /* 1/std must be finite too: it is what each frame is scaled by. */
            if (!isfinite(s->norm_std[b]) || !(s->norm_std[b] > 0.0f) ||
                !isfinite(1.0f / s->norm_std[b])) {
                genre_set_error(err, errlen, "front-end: norm_std[%u] = %g must be positive and finite",
                                b, (double)s->norm_std[b]);
                return -1;
            }
        }
    }
    return 0;
}

/* Mel band edge frequencies: n_mels + 2 of them, in Hz (malloc'd). */
static double *band_edges(const genre_frontend_spec *s)
{
    const size_t n_points = (size_t)s->n_mels + 2;
    double *edge = malloc(n_points * sizeof *edge);
    if (!edge)
        return NULL;
    const double m_lo = hz_to_mel(s->fmin, s->mel_scale);
    const double m_hi = hz_to_mel(s->fmax, s->mel_scale);
    for (size_t i = 0; i < n_points; i++)
        edge[i] = mel_to_hz(m_lo + (m_hi - m_lo) * (double)i / (double)(n_points - 1), s->mel_scale);
    return edge;
}

/* Filter weight of FFT bin k in the band lo..mid..hi, as stored. */
static float band_weight(const genre_frontend_spec *s, size_t k, double lo, double mid, double hi)
{
    const double height = s->mel_norm == GENRE_MEL_NORM_AREA ? 2.0 / (hi - lo) : 1.0;
    const double f = (double)k * s->sample_rate / s->n_fft;
    const double up = (f - lo) / (mid - lo);
    const double down = (hi - f) / (hi - mid);
    double w = up < down ? up : down;
    if (!(w > 0.0))
        w = 0.0;
    return (float)(w * height);
}

static void empty_band_error(const genre_frontend_spec *s, uint32_t b, double lo, double hi,
                             char *err, size_t errlen)
{
    genre_set_error(err, errlen,
                    "front-end: mel band %u (%.1f..%.1f Hz) contains no FFT bin (bin spacing %.2f Hz); "
                    "use fewer mels or a larger n_fft",
                    b, lo, hi, (double)s->sample_rate / s->n_fft);
}

double genre_frontend_window_seconds(const genre_frontend_spec *spec)
{
    return ((double)(spec->window_frames - 1) * spec->hop + spec->n_fft) / spec->sample_rate;
}

int genre_frontend_check_spec(const genre_frontend_spec *spec, char *err, size_t errlen)
{
    if (!spec) {
        genre_set_error(err, errlen, "front-end: no spec given");
        return -1;
    }
    if (check_spec(spec, err, errlen) != 0)
        return -1;
    double *edge = band_edges(spec);
    if (!edge) {
        genre_set_error(err, errlen, "front-end: out of memory");
        return -1;
    }
    /* Every band needs a bin of non-zero weight.  Bins at or below lo and
     * at or above hi have weight 0 exactly (up or down <= 0), so only the
     * bins between are looked at: what build_filterbank computes for them. */
    const size_t n_bins = spec->n_fft / 2 + 1;
    const double spacing = (double)spec->sample_rate / spec->n_fft;
    int rc = 0;
    for (uint32_t b = 0; b < spec->n_mels && rc == 0; b++) {
        const double lo = edge[b], mid = edge[b + 1], hi = edge[b + 2];
        double k0 = floor(lo / spacing) - 1.0;
        size_t k = k0 > 0.0 ? (size_t)k0 : 0;
        int found = 0;
        for (; k < n_bins && !found; k++) {
            if ((double)k * spec->sample_rate / spec->n_fft >= hi)
                break;
            found = band_weight(spec, k, lo, mid, hi) > 0.0f;
        }
        if (!found) {
            empty_band_error(spec, b, lo, hi, err, errlen);
            rc = -1;
        }
    }
    free(edge);
    return rc;
}

/* Triangular filters with peak 1 (or unit area, scaled by 2 / (hi - lo))
 * on n_mels+2 mel-spaced edge frequencies; computed in double, stored in float.  Also records each band's non-zero
 * bin range for the sparse product. */
static int build_filterbank(genre_frontend *fe, char *err, size_t errlen)
{
    const genre_frontend_spec *s = &fe->spec;
    double *edge = band_edges(s);
    if (!edge) {
        genre_set_error(err, errlen, "front-end: out of memory");
        return -1;
    }
    int rc = 0;
    for (uint32_t b = 0; b < s->n_mels; b++) {
        const double lo = edge[b], mid = edge[b + 1], hi = edge[b + 2];
        float *row = fe->mel + (size_t)b * fe->n_bins;
        size_t first = fe->n_bins, last = 0;
        for (size_t k = 0; k < fe->n_bins; k++) {
            row[k] = band_weight(s, k, lo, mid, hi);
            if (row[k] > 0.0f) {
                if (first == fe->n_bins)
                    first = k;
                last = k;
            }
        }
        if (first == fe->n_bins) {
            /* genre_frontend_check_spec refused such a spec already. */
            empty_band_error(s, b, lo, hi, err, errlen);
            rc = -1;
            break;
        }
        fe->band_first[b] = (uint32_t)first;
        fe->band_len[b] = (uint32_t)(last - first + 1);
    }
    free(edge);
    return rc;
}

genre_frontend *genre_frontend_new(const genre_frontend_spec *spec, char *err, size_t errlen)
{
    if (genre_frontend_check_spec(spec, err, errlen) != 0)
        return NULL;
    genre_frontend *fe = calloc(1, sizeof *fe);
    if (!fe) {
        genre_set_error(err, errlen, "front-end: out of memory");
        return NULL;
    }
    fe->spec = *spec;
    fe->spec.norm_mean = fe->spec.norm_std = NULL;
    const size_t n_fft = spec->n_fft, n_mels = spec->n_mels;
    fe->n_bins = n_fft / 2 + 1;

    fe->stft_weights = malloc(n_fft * sizeof *fe->stft_weights);
    fe->mel = calloc(n_mels * fe->n_bins, sizeof *fe->mel);
    fe->band_first = malloc(n_mels * sizeof *fe->band_first);
    fe->band_len = malloc(n_mels * sizeof *fe->band_len);
    fe->ring = calloc(n_fft, sizeof *fe->ring);
    fe->power = malloc(fe->n_bins * sizeof *fe->power);
    fe->frame = malloc(n_mels * sizeof *fe->frame);
    fe->fft_in = fftwf_malloc(n_fft * sizeof *fe->fft_in);
    fe->fft_out = fftwf_malloc(fe->n_bins * sizeof *fe->fft_out);
    if (!fe->stft_weights || !fe->mel || !fe->band_first || !fe->band_len || !fe->ring ||
        !fe->power || !fe->frame || !fe->fft_in || !fe->fft_out) {
        genre_set_error(err, errlen, "front-end: out of memory");
        genre_frontend_del(fe);
        return NULL;
    }
    if (spec->norm_mean) {
        fe->norm_mean = malloc(n_mels * sizeof *fe->norm_mean);
        fe->norm_std = malloc(n_mels * sizeof *fe->norm_std);
        fe->norm_inv_std = malloc(n_mels * sizeof *fe->norm_inv_std);
        if (!fe->norm_mean || !fe->norm_std || !fe->norm_inv_std) {
            genre_set_error(err, errlen, "front-end: out of memory");
            genre_frontend_del(fe);
            return NULL;
        }
        for (size_t b = 0; b < n_mels; b++) {
            fe->norm_mean[b] = spec->norm_mean[b];
            fe->norm_std[b] = spec->norm_std[b];
            /* A multiply per band instead of a divide. */
            fe->norm_inv_std[b] = 1.0f / spec->norm_std[b];
        }
        /* The spec we hand back points at our own copies, not the caller's. */
        fe->spec.norm_mean = fe->norm_mean;
        fe->spec.norm_std = fe->norm_std;
    }
    for (size_t n = 0; n < n_fft; n++)
        fe->stft_weights[n] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * (double)n / (double)n_fft));
    if (build_filterbank(fe, err, errlen) != 0) {
        genre_frontend_del(fe);
        return NULL;
    }
    /* FFTW_ESTIMATE: no timing measurements, so creation is fast and the
     * same plan (and the same rounding) is chosen on every run. */
    fe->plan = fftwf_plan_dft_r2c_1d((int)n_fft, fe->fft_in, fe->fft_out, FFTW_ESTIMATE);
    if (!fe->plan) {
        genre_set_error(err, errlen, "front-end: FFTW could not plan a %zu-point real FFT", n_fft);
        genre_frontend_del(fe);
        return NULL;
    }
    return fe;
}

/* One frame from the full ring: window, FFT, power, sparse mel product, log,
 * optional normalisation. */
static void compute_frame(genre_frontend *fe)
{
    const size_t n_fft = fe->spec.n_fft, n_bins = fe->n_bins;
    for (size_t n = 0; n < n_fft; n++)
        fe->fft_in[n] = fe->ring[n] * fe->stft_weights[n];
    fftwf_execute(fe->plan);
    for (size_t k = 0; k < n_bins; k++) {
        const float re = fe->fft_out[k][0], im = fe->fft_out[k][1];
        fe->power[k] = re * re + im * im;
    }
    const float offset = fe->spec.log_offset;
    for (uint32_t b = 0; b < fe->spec.n_mels; b++) {
        const uint32_t first = fe->band_first[b];
        const float *w = fe->mel + (size_t)b * n_bins + first;
        const float *p = fe->power + first;
        float e = 0.0f;
        for (uint32_t i = 0; i < fe->band_len[b]; i++)
            e += w[i] * p[i];
        fe->frame[b] = logf(e + offset);
    }
    if (fe->norm_mean)
        for (uint32_t b = 0; b < fe->spec.n_mels; b++)
            fe->frame[b] = (fe->frame[b] - fe->norm_mean[b]) * fe->norm_inv_std[b];
}

int genre_frontend_push(genre_frontend *fe, const float *samples, size_t n,
                        genre_frame_sink sink, void *user)
{
    if (!fe || !sink || (n > 0 && !samples))
        return -1;
    const size_t n_fft = fe->spec.n_fft, hop = fe->spec.hop;
    while (n > 0) {
        size_t take = n_fft - fe->fill;
        if (take > n)
            take = n;
        memcpy(fe->ring + fe->fill, samples, take * sizeof *samples);
        fe->fill += take;
        samples += take;
        n -= take;
        if (fe->fill < n_fft)
            break;
        compute_frame(fe);
        /* Slide by one hop before calling the sink, so that a sink that
         * stops us leaves the front-end ready for the next push. */
        memmove(fe->ring, fe->ring + hop, (n_fft - hop) * sizeof *fe->ring);
        fe->fill = n_fft - hop;
        int rc = sink(user, fe->frame);
        if (rc)
            return rc;
    }
    return 0;
}

void genre_frontend_reset(genre_frontend *fe)
{
    if (fe)
        fe->fill = 0;
}

const float *genre_frontend_mel_matrix(const genre_frontend *fe)
{
    return fe ? fe->mel : NULL;
}

const genre_frontend_spec *genre_frontend_get_spec(const genre_frontend *fe)
{
    return fe ? &fe->spec : NULL;
}

void genre_frontend_del(genre_frontend *fe)
{
    if (!fe)
        return;
    if (fe->plan)
        fftwf_destroy_plan(fe->plan);
    fftwf_free(fe->fft_in);
    fftwf_free(fe->fft_out);
    free(fe->stft_weights);
    free(fe->mel);
    free(fe->band_first);
    free(fe->band_len);
    free(fe->norm_mean);
    free(fe->norm_std);
    free(fe->norm_inv_std);
    free(fe->ring);
    free(fe->power);
    free(fe->frame);
    free(fe);
}
