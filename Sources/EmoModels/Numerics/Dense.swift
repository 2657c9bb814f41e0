import CBLAS
import Foundation

/// Dense inference kernels on raw pointers (row-major, caller-owned memory, no allocation).
///
/// The speech encoders use these while EmoTensor's kernels land; each fast path has a naive reference
/// (`Dense.Reference`) that the tests compare it with. Dimension legend: `M` rows (frames), `K` input width,
/// `N` output width.
public enum Dense {
    /// `C[M, N] = alpha * A[M, K] * op(B) + beta * C`, where `op(B)` is `B[K, N]` or, with `transB`, `B[N, K]^T`.
    @inline(__always)
    public static func gemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y[M, N] = x[M, K] * W[N, K]^T + bias[N]` (PyTorch `nn.Linear` layout); `y` may not alias `x`.
    public static func linear(m: Int, k: Int, n: Int, x: UnsafePointer<Float>, ldx: Int? = nil,
                              weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              y: UnsafeMutablePointer<Float>, ldy: Int? = nil) {
        let ldy = ldy ?? n
        if let bias {
            for i in 0..<m { (y + i * ldy).update(from: bias, count: n) }
        }
        gemm(m: m, n: n, k: k, a: x, lda: ldx ?? k, b: weight, ldb: k, transB: true,
             beta: bias == nil ? 0 : 1, c: y, ldc: ldy)
    }

    /// Layer norm of each of `rows` rows of width `n` (biased variance, as PyTorch), in place or out of place.
    public static func layerNorm(rows: Int, n: Int, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                 beta: UnsafePointer<Float>, eps: Float, y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * n, yr = y + r * n
            var sum: Float = 0
            for i in 0..<n { sum += xr[i] }
            let mean = sum / Float(n)
            var ss: Float = 0
            for i in 0..<n { let d = xr[i] - mean; ss += d * d }
            let inv = 1 / (ss / Float(n) + eps).squareRoot()
            for i in 0..<n { yr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i] }
        }
    }

    /// Normalises each column of `x[T, C]` over its `T` rows (PyTorch `GroupNorm(C, C)` on `[C, T]`), in place.
    /// `scratch` holds `2 * C` floats.
    public static func columnNorm(rows: Int, cols: Int, x: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
                                  beta: UnsafePointer<Float>, eps: Float, scratch: UnsafeMutablePointer<Float>) {
        let mean = scratch, scale = scratch + cols
        mean.update(repeating: 0, count: cols)
        scale.update(repeating: 0, count: cols)
        for t in 0..<rows { let r = x + t * cols; for c in 0..<cols { mean[c] += r[c] } }
        for c in 0..<cols { mean[c] /= Float(rows) }
        for t in 0..<rows { let r = x + t * cols; for c in 0..<cols { let d = r[c] - mean[c]; scale[c] += d * d } }
        for c in 0..<cols { scale[c] = gamma[c] / (scale[c] / Float(rows) + eps).squareRoot() }
        for t in 0..<rows {
            let r = x + t * cols
            for c in 0..<cols { r[c] = (r[c] - mean[c]) * scale[c] + beta[c] }
        }
    }

    /// Exact GELU, `x * 0.5 * (1 + erf(x / sqrt 2))`, in place (PyTorch's default `nn.GELU`).
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(x + i).storeBytes(of: FastMath.gelu(v), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            var tail = SIMD8<Float>(repeating: 0)
            let n = min(8, count - i)
            for j in 0..<n { tail[j] = x[i + j] }
            let g = FastMath.gelu(tail)
            for j in 0..<n { x[i + j] = g[j] }
            i += n
        }
    }

    /// Softmax of one row of `n` values in place.
    @inline(__always)
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        guard n > 0 else { return }
        var mx = -Float.infinity
        for i in 0..<n { mx = max(mx, x[i]) }
        var sum: Float = 0
        for i in 0..<n { let e = expf(x[i] - mx); x[i] = e; sum += e }
        let inv = 1 / sum
        for i in 0..<n { x[i] *= inv }
    }

    /// `y += x`, elementwise.
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }
}

/// Vectorised elementary functions accurate to a few float ulps.
public enum FastMath {
    /// erf(x) for 8 lanes (libm's `erff` per lane).
    @inline(__always)
    public static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var out = SIMD8<Float>()
        for j in 0..<8 { out[j] = erff(x[j]) }
        return out
    }

    /// Exact-form GELU for 8 lanes.
    @inline(__always)
    public static func gelu(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let e = erf(x * 0.70710678118654752)
        return x * 0.5 * (1 + e)
    }
}
