/* The convolution micro-kernels in portable C: GCC's generic 4-float
 * vectors, which become SSE on any x86-64 and NEON on arm64.  The product
 * and the sum are rounded separately (no FMA is assumed). */
#include <stddef.h>

typedef float genre_v4 __attribute__((vector_size(16)));

static inline genre_v4 v4_splat(float x)
{
    return (genre_v4){x, x, x, x};
}

typedef int genre_v4i __attribute__((vector_size(16)));

/* v > 0 ? v : 0 per lane, NaN -> 0: the comparison's all-ones lanes keep v. */
static inline genre_v4 v4_relu(genre_v4 v)
{
    genre_v4i keep = v > (genre_v4){0.0f, 0.0f, 0.0f, 0.0f};
    return (genre_v4)((genre_v4i)v & keep);
}

static inline void v4_store_first(float *p, genre_v4 v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = v[i];
}

#define VEC genre_v4
#define LANES 4
#define VZERO() ((genre_v4){0.0f, 0.0f, 0.0f, 0.0f})
#define VLOAD(p) (*(const genre_v4 *)(p))
#define VSTORE(p, v) (*(genre_v4 *)(p) = (v))
#define VBCAST(x) v4_splat(x)
#define VFMA(a, b, acc) ((a) * (b) + (acc))
#define VRELU(v) v4_relu(v)
#define VSTOREU(p, v) __builtin_memcpy((p), &(v), sizeof(genre_v4))
#define VSTOREN(p, v, n) v4_store_first((p), (v), (n))
#define MR1 8
#define MR2 6
#define MR3 4
#define KERNELS genre_convk_portable
#include "conv_kernel_body.h"
