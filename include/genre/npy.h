/* Writing NumPy .npy files (format version 1.0): float32, C order, any
 * number of dimensions.  Used by genre-features and the tests. */
#ifndef GENRE_NPY_H
#define GENRE_NPY_H

#include <stddef.h>
#include <stdio.h>

/* Write header + data to an open stream.  0, or -1 with a reason in err. */
int genre_npy_write_f32(FILE *out, const float *data, const size_t *shape, size_t ndim,
                        char *err, size_t errlen);
/* Same to a path: written to "<path>.tmp" and renamed, so a reader never
 * sees a partial file. */
int genre_npy_save_f32(const char *path, const float *data, const size_t *shape, size_t ndim,
                       char *err, size_t errlen);

#endif
