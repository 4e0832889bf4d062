/* The timeline picture of genre-classify --plot (plot.h). */
#include "plot.h"

#include "genre/error.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Layout in pixels (SVG: points): the chart on the left, the legend on
 * the right, the band and the time axis under the chart. */
#define WIDTH 960.0
#define HEIGHT 440.0
#define LEFT 56.0
#define CHART_RIGHT (WIDTH - 150.0)
#define TOP 44.0
#define CHART_BOTTOM 340.0
#define BAND_TOP 350.0
#define BAND_BOTTOM 372.0
#define MAX_TICKS 10

struct plot {
    FILE *f;
    char *path;
    plot_format format;
};

/* Distinct colours for up to 12 genres (then they repeat), none of them
 * grey, which is silence's. */
static const double PALETTE[][3] = {
    {0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
    {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.74, 0.74, 0.13},
    {0.09, 0.75, 0.81}, {0.22, 0.23, 0.47}, {0.68, 0.78, 0.91}, {1.00, 0.73, 0.47},
};
#define N_PALETTE (sizeof PALETTE / sizeof PALETTE[0])
static const double SILENCE_GREY[3] = {0.78, 0.78, 0.78};

plot_format plot_format_of(const char *path)
{
    size_t n = strlen(path);
    if (n > 4 && strcasecmp(path + n - 4, ".svg") == 0)
        return PLOT_SVG;
    if (n > 4 && strcasecmp(path + n - 4, ".png") == 0)
        return PLOT_PNG;
    return PLOT_NONE;
}

plot *plot_open(const char *path, char *err, size_t errlen)
{
    plot_format format = plot_format_of(path);
    if (format == PLOT_NONE) {
        genre_set_error(err, errlen, "%s: the plot's name must end in .svg or .png", path);
        return NULL;
    }
    plot *p = calloc(1, sizeof *p);
    char *copy = strdup(path);
    if (!p || !copy) {
        free(p);
        free(copy);
        genre_set_error(err, errlen, "out of memory");
        return NULL;
    }
    p->f = fopen(path, "wb");
    if (!p->f) {
        genre_set_error(err, errlen, "%s: %s", path, strerror(errno));
        free(copy);
        free(p);
        return NULL;
    }
    p->path = copy;
    p->format = format;
    return p;
}

void plot_discard(plot *p)
{
    if (!p)
        return;
    fclose(p->f);
    unlink(p->path);
    free(p->path);
    free(p);
}

static void set_colour(cairo_t *cr, int label)
{
    const double *c = label < 0 ? SILENCE_GREY : PALETTE[(size_t)label % N_PALETTE];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
}

static double x_of(const plot_data *d, double t)
{
    double span = d->duration > 0 ? d->duration : 1;
    return LEFT + (CHART_RIGHT - LEFT) * t / span;
}

static double y_of(double probability)
{
    return CHART_BOTTOM - (CHART_BOTTOM - TOP) * probability;
}

/* A round tick step giving at most MAX_TICKS ticks. */
static double tick_step(double duration)
{
    static const double steps[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (duration / steps[i] <= MAX_TICKS)
            return steps[i];
    return ceil(duration / MAX_TICKS / 3600) * 3600;
}

static void draw(cairo_t *cr, const plot_data *d)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

    /* Title. */
    char title[1024];
    snprintf(title, sizeof title, "%s  (model %s)", d->file_name, d->model_name);
    cairo_set_font_size(cr, 15);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, LEFT, 26);
    cairo_show_text(cr, title);

    /* Probability grid: 0, 25, 50, 75, 100 %. */
    cairo_set_font_size(cr, 11);
    cairo_set_line_width(cr, 1);
    for (int q = 0; q <= 4; q++) {
        double y = y_of(q / 4.0);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, LEFT, y);
        cairo_line_to(cr, CHART_RIGHT, y);
        cairo_stroke(cr);
        char text[16];
        snprintf(text, sizeof text, "%d%%", 25 * q);
        cairo_text_extents_t e;
        cairo_text_extents(cr, text, &e);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        cairo_move_to(cr, LEFT - 6 - e.x_advance, y + 4);
        cairo_show_text(cr, text);
    }

    /* One line per genre through the windows' centres (a lone window: a
     * level line across the file). */
    cairo_save(cr);
    cairo_rectangle(cr, LEFT, TOP - 2, CHART_RIGHT - LEFT, CHART_BOTTOM - TOP + 4);
    cairo_clip(cr);
    cairo_set_line_width(cr, 1.8);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (size_t k = 0; k < d->n_labels; k++) {
        for (size_t w = 0; w < d->n_windows; w++) {
            double centre = 0.5 * (d->spans[2 * w] + d->spans[2 * w + 1]);
            double y = y_of(d->probs[w * d->n_labels + k]);
            if (d->n_windows == 1) {
                cairo_move_to(cr, x_of(d, 0), y);
                cairo_line_to(cr, x_of(d, d->duration), y);
            } else if (w == 0) {
                cairo_move_to(cr, x_of(d, centre), y);
            } else {
                cairo_line_to(cr, x_of(d, centre), y);
            }
        }
        set_colour(cr, (int)k);
        cairo_stroke(cr);
    }
    cairo_restore(cr);

    /* The band: each segment's genre, silence grey.  Rectangles touch, so
     * each is filled on its own (no outline blending neighbours). */
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
    for (size_t i = 0; i < d->n_segments; i++) {
        double x0 = x_of(d, d->segments[i].start), x1 = x_of(d, d->segments[i].end);
        cairo_rectangle(cr, x0, BAND_TOP, x1 - x0, BAND_BOTTOM - BAND_TOP);
        set_colour(cr, d->segments[i].label);
        cairo_fill(cr);
    }
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);

    /* Time axis: ticks under the band, labelled m:ss. */
    double step = tick_step(d->duration);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1);
    for (double t = 0; t <= d->duration + 1e-9; t += step) {
        double x = x_of(d, t);
        cairo_move_to(cr, x, BAND_BOTTOM);
        cairo_line_to(cr, x, BAND_BOTTOM + 5);
        cairo_stroke(cr);
        char text[32];
        segments_clock(text, sizeof text, t);
        cairo_text_extents_t e;
        cairo_text_extents(cr, text, &e);
        cairo_move_to(cr, x - e.x_advance / 2, BAND_BOTTOM + 18);
        cairo_show_text(cr, text);
    }
    cairo_move_to(cr, LEFT, HEIGHT - 22);
    cairo_show_text(cr, "time (m:ss); band: the genre of each segment, grey: silence");

    /* Legend: every genre, then silence. */
    cairo_set_font_size(cr, 12);
    double y = TOP + 4;
    for (size_t k = 0; k <= d->n_labels; k++, y += 20) {
        set_colour(cr, k < d->n_labels ? (int)k : SEGMENT_SILENCE);
        cairo_rectangle(cr, CHART_RIGHT + 20, y, 14, 10);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, CHART_RIGHT + 42, y + 10);
        cairo_show_text(cr, k < d->n_labels ? d->labels[k] : "silence");
    }
}

