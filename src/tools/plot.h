/* genre-classify --plot: one file's timeline as a picture (cairo): every
 * genre's probability over time (a line per genre, at each window's
 * centre), the chosen genre of each segment as a coloured band along the
 * time axis (silence grey), m:ss ticks, a legend, and a title with the
 * file's and the model's names.  SVG or PNG, by the file name's ending.
 *
 * The file is opened when the plot is (plot_open), before any audio is
 * read, so an unwritable path costs no work; it is removed again if
 * nothing is drawn (plot_discard) or drawing fails. */
#ifndef GENRE_TOOLS_PLOT_H
#define GENRE_TOOLS_PLOT_H

#include "segments.h"

#include <stddef.h>

typedef enum plot_format { PLOT_NONE, PLOT_SVG, PLOT_PNG } plot_format;

/* PLOT_SVG for a name ending in .svg, PLOT_PNG for .png (any case), else
 * PLOT_NONE. */
plot_format plot_format_of(const char *path);

typedef struct plot plot;

/* Creates (truncates) path for writing; NULL with a message in err when
 * it cannot, or when its name ends in neither .svg nor .png. */
plot *plot_open(const char *path, char *err, size_t errlen);

/* What to draw: windows as in segments_merge, their segments. */
typedef struct plot_data {
    const char *file_name, *model_name;     /* for the title */
    const char *const *labels;
    size_t n_labels;
    const double *spans;                    /* n_windows x (start, end) seconds */
    const float *probs;                     /* n_windows x n_labels */
    size_t n_windows;
    const segment *segments;
    size_t n_segments;
    double duration;                        /* seconds: the time axis */
} plot_data;

/* Draws d, writes and closes the file and frees p; -1 with a message in
 * err (the file is removed) when it fails. */
int plot_write(plot *p, const plot_data *d, char *err, size_t errlen);

/* Closes and removes the file, frees p (NULL: nothing). */
void plot_discard(plot *p);

#endif
