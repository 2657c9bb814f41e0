import CBLAS
import EmoTensor
import Foundation

/// Dense inference kernels on raw pointers (row-major, caller-owned memory, no allocation).
///
/// The speech encoders use these while EmoTensor's kernels land; each fast path has a naive reference
/// (`Dense.Reference`) that the tests compare it with. Dimension legend: `M` rows (frames), `K` input width,
/// `N` output width.
public enum Dense {
    /// `C[M, N] = alpha * op(A) * op(B) + beta * C`, where `op(A)` is `A[M, K]` or, with `transA`, `A[K, M]^T`,
    /// and `op(B)` is `B[K, N]` or, with `transB`, `B[N, K]^T`.
    @inline(__always)
    public static func gemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                            b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
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
        parallel(rows, grain: max(1, 65_536 / max(n, 1))) { range in
            for r in range { layerNormRow(x + r * n, n: n, gamma: gamma, beta: beta, eps: eps, y: y + r * n) }
        }
    }

    /// Layer norm of one row.
    @inline(__always)
    static func layerNormRow(_ xr: UnsafePointer<Float>, n: Int, gamma: UnsafePointer<Float>,
                             beta: UnsafePointer<Float>, eps: Float, y yr: UnsafeMutablePointer<Float>) {
        var sum: Float = 0
        for i in 0..<n { sum += xr[i] }
        let mean = sum / Float(n)
        var ss: Float = 0
        for i in 0..<n { let d = xr[i] - mean; ss += d * d }
        let inv = 1 / (ss / Float(n) + eps).squareRoot()
        for i in 0..<n { yr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i] }
    }

    /// Normalises each column of `x[T, C]` over its `T` rows (PyTorch `GroupNorm(C, C)` on `[C, T]`), in place.
    /// `scratch` holds `2 * C` floats.
    public static func columnNorm(rows: Int, cols: Int, x: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
                                  beta: UnsafePointer<Float>, eps: Float, scratch: UnsafeMutablePointer<Float>) {
        let mean = scratch, scale = scratch + cols
        // Split the columns between threads (multiples of 8 so no two threads share a cache line of stats).
        parallel(cols / 8, grain: 4) { r in
            let c0 = r.lowerBound * 8, c1 = r.upperBound == cols / 8 ? cols : r.upperBound * 8
            columnMoments(rows: rows, cols: cols, x: x, columns: c0..<c1, mean: mean, squares: scale)
            for c in c0..<c1 { scale[c] = gamma[c] / (scale[c] / Float(rows) + eps).squareRoot() }
            for t in 0..<rows {
                let row = x + t * cols
                for c in c0..<c1 { row[c] = (row[c] - mean[c]) * scale[c] + beta[c] }
            }
        }
    }

    /// For `columns` of `x[T, C]`: the column means into `mean` and Σ_t (x − mean)² into `squares` (both `[C]`,
    /// overwritten there): the statistics `columnNorm` and `columnNormalize` finish in their own ways.
    @inline(__always)
    static func columnMoments(rows: Int, cols: Int, x: UnsafePointer<Float>, columns: Range<Int>,
                              mean: UnsafeMutablePointer<Float>, squares: UnsafeMutablePointer<Float>) {
        let (c0, c1) = (columns.lowerBound, columns.upperBound)
        (mean + c0).update(repeating: 0, count: c1 - c0)
        (squares + c0).update(repeating: 0, count: c1 - c0)
        for t in 0..<rows { let row = x + t * cols; for c in c0..<c1 { mean[c] += row[c] } }
        for c in c0..<c1 { mean[c] /= Float(rows) }
        for t in 0..<rows { let row = x + t * cols; for c in c0..<c1 { let d = row[c] - mean[c]; squares[c] += d * d } }
    }

    /// Runs `body` over `0..<count` split into contiguous chunks on up to `Dense.threads` threads (one chunk,
    /// inline, when `count < grain`).
    public static func parallel(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let chunks = isSerial ? 1 : min(threads, max(1, count / max(grain, 1)))
        if chunks <= 1 { body(0..<count); return }
        withoutActuallyEscaping(body) { escaping in
            let box = UncheckedSendable(escaping)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                box.value((c * count / chunks)..<((c + 1) * count / chunks))
            }
        }
    }

    /// Runs `body` over `0..<count` split into up to `Dense.threads` chunks, one per thread, with OpenBLAS
    /// single-threaded meanwhile, so each chunk's GEMMs run on its own thread: one fork-join for many small
    /// products (attention heads) instead of one per product, which matters most on a busy machine where every
    /// fork-join waits for a descheduled thread. `parallel` calls inside run nested (libdispatch runs them inline
    /// when the outer region already uses every thread).
    public static func parallelWithSerialBLAS(_ count: Int, _ body: (Range<Int>) -> Void) {
        parallelChunksWithSerialBLAS(count) { _, range in body(range) }
    }

    /// Chunks `parallelChunksWithSerialBLAS` splits `count` items into (index them with per-thread scratch).
    public static func chunkCount(_ count: Int) -> Int { isSerial ? 1 : max(1, min(threads, count)) }

    /// `parallelWithSerialBLAS`, passing each chunk's index in `0..<chunkCount(count)` with its range.
    public static func parallelChunksWithSerialBLAS(_ count: Int, _ body: (Int, Range<Int>) -> Void) {
        let chunks = chunkCount(count)
        if chunks <= 1 { body(0, 0..<count); return }
        let saved = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(saved) }
        withoutActuallyEscaping(body) { escaping in
            let box = UncheckedSendable(escaping)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                box.value(c, (c * count / chunks)..<((c + 1) * count / chunks))
            }
        }
    }

    /// True on a thread inside `serially`: the parallel helpers run their body inline there.
    public static var isSerial: Bool { pthread_getspecific(serialKey) != nil }

    /// Runs `body` with every parallel helper on this thread inline (one chunk), for callers that already split
    /// the work across threads themselves and keep OpenBLAS single-threaded meanwhile.
    public static func serially<R>(_ body: () throws -> R) rethrows -> R {
        let saved = pthread_getspecific(serialKey)
        pthread_setspecific(serialKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(serialKey, saved) }
        return try body()
    }

    /// Threads the elementwise kernels use (the BLAS's own thread count, 2 on the reference machine).
    nonisolated(unsafe) public static var threads: Int = max(1, Int(openblas_get_num_threads()))

    /// Exact GELU, `x * 0.5 * (1 + erf(x / sqrt 2))`, in place (PyTorch's default `nn.GELU`), multithreaded.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        parallel(count / 8, grain: 16_384) { r in
            let start = r.lowerBound * 8
            let end = r.upperBound == count / 8 ? count : r.upperBound * 8
            geluSerial(x + start, count: end - start)
        }
    }

    /// Single-threaded GELU.
    static func geluSerial(_ x: UnsafeMutablePointer<Float>, count: Int) {
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
        var i = 0
        var acc = SIMD8<Float>()
        while i + 8 <= n {
            let e = FastMath.exp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - mx)
            UnsafeMutableRawPointer(x + i).storeBytes(of: e, as: SIMD8<Float>.self)
            acc += e
            i += 8
        }
        sum = acc.sum()
        while i < n { let e = expf(x[i] - mx); x[i] = e; sum += e; i += 1 }
        let inv = 1 / sum
        for i in 0..<n { x[i] *= inv }
    }

    /// `y += x`, elementwise.
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }
}

