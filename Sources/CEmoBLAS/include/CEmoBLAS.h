/*
 * CEmoBLAS.h — EmoKit's binding to the system BLAS: it chooses OpenBLAS's CPU kernel for the machine it runs
 * on, then loads the library, so every sgemm in the process runs the fastest kernel the CPU supports.
 *
 * Usage (Swift callers go through EmoTensor's `BLASInfo` and `Kernels.sgemm`; C callers look like this):
 *
 *     char err[512];
 *     if (emo_blas_load(err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); exit(1); }  // optional: lazy too
 *     emo_blas_sgemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);   // C[M,N] = A[M,K] · B[N,K]ᵀ, row-major
 *     const EmoBlasInfo *info = emo_blas_info();                      // which library, which core, and why
 *
 * Why it exists. OpenBLAS (Debian 12 ships 0.3.21, built with DYNAMIC_ARCH) picks its kernel in a load-time
 * constructor, from the CPU's vendor/family/model table. A CPU newer than that table (a family 6 model 207
 * Xeon, say) falls back to `Prescott`: SSE3 kernels, 2.5-4.5x slower on a transformer's GEMMs than the AVX-512
 * `SkylakeX` kernels the same CPU runs correctly. The table is the only input OpenBLAS reads besides the
 * environment variable OPENBLAS_CORETYPE, which it reads in that same constructor. So EmoKit does not link
 * OpenBLAS at build time; on first use it
 *   1. reads the CPU's feature flags (CPUID, and XGETBV for what the OS saves on a context switch),
 *   2. chooses a core from them (emo_blas_choose_core: the widest vector ISA OpenBLAS has kernels for),
 *   3. unless the user set OPENBLAS_CORETYPE (their choice always wins) or EMOKIT_BLAS_CORE=openblas (leave it
 *      to OpenBLAS's own detection), sets OPENBLAS_CORETYPE for the duration of dlopen and restores the
 *      environment right after (child processes see the user's environment, not EmoKit's choice),
 *   4. dlopens the library (EMOKIT_BLAS_LIBRARY if set, else libopenblas.so.0) RTLD_NOW | RTLD_LOCAL and
 *      resolves the symbols below. The first caller in the process decides; a library already loaded by
 *      someone else is used as it is, and the info says so.
 * Any CBLAS library works through EMOKIT_BLAS_LIBRARY (BLIS's libblis.so.4, say); the OpenBLAS-only calls
 * (core name, thread count) then report "n/a" and do nothing.
 *
 * Thread safety: loading happens once (pthread_once). The environment is modified only during that call;
 * call emo_blas_load() early in main, before other threads start, as the `emo` command does.
 *
 * Pointers: every matrix pointer is caller-owned and only read/written during the call. Strings returned in
 * EmoBlasInfo are owned by this library and live for the process.
 */
#ifndef CEMOBLAS_H
#define CEMOBLAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The CPU facts the core choice reads. Filled by emo_cpu_detect(); tests build their own. */
typedef struct EmoCpuFeatures {
    char vendor[16];   /* CPUID leaf 0 vendor string ("GenuineIntel", "AuthenticAMD", ...), "" off x86-64 */
    int family;        /* display family (base + extended) */
    int model;         /* display model (base + extended << 4) */
    int sse3, ssse3, sse4_2, avx, avx2, fma;
    int avx512f, avx512cd, avx512bw, avx512dq, avx512vl, avx512_bf16;
    int os_ymm;        /* XCR0 says the OS saves YMM state (AVX usable) */
    int os_zmm;        /* XCR0 says the OS saves opmask + ZMM state (AVX-512 usable) */
} EmoCpuFeatures;

/* Reads this CPU's features (all zero off x86-64). */
void emo_cpu_detect(EmoCpuFeatures *_Nonnull out);

/* The OpenBLAS core (an OPENBLAS_CORETYPE value) for these features, or NULL for "let OpenBLAS decide"
   (no AVX usable). AVX-512 F/CD/BW/DQ/VL with ZMM state: "SkylakeX" (Cooperlake's sgemm is the same kernel);
   AVX2 + FMA with YMM state: "Zen" on AMD, else "Haswell"; AVX with YMM state: "SandyBridge". Pure function. */
