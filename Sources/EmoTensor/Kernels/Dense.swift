import CEmoKernels
import Foundation

/// Dense inference kernels on raw pointers (row-major, caller-owned memory, no allocation).
///
/// The speech encoders' fused and statistics-recording forms, beside `Kernels`; the tests compare each with the
/// math in double precision. The elementwise and row kernels (GELU and its fused forms, softmax, norms, add) are C
/// (`CEmoKernels`, `Kernels.elementwise`: AVX-512 or AVX2 + FMA on CPUs that have them, a portable build
/// otherwise); these functions split the work across threads and call them. Dimension legend: docs/numerics.md (`T` frames, `C` channels).
public enum Dense {
    // GEMM and linear layers: Kernels.sgemm and Kernels.linear (accumulate: true adds a residual branch).

    // Layer norm (with or without recorded statistics) and its backward: Kernels.layerNorm, Kernels.layerNormBackward.

    /// Normalises each column of `x[T, C]` over its `T` rows (PyTorch `GroupNorm(C, C)` on `[C, T]`), in place.
    /// `scratch` holds `2 * C` floats.
    public static func columnNorm(rows: Int, cols: Int, x: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
                                  beta: UnsafePointer<Float>, eps: Float, scratch: UnsafeMutablePointer<Float>) {
        columnNormalize(rows: rows, cols: cols, x: x, gamma: gamma, beta: beta, eps: eps, mean: scratch,
                        rstd: scratch + cols)
    }

    /// `x[T, C]` normalised per column in place, then `* gamma[c] + beta[c]` when both are given; `mean[C]` and
    /// `rstd[C]` receive the statistics. The columns are split between threads in multiples of 8, so no two
    /// threads share a cache line of statistics.
    static func columnNormalize(rows: Int, cols: Int, x: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>?,
                                beta: UnsafePointer<Float>?, eps: Float, mean: UnsafeMutablePointer<Float>,
                                rstd: UnsafeMutablePointer<Float>) {
        parallel(cols / 8, grain: 4) { r in
            let c0 = r.lowerBound * 8, c1 = r.upperBound == cols / 8 ? cols : r.upperBound * 8
            kernels.column_normalize(x + c0, rows, c1 - c0, cols, gamma.map { $0 + c0 }, beta.map { $0 + c0 }, eps,
                                     mean + c0, rstd + c0)
        }
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
        let saved = BLASInfo.threadCount
        BLASInfo.setThreadCount(1)
        defer { BLASInfo.setThreadCount(saved) }
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
    nonisolated(unsafe) public static var threads: Int = max(1, BLASInfo.threadCount)

    /// Softmax of one row of `n` values in place (max-subtracted; a NaN, a +∞, or a row of only −∞ makes the
    /// row NaN).
    @inline(__always)
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        kernels.softmax(x, n)
    }

    /// `y += x`, elementwise.
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        kernels.add(x, y, count)
    }

    /// The C kernels this process runs: `Kernels.elementwise` (one choice of path for every caller).
    @inline(__always)
    static var kernels: EmoKernelTable { Kernels.elementwise }

    /// Runs `body(start, length)` over `0..<count` split into slices of whole 8-float blocks (the last slice also
    /// takes the tail) on the kernel threads; one slice, inline, below `grain` blocks per thread.
    @inline(__always)
    static func parallelBlocks(_ count: Int, grain: Int, _ body: (Int, Int) -> Void) {
        let blocks = count / 8
        parallel(blocks, grain: grain) { r in
            let start = r.lowerBound * 8, end = r.upperBound == blocks ? count : r.upperBound * 8
            body(start, end - start)
        }
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