/// Vectorised elementary functions (8 lanes) for the encoders: EmoTensor's kernels (`Kernels.exp8`, `erf8`: the
/// Cephes `expf` polynomial and the Abramowitz–Stegun erf PyTorch's vectorised CPU `erf` uses), plus GELU on top.
public enum FastMath {
    /// e^x (Cephes `expf`; ≤ 2 ulp on [−87.3, 88.7], 0 below, +∞ above).
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> { Kernels.exp8(x) }

    /// erf(x) by Abramowitz–Stegun 7.1.26, `1 - t P(t) exp(-x^2)`, `t = 1 / (1 + 0.3275911 |x|)`
    /// (max abs error 1.5e-7): the same approximation PyTorch's vectorised CPU `erf` uses.
    @inline(__always)
    public static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> { Kernels.erf8(x) }

    /// `erf(x)` as `erf(_:)` computes it, and the `exp(−x²)` it uses along the way (GELU's derivative needs both).
    @inline(__always)
    static func erfAndGaussian(_ x: SIMD8<Float>) -> (erf: SIMD8<Float>, gaussian: SIMD8<Float>) {
        Kernels.erfAndGaussian8(x)
    }

    /// Exact-form GELU, `x/2 (1 + erf(x / sqrt 2))`, for 8 lanes.
    @inline(__always)
    public static func gelu(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let e = erf(x * 0.70710678118654752)
        return x * 0.5 * (1 + e)
    }
}

/// The thread-specific key behind `Dense.isSerial` (non-nil value: serial).
private let serialKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// Hands a non-Sendable value to `concurrentPerform` (the caller guarantees the threads touch disjoint memory).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
