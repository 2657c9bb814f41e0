/*
 * CEmoKernels.h — the elementwise and row kernels of EmoModels' dense inference (GELU and its fused forms,
 * softmax, layer norm, column norm, add), in C so that x86-64 machines with AVX2 + FMA run them 8 lanes wide
 * with fused multiply-adds while the package still builds for any x86-64 (and for aarch64).
 *
 * Three paths, one source (EmoKernelsBody.h, compiled three times):
 *   - "avx512": x86-64 only, target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq"); the 32-lane loops on two ZMM
 *     registers; bit-identical to avx2-fma. Picked when the CPU and OS support it (EMOKIT_NO_AVX512=1: not).
 *   - "avx2-fma": x86-64 only, compiled with __attribute__((target("avx2,fma"))); picked at run time when the
 *     CPU has both and the OS saves YMM state (emo_cpu_detect, the facts the BLAS core choice reads).
 *   - "portable": the same code for the package's default target (SSE2 on x86-64, NEON on aarch64).
 * emo_kernels() picks once per process; EMOKIT_NO_AVX2=1 in the environment forces the portable path.
 * (The wider path pays on the long elementwise loops: see docs/numerics.md for the measurement.)
 *
 * The math is EmoTensor's (Sources/EmoTensor/Kernels/Kernels+VectorMath.swift), ported operation by operation:
 * exp is the Cephes expf polynomial (1.5·2²³ rounding trick, ln 2 in two parts), erf is Abramowitz–Stegun 7.1.26
 * (the form PyTorch's vectorised CPU erf uses), GELU the exact form x/2 (1 + erf(x/√2)). The avx2-fma path
 * contracts a·b + c into one rounding where the source writes it so; results of the two paths may differ in
 * the last bits, both within the bounds the tests state.
 *
 * Memory: every pointer is caller-owned, row-major, unaligned allowed; nothing is allocated or kept.
 * Counts are in floats. Non-finite inputs behave as the Swift kernels they replace (see each field).
 */
#ifndef CEMOKERNELS_H
#define CEMOKERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One instruction-set path's kernels. */
typedef struct EmoKernelTable {
    /* "avx2-fma" or "portable". */
    const char *_Nonnull name;
    /* y[i] = gelu(x[i]), i < n; y may be x. gelu(+inf) = +inf, gelu(-inf) = NaN, NaN stays NaN. */
    void (*_Nonnull gelu)(const float *_Nonnull x, float *_Nonnull y, size_t n);
    /* h[i] += gelu(z[i]), i < n (z unchanged; must not overlap h). */
    void (*_Nonnull add_gelu)(const float *_Nonnull z, float *_Nonnull h, size_t n);
    /* y[r, c] = gelu(xhat[r, c] * gamma[c] + beta[c]) over [rows, cols] (row stride cols); y may be xhat. */
    void (*_Nonnull affine_gelu)(const float *_Nonnull xhat, size_t rows, size_t cols, const float *_Nonnull gamma,
                                 const float *_Nonnull beta, float *_Nonnull y);
    /* y[r, c] = gelu((x[r, c] - center[c]) * scale[c] + shift[c]) over [rows, cols]: a norm with known statistics,
       its affine step and GELU in one pass; y may be x. */
    void (*_Nonnull centered_affine_gelu)(const float *_Nonnull x, size_t rows, size_t cols,
                                          const float *_Nonnull center, const float *_Nonnull scale,
                                          const float *_Nonnull shift, float *_Nonnull y);
    /* Softmax of one row of n values in place, max-subtracted. NaN values are skipped by the max and make the
       whole row NaN; a row containing +inf, or made only of -inf, becomes NaN (as Dense.softmax in Swift). */
    void (*_Nonnull softmax)(float *_Nonnull x, size_t n);
    /* Layer norm of each of `rows` rows of width n (biased variance, as PyTorch):
       xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps), y = xhat * gamma + beta.
       xhat_out ([rows, n]), mean_out and rstd_out ([rows] each) are written when non-NULL. x, y and xhat_out
       may alias. */
    void (*_Nonnull layer_norm)(const float *_Nonnull x, size_t rows, size_t n, const float *_Nonnull gamma,
                                const float *_Nonnull beta, float eps, float *_Nonnull y, float *_Nullable xhat_out,
                                float *_Nullable mean_out, float *_Nullable rstd_out);
    /* Per-column mean[cols] and sum of squared deviations m2[cols] of x (row stride ld ≥ cols, `rows` rows ≥ 1),
       two passes (mean first), x unchanged. */
    void (*_Nonnull column_moments)(const float *_Nonnull x, size_t rows, size_t cols, size_t ld,
                                    float *_Nonnull mean, float *_Nonnull m2);
    /* Normalises each of `cols` columns of x (row stride ld ≥ cols, `rows` rows) over its rows in place:
       x = (x - mean) * rstd, then * gamma[c] + beta[c] when gamma and beta are non-NULL (both or neither).
       mean[cols] and rstd[cols] (1 / sqrt(var + eps), biased) are written (also used as accumulators). */
    void (*_Nonnull column_normalize)(float *_Nonnull x, size_t rows, size_t cols, size_t ld,
                                      const float *_Nullable gamma, const float *_Nullable beta, float eps,
                                      float *_Nonnull mean, float *_Nonnull rstd);
    /* y[i] += x[i], i < n. */
    void (*_Nonnull add)(const float *_Nonnull x, float *_Nonnull y, size_t n);
} EmoKernelTable;

/* The path this process uses: avx512 when the CPU (and OS) has AVX-512 F/VL/BW/DQ and neither EMOKIT_NO_AVX512 nor
   EMOKIT_NO_AVX2 is set (to anything but "0"); else avx2-fma when the CPU has AVX2 and FMA and EMOKIT_NO_AVX2 is
   unset; else portable. Chosen on the first call; thread-safe. Never NULL. */
const EmoKernelTable *_Nonnull emo_kernels(void);

/* The portable path (always available). */
const EmoKernelTable *_Nonnull emo_kernels_portable(void);

/* The avx2-fma path, or NULL when this is not x86-64 or the CPU lacks AVX2 or FMA (ignores EMOKIT_NO_AVX2). */
const EmoKernelTable *_Nullable emo_kernels_avx2(void);

/* The avx512 path (bit-identical to avx2-fma), or NULL when this is not x86-64 or the CPU or OS lacks AVX-512
   F/VL/BW/DQ (ignores the environment). */
const EmoKernelTable *_Nullable emo_kernels_avx512(void);

#ifdef __cplusplus
}
#endif

#endif /* CEMOKERNELS_H */
