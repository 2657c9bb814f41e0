/*
 * EmoKernelsBody.h — the kernels of CEmoKernels.h, written once over 8-lane vectors (clang vector extensions)
 * and compiled once per path: EmoKernelsPortable.c and EmoKernelsAVX2.c each define
 *   EMO_TARGET        the path's function attribute (empty, or target("avx2,fma")),
 *   EMO_TABLE         the name of the table to define,
 *   EMO_PATH_NAME     the table's name string,
 * then include this file. Not a normal header: each inclusion defines the functions (all static) and one table.
 *
 * Every loop walks blocks of 8 floats; the last, partial block is loaded into a padded vector (pad value stated
 * at each load) and only its real lanes are stored, so tails run the same arithmetic as full blocks.
 * FP_CONTRACT ON: a·b + c written in one expression becomes one FMA where the path has FMA.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "CEmoKernels.h"

#pragma STDC FP_CONTRACT ON
// Every helper taking or returning a vector is always_inline, so no 32-byte vector crosses a call in the portable
// path, where clang would otherwise warn that its ABI differs without AVX.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef int32_t v8i __attribute__((vector_size(32), aligned(4)));
typedef uint32_t v8u __attribute__((vector_size(32), aligned(4)));

#define EMO_FN static inline __attribute__((always_inline)) EMO_TARGET

// MARK: - Lanes

EMO_FN v8f splat(float s) { return (v8f){s, s, s, s, s, s, s, s}; }

/* The k ≤ 8 floats at p, the other lanes `pad`. */
EMO_FN v8f load_k(const float *p, size_t k, float pad) {
    v8f v;
    if (k == 8) {
        memcpy(&v, p, sizeof v);
    } else {
        v = splat(pad);
        for (size_t i = 0; i < k; i++) v[i] = p[i];
    }
    return v;
}

/* Stores the first k ≤ 8 lanes of v at p. */
EMO_FN void store_k(float *p, v8f v, size_t k) {
    if (k == 8) {
        memcpy(p, &v, sizeof v);
    } else {
        for (size_t i = 0; i < k; i++) p[i] = v[i];
    }
}

/* Lanes in the block of 8 starting at i of a run of n. */
EMO_FN size_t block_size(size_t i, size_t n) { return n - i < 8 ? n - i : 8; }

EMO_FN float sum8(v8f v) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); }

// MARK: - exp, erf, GELU (Kernels.expInRange8, expNonPositive8, erfAndGaussian8; FastMath.gelu)

/* The math below is written once, as a macro over a vector type, and defined twice: on 8 lanes (one AVX register)
   and on 32 lanes (four). The 32-lane forms are for the long elementwise loops: their long dependency chains
   (a division, then an exp and a polynomial) leave one 8-lane GELU waiting on latency, and four independent
   registers per operation keep the FP pipes busy (GELU 0.98 → 0.70 ns per element on Zen 3). Every lane runs the
   same expressions at either width, so the two give bit-identical results (tested). */
#define EMO_DEFINE_MATH(V, VI, VU, W)                                                                            \
    /* Lane-wise mask ? a : b (mask lanes all ones or all zeros, as comparisons give). */                        \
    EMO_FN V select##W(VI mask, V a, V b) { return (V)((mask & (VI)a) | (~mask & (VI)b)); }                     \
                                                                                                                 \
    /* e^x for x already in [−87.33, 88.72]: n = round(x / ln 2) by adding 1.5·2²³ (whose bit pattern then       \
       carries n for the 2ⁿ scale), r = x − n ln 2 with ln 2 in two parts, and the Cephes expf degree-6          \
       polynomial. */                                                                                            \
    EMO_FN V exp_in_range##W(V x) {                                                                              \
        const V magic = (V){} + 12582912.0f;                                                                     \
        V t = x * 1.44269504088896341f + magic;                                                                  \
        V n = t - magic;                                                                                         \
        V r = x - n * 0.693359375f - n * -2.12194440e-4f;                                                        \
        V p = (V){} + 1.9875691500e-4f;                                                                          \
        p = p * r + 1.3981999507e-3f;                                                                            \
        p = p * r + 8.3334519073e-3f;                                                                            \
        p = p * r + 4.1665795894e-2f;                                                                            \
        p = p * r + 1.6666665459e-1f;                                                                            \
        p = p * r + 5.0000001201e-1f;                                                                            \
        V y = p * r * r + r + 1.0f;                                                                              \
        VI exponent = ((VI)t - (VI)magic + 127) << 23;                                                           \
        return y * (V)exponent;                                                                                  \
    }                                                                                                            \
                                                                                                                 \
    /* e^x for x ≤ 0: exactly 0 below −87.33 (−∞ included); NaN stays NaN. */                                    \
    EMO_FN V exp_non_positive##W(V x) {                                                                          \
        VI under = x < -87.33f;                                                                                  \
        return select##W(under, (V){}, exp_in_range##W(select##W(under, (V){} - 87.33f, x)));                   \
    }                                                                                                            \
                                                                                                                 \
    /* erf(x) by Abramowitz–Stegun 7.1.26, 1 − t P(t) e^(−x²) with t = 1 / (1 + 0.3275911 |x|), on |x|; the      \
       sign of x is then copied onto the result. */                                                              \
    EMO_FN V erf##W(V x) {                                                                                       \
        V ax = (V)((VU)x & 0x7FFFFFFFu);                                                                         \
        V t = 1.0f / (1.0f + 0.3275911f * ax);                                                                   \
        V poly = (V){} + 1.061405429f;                                                                           \
        poly = poly * t - 1.453152027f;                                                                          \
        poly = poly * t + 1.421413741f;                                                                          \
        poly = poly * t - 0.284496736f;                                                                          \
        poly = poly * t + 0.254829592f;                                                                          \
        V gaussian = exp_non_positive##W(-ax * ax);                                                              \
        V y = 1.0f - poly * t * gaussian; /* erf(|x|) ≥ 0 */                                                     \
        return (V)((VU)y | ((VU)x & 0x80000000u));                                                               \
    }                                                                                                            \
                                                                                                                 \
    /* Exact GELU, x/2 (1 + erf(x / √2)). */                                                                     \
    EMO_FN V gelu##W(V x) {                                                                                      \
        V e = erf##W(x * 0.70710678118654752f);                                                                  \
        return x * 0.5f * (1.0f + e);                                                                            \
    }

