/*
 * gemm_layout.c: does OpenBLAS run EmoKit's forward GEMMs faster with the weight stored [in, out] (B not
 * transposed) than in PyTorch's [out, in] layout (B transposed)? Single-threaded, interleaved runs of both
 * layouts, on the shapes of wav2vec2-base's transformer (a 12-layer chain of QKV, out, FFN-in and FFN-out GEMMs
 * with distinct weights, M = frames × clips per thread) and of its Winograd conv GEMMs (K = N = 512).
 *
 *   cc -O2 docs/bench/gemm_layout.c -o /tmp/gemm_layout -lopenblas && /tmp/gemm_layout 596
 *
 * Measured 2026-11-22 on the 2-core Zen 3 machine (OpenBLAS 0.3.21, core Zen): the transposed layout ran the
 * chain 1.6–2.3 % faster (90.6 → 92.6, 92.7 → 94.2 GFLOP/s at M = 596; 86.8 → 88.8 at M = 298) and the conv
 * GEMMs 1.2–4 % faster (87.6 → 90.7 at M = 1600; 86.6 → 90.3 at M = 400).
 *
 * Tried in the speech encoders and not kept: with the transformer and Winograd weights stored [in, out], the
 * occlusion sweep of `emo bench explain --occlusion-only --repeats 2` took 13.97 s against 14.04 s (means of six
 * runs each, interleaved old/new builds, run-to-run spread ±2.5 %): no difference the machine can resolve, while
 * the backward GEMMs would read the weights the slower way and the Winograd weights would take 12.6 MB more.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

enum { L = 12, C = 768, F = 3072 };
static float *W[L][4], *WT[L][4];

/* One pass of the chain; `transposed` picks the layout. y: [M, C], z: [M, 3C], x: [M, F]. */
static double chain(int M, int transposed, float *x, float *y, float *z) {
    double t0 = now();
    for (int l = 0; l < L; l++) {
        if (!transposed) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, 3 * C, C, 1, y, C, W[l][0], C, 1, z, 3 * C);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, C, C, 1, z, 3 * C, W[l][1], C, 1, y, C);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, F, C, 1, y, C, W[l][2], C, 1, x, F);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, C, F, 1, x, F, W[l][3], F, 1, y, C);
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, 3 * C, C, 1, y, C, WT[l][0], 3 * C, 1, z, 3 * C);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, C, C, 1, z, 3 * C, WT[l][1], C, 1, y, C);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, F, C, 1, y, C, WT[l][2], F, 1, x, F);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, C, F, 1, x, F, WT[l][3], C, 1, y, C);
        }
    }
    return now() - t0;
}

/* A Winograd-style conv GEMM: [M, 512] (row stride lda) × one tap of a [512, 3, 512] weight. */
static void conv(int M, int lda) {
    const int K = 512, N = 512;
    float *a = malloc(sizeof(float) * M * lda), *w = malloc(sizeof(float) * N * K * 3);
    float *wt = malloc(sizeof(float) * N * K), *c = calloc((size_t)M * N, sizeof(float));
    for (long i = 0; i < (long)M * lda; i++) a[i] = (i % 11) * 0.01f;
    for (long i = 0; i < (long)N * K * 3; i++) w[i] = (i % 7) * 0.01f;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) wt[k * N + n] = w[n * 3 * K + K + k];
    double s[2] = {0, 0};
    for (int r = 0; r < 40; r++) {
        int tr = r % 2;
        double t0 = now();
        if (!tr)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, lda, w + K, 3 * K, 1, c, N);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, lda, wt, N, 1, c, N);
        s[tr] += now() - t0;
    }
    double flops = 2.0 * M * N * K * 20;
    printf("conv GEMM M=%d lda=%d: [out, in] %.1f GFLOP/s, [in, out] %.1f GFLOP/s\n", M, lda, flops / s[0] / 1e9,
           flops / s[1] / 1e9);
    free(a), free(w), free(wt), free(c);
}

int main(int argc, char **argv) {
    int M = argc > 1 ? atoi(argv[1]) : 596;
    openblas_set_num_threads(1);
    const long n[4] = {3L * C, C, F, C}, k[4] = {C, C, C, F};
    for (int l = 0; l < L; l++)
        for (int j = 0; j < 4; j++) {
            W[l][j] = malloc(sizeof(float) * n[j] * k[j]);
            WT[l][j] = malloc(sizeof(float) * n[j] * k[j]);
            for (long i = 0; i < n[j] * k[j]; i++) W[l][j][i] = ((i + l) % 7) * 0.001f;
            for (long a = 0; a < n[j]; a++)
                for (long b = 0; b < k[j]; b++) WT[l][j][b * n[j] + a] = W[l][j][a * k[j] + b];
        }
    float *x = malloc(sizeof(float) * M * F), *y = malloc(sizeof(float) * M * F), *z = calloc((size_t)M * 3 * C, sizeof(float));
    for (long i = 0; i < (long)M * F; i++) x[i] = (i % 13) * 0.01f, y[i] = 0.01f;
    double flops = 2.0 * L * M * (3.0 * C * C + C * C + 2.0 * C * F), s[2] = {0, 0};
    chain(M, 0, x, y, z), chain(M, 1, x, y, z);  // warm-up
    for (int r = 0; r < 16; r++) s[r % 2] += chain(M, r % 2, x, y, z);
    printf("transformer chain M=%d: [out, in] %.1f GFLOP/s, [in, out] %.1f GFLOP/s\n", M, flops * 8 / s[0] / 1e9,
           flops * 8 / s[1] / 1e9);
    conv(1600, 512);
    conv(400, 512);
    return 0;
}
