/* Segments: a file's analysis windows merged into labelled, non-overlapping
 * time ranges (genre-classify --segments and --plot).
 *
 * Windows overlap when the hop is shorter than the window, so a window's
 * own span cannot be a segment's.  Instead each window owns the stretch of
 * the file nearer to its centre than to any other window's centre: the
 * boundary between two consecutive windows is halfway between their
 * centres, the first window's stretch starts at 0 and the last one's ends
 * at the file's end.  With hop < window each window thus owns the hop-long
 * stretch at its centre; with hop > window the gaps between windows are
 * shared by their neighbours; a padded clip's one window owns the whole
 * clip.  Consecutive windows with the same genre form one segment, and so
 * do consecutive silent windows (a silence segment, no genre).
 *
 * segments_merge is pure: no allocation, no I/O; the caller provides room for n_windows
 * segments (there are never more). */
#ifndef GENRE_TOOLS_SEGMENTS_H
#define GENRE_TOOLS_SEGMENTS_H

#include <stdbool.h>
#include <stddef.h>

/* The label of a silence segment. */
#define SEGMENT_SILENCE (-1)

typedef struct segment {
    double start, end;          /* seconds, non-overlapping, covering [0, duration] */
    int label;                  /* index into the model's labels, or SEGMENT_SILENCE */
    double confidence;          /* mean over its windows of their probability of label; 0 for silence */
    size_t first_window, n_windows;
} segment;

/* Merges n_windows windows: spans[2w], spans[2w+1] their start and end
 * (seconds, in increasing order of start), probs[w * n_labels + k] their
 * probabilities, silent[w] whether window w is silent.  duration is the
 * file's length (the last segment ends there, or at the last window's end
 * if that is later).  Writes the segments to out (room for n_windows) and
 * returns how many; 0 when there are no windows or labels. */
size_t segments_merge(const double *spans, const float *probs, const bool *silent,
                      size_t n_windows, size_t n_labels, double duration, segment *out);

/* Seconds as m:ss (h:mm:ss from an hour), to the nearest second: a
 * segment's boundaries are only as exact as the hop.  For tables and the
 * plot's time axis. */
void segments_clock(char *out, size_t size, double seconds);

#endif