typedef float v32f __attribute__((vector_size(128), aligned(4)));
typedef int32_t v32i __attribute__((vector_size(128), aligned(4)));
typedef uint32_t v32u __attribute__((vector_size(128), aligned(4)));

EMO_DEFINE_MATH(v8f, v8i, v8u, 8)
EMO_DEFINE_MATH(v32f, v32i, v32u, 32)

EMO_FN v8f exp_in_range(v8f x) { return exp_in_range8(x); }
EMO_FN v8f exp_non_positive(v8f x) { return exp_non_positive8(x); }

/* The 32 floats at p (four 8-lane loads), and their store. */
EMO_FN v32f load32(const float *p) {
    v32f v;
    memcpy(&v, p, sizeof v);
    return v;
}

EMO_FN void store32(float *p, v32f v) { memcpy(p, &v, sizeof v); }

// MARK: - Kernels

/* The elementwise GELU loops take 32 lanes at a time, then the rest 8 at a time (the same arithmetic). */
static EMO_TARGET void gelu(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) store32(y + i, gelu32(load32(x + i)));
    for (; i < n; i += 8) {
        size_t k = block_size(i, n);
        store_k(y + i, gelu8(load_k(x + i, k, 0)), k);
    }
}

static EMO_TARGET void add_gelu(const float *z, float *h, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) store32(h + i, load32(h + i) + gelu32(load32(z + i)));
    for (; i < n; i += 8) {
        size_t k = block_size(i, n);
        store_k(h + i, load_k(h + i, k, 0) + gelu8(load_k(z + i, k, 0)), k);
    }
}

EMO_FN void affine_gelu_rows(const float *x, size_t rows, size_t cols, const float *center, const float *gamma,
                             const float *beta, float *y) {
    for (size_t r = 0; r < rows; r++) {
        const float *h = x + r * cols;
        float *o = y + r * cols;
        size_t c = 0;
        for (; c + 32 <= cols; c += 32) {
            v32f v = load32(h + c);
            if (center) v = v - load32(center + c);
            store32(o + c, gelu32(v * load32(gamma + c) + load32(beta + c)));
        }
        for (; c < cols; c += 8) {
            size_t k = block_size(c, cols);
            v8f v = load_k(h + c, k, 0);
            if (center) v = v - load_k(center + c, k, 0);
            store_k(o + c, gelu8(v * load_k(gamma + c, k, 0) + load_k(beta + c, k, 0)), k);
        }
    }
}

static EMO_TARGET void affine_gelu(const float *xhat, size_t rows, size_t cols, const float *gamma,
                                   const float *beta, float *y) {
    affine_gelu_rows(xhat, rows, cols, NULL, gamma, beta, y);
}

static EMO_TARGET void centered_affine_gelu(const float *x, size_t rows, size_t cols, const float *center,
                                            const float *scale, const float *shift, float *y) {
    affine_gelu_rows(x, rows, cols, center, scale, shift, y);
}

