/* segments_merge (src/tools/segments.c): windows -> non-overlapping
 * labelled time ranges.  One window, a padded clip, all silent, alternating
 * genres, silence inside music, hop longer than the window, and the
 * confidence as the mean of the windows' probability of the genre. */
#include "check.h"

#include "segments.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

enum { L = 3 };   /* labels */

/* Windows of `window` seconds every `hop` seconds. */
static void make_spans(double *spans, size_t n, double hop, double window)
{
    for (size_t w = 0; w < n; w++) {
        spans[2 * w] = w * hop;
        spans[2 * w + 1] = w * hop + window;
    }
}

/* Window w's probabilities: `top` for label, the rest shared. */
static void set_probs(float *probs, size_t w, int label, float top)
{
    for (int k = 0; k < L; k++)
        probs[w * L + (size_t)k] = k == label ? top : (1 - top) / (L - 1);
}

int main(void)
{
    double spans[2 * 8] = {0};
    float probs[8 * L] = {0};
    bool silent[8] = {false};
    segment seg[8];

    /* No windows: no segments. */
    CHECK(segments_merge(spans, probs, silent, 0, L, 12.0, seg) == 0);

    /* One window of a 12-s file: one segment over the whole file. */
    make_spans(spans, 1, 5, 10);
    set_probs(probs, 0, 2, 0.7f);
    size_t n = segments_merge(spans, probs, silent, 1, L, 12.0, seg);
    CHECK(n == 1);
    CHECK_MSG(n == 1 && NEAR(seg[0].start, 0) && NEAR(seg[0].end, 12.0) && seg[0].label == 2,
              "one window: %g..%g label %d", seg[0].start, seg[0].end, seg[0].label);
    CHECK(n == 1 && fabs(seg[0].confidence - 0.7) < 1e-6 && seg[0].n_windows == 1);

    /* A padded clip: its one window spans the whole 4.2-s clip. */
    spans[0] = 0;
    spans[1] = 4.2;
    n = segments_merge(spans, probs, silent, 1, L, 4.2, seg);
    CHECK(n == 1 && NEAR(seg[0].end, 4.2));

    /* All silent (4 windows, 10 s every 5 s, a 27-s file): one silence
     * segment covering the file, without confidence. */
    make_spans(spans, 4, 5, 10);
    for (size_t w = 0; w < 4; w++) {
        set_probs(probs, w, (int)w % L, 0.9f);
        silent[w] = true;
    }
    n = segments_merge(spans, probs, silent, 4, L, 27.0, seg);
    CHECK(n == 1 && seg[0].label == SEGMENT_SILENCE && seg[0].n_windows == 4);
    CHECK(n == 1 && NEAR(seg[0].start, 0) && NEAR(seg[0].end, 27.0) && seg[0].confidence == 0);

    /* Alternating genres 0 1 0 1: four segments; each inner boundary is
     * halfway between the centres (5, 10, 15, 20): 7.5, 12.5, 17.5; each
     * window owns the hop-long stretch at its centre. */
    for (size_t w = 0; w < 4; w++) {
        set_probs(probs, w, (int)(w % 2), 0.6f + 0.1f * (float)w);
        silent[w] = false;
    }
    n = segments_merge(spans, probs, silent, 4, L, 25.0, seg);
    CHECK_MSG(n == 4, "alternating: %zu segments", n);
    double bounds[] = {0, 7.5, 12.5, 17.5, 25.0};
    for (size_t i = 0; i < n && i < 4; i++) {
        CHECK_MSG(NEAR(seg[i].start, bounds[i]) && NEAR(seg[i].end, bounds[i + 1]),
                  "alternating segment %zu: %g..%g", i, seg[i].start, seg[i].end);
        CHECK(seg[i].label == (int)(i % 2) && seg[i].first_window == i && seg[i].n_windows == 1);
        if (i > 0)
            CHECK(NEAR(seg[i].start, seg[i - 1].end));
    }

    /* Genre 1, 1, silence, 1, 0, 0: silence splits the genre; confidence
     * is the mean of the windows' probability of the segment's genre. */
    make_spans(spans, 6, 5, 10);
    const int labels[6] = {1, 1, -1, 1, 0, 0};
    const float tops[6] = {0.5f, 0.9f, 0.4f, 0.8f, 0.6f, 0.4f};
    for (size_t w = 0; w < 6; w++) {
        set_probs(probs, w, labels[w] < 0 ? 2 : labels[w], tops[w]);
        silent[w] = labels[w] < 0;
    }
    n = segments_merge(spans, probs, silent, 6, L, 35.0, seg);
    CHECK_MSG(n == 4, "silence inside music: %zu segments", n);
    if (n == 4) {
        CHECK(seg[0].label == 1 && seg[0].n_windows == 2 && fabs(seg[0].confidence - 0.7) < 1e-6);
        CHECK(seg[1].label == SEGMENT_SILENCE && seg[1].first_window == 2);
        CHECK(seg[2].label == 1 && fabs(seg[2].confidence - 0.8) < 1e-6);
        CHECK_MSG(seg[3].label == 0 && fabs(seg[3].confidence - 0.5) < 1e-6,
                  "last segment: label %d confidence %g", seg[3].label, seg[3].confidence);
        CHECK(NEAR(seg[0].end, 12.5) && NEAR(seg[1].end, 17.5) && NEAR(seg[3].end, 35.0));
    }

    /* Hop (20 s) longer than the window (10 s): the gaps go to the nearer
     * centre: centres 5, 25, 45 -> boundaries 15 and 35. */
    make_spans(spans, 3, 20, 10);
    for (size_t w = 0; w < 3; w++) {
        set_probs(probs, w, (int)w, 0.9f);
        silent[w] = false;
    }
    n = segments_merge(spans, probs, silent, 3, L, 52.0, seg);
    CHECK(n == 3 && NEAR(seg[0].end, 15) && NEAR(seg[1].start, 15) && NEAR(seg[1].end, 35)
          && NEAR(seg[2].end, 52));

    /* A window reaching past the stated duration: the last segment covers it. */
    make_spans(spans, 1, 5, 10);
    n = segments_merge(spans, probs, silent, 1, L, 8.0, seg);
    CHECK(n == 1 && NEAR(seg[0].end, 10.0));

    /* Clock times: rounded to the second, hours from an hour. */
    char clock[32];
    segments_clock(clock, sizeof clock, 37.448);
    CHECK_MSG(strcmp(clock, "0:37") == 0, "37.448 s: %s", clock);
    segments_clock(clock, sizeof clock, 72.6);
    CHECK_MSG(strcmp(clock, "1:13") == 0, "72.6 s: %s", clock);
    segments_clock(clock, sizeof clock, 3725.0);
    CHECK_MSG(strcmp(clock, "1:02:05") == 0, "3725 s: %s", clock);

    return check_exit_status("test_segments");
}
