/* The convolution micro-kernels for AVX-512F (this file alone is compiled
 * with -mavx512f; conv_kernel.c calls it only when the CPU has it). */
#include <immintrin.h>

#define VEC __m512
#define LANES 16
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_load_ps(p)
#define VSTORE(p, v) _mm512_store_ps((p), (v))
#define VBCAST(x) _mm512_set1_ps(x)
#define VFMA(a, b, acc) _mm512_fmadd_ps((a), (b), (acc))
#define VRELU(v) _mm512_max_ps((v), _mm512_setzero_ps())
#define VSTOREU(p, v) _mm512_storeu_ps((p), (v))
#define VSTOREN(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1), (v))
#define MR1 8
#define MR2 8
#define MR3 8
#define KERNELS genre_convk_avx512
#include "conv_kernel_body.h"