static EMO_TARGET void softmax(float *x, size_t n) {
    if (n == 0) return;
    // Max as Swift's max(m, v) = v >= m ? v : m: NaN never wins. The tail pads with −∞ (changes neither the max
    // nor, after exp, the sum).
    v8f m8 = splat(-INFINITY);
    for (size_t i = 0; i < n; i += 8) {
        v8f v = load_k(x + i, block_size(i, n), -INFINITY);
        m8 = select8(v >= m8, v, m8);
    }
    float m = -INFINITY;
    for (int j = 0; j < 8; j++) m = m8[j] >= m ? m8[j] : m;
    // The exps 32 lanes at a time (as GELU, for latency), added to the 8-lane sum quarter by quarter: the same
    // order of additions as 8 lanes at a time.
    v8f acc = splat(0.0f);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        v32f e = exp_non_positive32(load32(x + i) - m);  // ≤ 0 after max subtraction
        store32(x + i, e);
        acc += __builtin_shufflevector(e, e, 0, 1, 2, 3, 4, 5, 6, 7);
        acc += __builtin_shufflevector(e, e, 8, 9, 10, 11, 12, 13, 14, 15);
        acc += __builtin_shufflevector(e, e, 16, 17, 18, 19, 20, 21, 22, 23);
        acc += __builtin_shufflevector(e, e, 24, 25, 26, 27, 28, 29, 30, 31);
    }
    for (; i < n; i += 8) {
        size_t k = block_size(i, n);
        v8f e = exp_non_positive(load_k(x + i, k, -INFINITY) - m);
        store_k(x + i, e, k);
        acc += e;
    }
    float inv = 1.0f / sum8(acc);
    for (i = 0; i < n; i += 8) {
        size_t k = block_size(i, n);
        store_k(x + i, load_k(x + i, k, 0) * inv, k);
    }
}

static EMO_TARGET void layer_norm(const float *x, size_t rows, size_t n, const float *gamma, const float *beta,
                                  float eps, float *y, float *xhat_out, float *mean_out, float *rstd_out) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        v8f acc = splat(0.0f);
        for (size_t i = 0; i < n; i += 8) acc += load_k(xr + i, block_size(i, n), 0);
        float mean = sum8(acc) / (float)n;
        v8f squares = splat(0.0f);
        for (size_t i = 0; i < n; i += 8) {
            v8f d = load_k(xr + i, block_size(i, n), mean) - mean;  // the pad lanes give 0
            squares += d * d;
        }
        float rstd = 1.0f / sqrtf(sum8(squares) / (float)n + eps);
        if (mean_out) mean_out[r] = mean;
        if (rstd_out) rstd_out[r] = rstd;
        for (size_t i = 0; i < n; i += 8) {
            size_t k = block_size(i, n);
            v8f h = (load_k(xr + i, k, 0) - mean) * rstd;
            if (xhat_out) store_k(xhat_out + r * n + i, h, k);
            store_k(yr + i, h * load_k(gamma + i, k, 0) + load_k(beta + i, k, 0), k);
        }
    }
}

static EMO_TARGET void column_moments(const float *x, size_t rows, size_t cols, size_t ld, float *mean, float *m2) {
    // Sums then squared deviations, row by row (the [cols] accumulators stay in L1).
    for (size_t c = 0; c < cols; c++) { mean[c] = 0; m2[c] = 0; }
    for (size_t t = 0; t < rows; t++) {
        const float *row = x + t * ld;
        for (size_t c = 0; c < cols; c += 8) {
            size_t k = block_size(c, cols);
            store_k(mean + c, load_k(mean + c, k, 0) + load_k(row + c, k, 0), k);
        }
    }
    for (size_t c = 0; c < cols; c++) mean[c] /= (float)rows;
    for (size_t t = 0; t < rows; t++) {
        const float *row = x + t * ld;
        for (size_t c = 0; c < cols; c += 8) {
            size_t k = block_size(c, cols);
            v8f d = load_k(row + c, k, 0) - load_k(mean + c, k, 0);
            store_k(m2 + c, load_k(m2 + c, k, 0) + d * d, k);
        }
    }
}

static EMO_TARGET void column_normalize(float *x, size_t rows, size_t cols, size_t ld, const float *gamma,
                                        const float *beta, float eps, float *mean, float *rstd) {
    column_moments(x, rows, cols, ld, mean, rstd);
    for (size_t c = 0; c < cols; c++) rstd[c] = 1.0f / sqrtf(rstd[c] / (float)rows + eps);
    for (size_t t = 0; t < rows; t++) {
        float *row = x + t * ld;
        for (size_t c = 0; c < cols; c += 8) {
            size_t k = block_size(c, cols);
            v8f h = (load_k(row + c, k, 0) - load_k(mean + c, k, 0)) * load_k(rstd + c, k, 0);
            if (gamma && beta) h = h * load_k(gamma + c, k, 0) + load_k(beta + c, k, 0);
            store_k(row + c, h, k);
        }
    }
}

static EMO_TARGET void add(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
        size_t k = block_size(i, n);
        store_k(y + i, load_k(y + i, k, 0) + load_k(x + i, k, 0), k);
    }
}

__attribute__((visibility("hidden"))) const EmoKernelTable EMO_TABLE = {
    .name = EMO_PATH_NAME,
    .gelu = gelu,
    .add_gelu = add_gelu,
    .affine_gelu = affine_gelu,
    .centered_affine_gelu = centered_affine_gelu,
    .softmax = softmax,
    .layer_norm = layer_norm,
    .column_moments = column_moments,
    .column_normalize = column_normalize,
    .add = add,
};