const char *_Nullable emo_blas_choose_core(const EmoCpuFeatures *_Nonnull features);

/* Writes the flags emo_blas_choose_core reads, space-separated ("avx2 fma avx512f ... os-zmm"), into buf. */
void emo_cpu_flags_string(const EmoCpuFeatures *_Nonnull features, char *_Nonnull buf, size_t len);

/* Where the core OpenBLAS runs came from. */
typedef enum EmoBlasCoreSource {
    EMO_BLAS_CORE_CHOSEN = 0,       /* EmoKit chose it from the CPU flags and set it for the load */
    EMO_BLAS_CORE_USER = 1,         /* the user's OPENBLAS_CORETYPE, respected as it was */
    EMO_BLAS_CORE_OPENBLAS = 2,     /* OpenBLAS's own detection (EMOKIT_BLAS_CORE=openblas, or no AVX) */
    EMO_BLAS_CORE_PRELOADED = 3,    /* the library was already in the process (loaded by someone other than an
                                       EmoKit copy whose choice the running core matches) */
    EMO_BLAS_CORE_NOT_OPENBLAS = 4, /* EMOKIT_BLAS_LIBRARY named a CBLAS without OpenBLAS's extensions */
} EmoBlasCoreSource;

/* What was loaded and why. */
typedef struct EmoBlasInfo {
    int loaded;                      /* 1 when the library and cblas_sgemm/cgemm resolved */
    const char *_Nonnull library;    /* the path or soname given to dlopen */
    const char *_Nonnull core;       /* openblas_get_corename() after loading, or "n/a" */
    const char *_Nonnull chosen;     /* what emo_blas_choose_core said for this CPU ("none" for NULL) */
    EmoBlasCoreSource source;
    const char *_Nonnull source_text;/* the source in words ("chosen from CPU flags", "OPENBLAS_CORETYPE", ...) */
    const char *_Nonnull config;     /* openblas_get_config(), or "n/a" */
    const char *_Nonnull cpu;        /* "GenuineIntel family 6 model 207" */
    const char *_Nonnull flags;      /* emo_cpu_flags_string of this CPU */
    const char *_Nonnull error;      /* why loading failed ("" when loaded) */
} EmoBlasInfo;

/* Loads the BLAS once per process (later calls return the first result). Returns 0 on success; otherwise
   writes a message naming the library and what to install into err (when non-NULL) and returns -1. */
int emo_blas_load(char *_Nullable err, size_t errlen);

/* The load's outcome (loads first if nothing has). */
const EmoBlasInfo *_Nonnull emo_blas_info(void);

/* C[m,n] = alpha · op(A) · op(B) + beta · C, row-major; op(X) = Xᵀ when trans_x != 0. Loads on first use; if the
   BLAS cannot be loaded, prints why to stderr and aborts (there is no way to compute without one). */
void emo_blas_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *_Nonnull a, int lda,
                    const float *_Nonnull b, int ldb, float beta, float *_Nonnull c, int ldc);

/* Complex single-precision GEMM, row-major, interleaved (re, im) pairs; trans_b: 0 none, 1 transpose,
   2 conjugate transpose. alpha and beta point at one (re, im) pair each. */
void emo_blas_cgemm(int trans_a, int trans_b, int m, int n, int k, const float *_Nonnull alpha,
                    const float *_Nonnull a, int lda, const float *_Nonnull b, int ldb, const float *_Nonnull beta,
                    float *_Nonnull c, int ldc);

/* OpenBLAS's thread count (1 for a BLAS without openblas_get_num_threads). */
int emo_blas_get_num_threads(void);

/* Sets OpenBLAS's thread count, process-wide (no effect on a BLAS without openblas_set_num_threads). */
void emo_blas_set_num_threads(int n);

#ifdef __cplusplus
}
#endif

#endif /* CEMOBLAS_H */
