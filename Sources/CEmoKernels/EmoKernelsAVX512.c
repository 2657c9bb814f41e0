/* The avx512 path: EmoKernelsBody.h compiled for AVX-512 (F, VL, BW, DQ) + FMA (x86-64 only; emo_kernels() uses it
   only on a CPU that has them and an OS that saves ZMM state). The 8-lane code is the avx2-fma path's with EVEX
   encodings; the 32-lane loops (GELU and its fused forms, softmax's exp pass) run on two ZMM registers instead of
   four YMM. Every lane computes the same expressions in the same order, so results equal avx2-fma's bit for bit
   (tested). */
#if defined(__x86_64__)
#define EMO_TARGET __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")))
#define EMO_TABLE emo_kernel_table_avx512
#define EMO_PATH_NAME "avx512"
#include "EmoKernelsBody.h"
#endif
