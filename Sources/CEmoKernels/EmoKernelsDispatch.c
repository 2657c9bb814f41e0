/* Picks the kernel path once per process (CEmoKernels.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "CEmoBLAS.h"
#include "CEmoKernels.h"

extern const EmoKernelTable emo_kernel_table_portable;
#if defined(__x86_64__)
extern const EmoKernelTable emo_kernel_table_avx2;
extern const EmoKernelTable emo_kernel_table_avx512;
#endif

const EmoKernelTable *emo_kernels_portable(void) { return &emo_kernel_table_portable; }

/* The CPU's features as the BLAS core choice reads them (CEmoBLAS: CPUID, and XGETBV for what the OS saves), so
   the elementwise path and the BLAS kernel are decided from the same facts. */
static int has_avx2_fma(const EmoCpuFeatures *f) { return f->avx2 && f->fma && f->os_ymm; }

const EmoKernelTable *emo_kernels_avx2(void) {
#if defined(__x86_64__)
    EmoCpuFeatures f;
    emo_cpu_detect(&f);
    if (has_avx2_fma(&f)) return &emo_kernel_table_avx2;
#endif
    return NULL;
}

const EmoKernelTable *emo_kernels_avx512(void) {
#if defined(__x86_64__)
    EmoCpuFeatures f;
    emo_cpu_detect(&f);
    if (has_avx2_fma(&f) && f.avx512f && f.avx512vl && f.avx512bw && f.avx512dq && f.os_zmm)
        return &emo_kernel_table_avx512;
#endif
    return NULL;
}

/* The choice, made by the first caller (racing first callers compute the same answer). */
static _Atomic(const EmoKernelTable *) active = NULL;

const EmoKernelTable *emo_kernels(void) {
    const EmoKernelTable *table = atomic_load_explicit(&active, memory_order_acquire);
    if (table) return table;
    const char *off = getenv("EMOKIT_NO_AVX2");
    int forced = off != NULL && off[0] != '\0' && strcmp(off, "0") != 0;
    const char *no512 = getenv("EMOKIT_NO_AVX512");
    int forced256 = no512 != NULL && no512[0] != '\0' && strcmp(no512, "0") != 0;
    table = (forced || forced256) ? NULL : emo_kernels_avx512();
    if (!table && !forced) table = emo_kernels_avx2();
    if (!table) table = emo_kernels_portable();
    atomic_store_explicit(&active, table, memory_order_release);
    return table;
}
