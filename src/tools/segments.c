/* Window -> segment merging; the time rule is explained in segments.h. */
#include "segments.h"

#include <math.h>
#include <stdio.h>

#include "genre/rank.h"

static int window_label(const float *p, size_t n_labels, bool silent)
{
    if (silent)
        return SEGMENT_SILENCE;
    return (int)genre_argmax(p, n_labels);
}

/* Where window w's stretch ends: halfway between its centre and the next
 * window's, or the file's end after the last window. */
static double stretch_end(const double *spans, size_t n_windows, size_t w, double end_of_file)
{
    if (w + 1 == n_windows)
        return end_of_file;
    double centre = 0.5 * (spans[2 * w] + spans[2 * w + 1]);
    double next = 0.5 * (spans[2 * w + 2] + spans[2 * w + 3]);
    return 0.5 * (centre + next);
}

size_t segments_merge(const double *spans, const float *probs, const bool *silent,
                      size_t n_windows, size_t n_labels, double duration, segment *out)
{
    if (n_windows == 0 || n_labels == 0)
        return 0;
    /* A window may reach past the decoded audio (a padded clip's does not,
     * but a caller's spans might): the segments still cover every window. */
    double end_of_file = duration;
    if (spans[2 * n_windows - 1] > end_of_file)
        end_of_file = spans[2 * n_windows - 1];
    size_t n = 0;
    double start = 0;
    for (size_t w = 0; w < n_windows; w++) {
        int label = window_label(probs + w * n_labels, n_labels, silent[w]);
        if (n == 0 || out[n - 1].label != label) {
            out[n++] = (segment){.start = start, .label = label, .first_window = w};
        }
        segment *s = &out[n - 1];
        s->n_windows++;
        /* Summed here, divided once the segment is complete. */
        if (label != SEGMENT_SILENCE)
            s->confidence += probs[w * n_labels + (size_t)label];
        start = stretch_end(spans, n_windows, w, end_of_file);
        s->end = start;
    }
    for (size_t i = 0; i < n; i++)
        out[i].confidence /= (double)out[i].n_windows;
    return n;
}

void segments_clock(char *out, size_t size, double seconds)
{
    long t = lround(seconds);
    if (t >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, size, "%ld:%02ld", t / 60, t % 60);
}
