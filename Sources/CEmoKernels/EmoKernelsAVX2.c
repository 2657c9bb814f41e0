/* The avx2-fma path: EmoKernelsBody.h compiled for AVX2 + FMA (x86-64 only; emo_kernels() uses it only on a CPU
   that has both). */
#if defined(__x86_64__)
#define EMO_TARGET __attribute__((target("avx2,fma")))
#define EMO_TABLE emo_kernel_table_avx2
#define EMO_PATH_NAME "avx2-fma"
#include "EmoKernelsBody.h"
#endif