/* The SVG as cairo writes it, collected to add a title and description. */
typedef struct buffer {
    char *data;
    size_t len, cap;
    int failed;
} buffer;

static cairo_status_t to_buffer(void *closure, const unsigned char *data, unsigned int length)
{
    buffer *b = closure;
    if (b->len + length > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 65536;
        while (cap < b->len + length)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return CAIRO_STATUS_NO_MEMORY;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, length);
    b->len += length;
    return CAIRO_STATUS_SUCCESS;
}

static cairo_status_t to_file(void *closure, const unsigned char *data, unsigned int length)
{
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS
                                                      : CAIRO_STATUS_WRITE_ERROR;
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Cairo draws text as glyph outlines, so an SVG would not contain the
 * words it shows: a <title> and <desc> right after the <svg> tag give
 * them to screen readers, search and scripts (the file, the model, the
 * legend's genres, the segments). */
static int write_svg(FILE *f, const buffer *b, const plot_data *d)
{
    const char *svg = b->len ? memmem(b->data, b->len, "<svg", 4) : NULL;
    const char *close = svg ? memchr(svg, '>', b->len - (size_t)(svg - b->data)) : NULL;
    if (!close)
        return -1;
    size_t head = (size_t)(close + 1 - b->data);
    fwrite(b->data, 1, head, f);
    fputs("\n<title>", f);
    xml_text(f, d->file_name);
    fputs(" (model ", f);
    xml_text(f, d->model_name);
    fputs(")</title>\n<desc>legend:", f);
    for (size_t k = 0; k < d->n_labels; k++) {
        fputs(k ? ", " : " ", f);
        xml_text(f, d->labels[k]);
    }
    fputs(", silence; segments:", f);
    for (size_t i = 0; i < d->n_segments; i++) {
        char from[32], to[32];
        segments_clock(from, sizeof from, d->segments[i].start);
        segments_clock(to, sizeof to, d->segments[i].end);
        fprintf(f, "%s %s-%s ", i ? "," : "", from, to);
        int label = d->segments[i].label;
        xml_text(f, label < 0 ? "silence" : d->labels[label]);
    }
    fputs("</desc>", f);
    fwrite(close + 1, 1, b->len - head, f);
    return 0;
}

int plot_write(plot *p, const plot_data *d, char *err, size_t errlen)
{
    buffer svg = {0};
    cairo_surface_t *surface =
        p->format == PLOT_SVG
            ? cairo_svg_surface_create_for_stream(to_buffer, &svg, WIDTH, HEIGHT)
            : cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)WIDTH, (int)HEIGHT);
    cairo_t *cr = cairo_create(surface);
    draw(cr, d);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    if (status == CAIRO_STATUS_SUCCESS && p->format == PLOT_PNG)
        status = cairo_surface_write_to_png_stream(surface, to_file, p->f);
    cairo_surface_finish(surface);   /* an SVG is written out here */
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    /* A run draws one plot: cairo's font caches and fontconfig's
     * configuration are not needed after it.  Released, leak checkers
     * (the ASan build's tests) see only the program's own memory. */
    cairo_debug_reset_static_data();
    FcFini();
    int rc = 0;
    if (status != CAIRO_STATUS_SUCCESS || svg.failed) {
        genre_set_error(err, errlen, "%s: cannot draw the plot: %s", p->path,
                        svg.failed ? "out of memory" : cairo_status_to_string(status));
        rc = -1;
    } else if (p->format == PLOT_SVG && write_svg(p->f, &svg, d) != 0) {
        genre_set_error(err, errlen, "%s: cairo wrote no <svg> element", p->path);
        rc = -1;
    }
    free(svg.data);
    if (rc == 0 && (fflush(p->f) != 0 || ferror(p->f))) {
        genre_set_error(err, errlen, "%s: %s", p->path, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        plot_discard(p);
        return -1;
    }
    if (fclose(p->f) != 0) {
        genre_set_error(err, errlen, "%s: %s", p->path, strerror(errno));
        unlink(p->path);
        rc = -1;
    }
    free(p->path);
    free(p);
    return rc;
}
