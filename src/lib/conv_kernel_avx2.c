/* The convolution micro-kernels for AVX2 with FMA (this file alone is
 * compiled with -mavx2 -mfma; conv_kernel.c calls it only when the CPU has
 * both). */
#include <immintrin.h>

/* The first n lanes of a vector (n < 8) as _mm256_maskstore_ps wants them. */
static inline __m256i first_lanes(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define VEC __m256
#define LANES 8
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_load_ps(p)
#define VSTORE(p, v) _mm256_store_ps((p), (v))
#define VBCAST(x) _mm256_set1_ps(x)
#define VFMA(a, b, acc) _mm256_fmadd_ps((a), (b), (acc))
#define VRELU(v) _mm256_max_ps((v), _mm256_setzero_ps())
#define VSTOREU(p, v) _mm256_storeu_ps((p), (v))
#define VSTOREN(p, v, n) _mm256_maskstore_ps((p), first_lanes(n), (v))
#define MR1 8
#define MR2 6
#define MR3 4
#define KERNELS genre_convk_avx2
#include "conv_kernel_body.h"
