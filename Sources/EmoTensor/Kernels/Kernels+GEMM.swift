// Matrix multiply: the one primitive every dense op reduces to.
import CEmoBLAS

extension Kernels {
    /// Row-major single-precision GEMM: `C = alpha · op(A) · op(B) + beta · C`.
    ///
    /// Shapes (row-major): `op(A)` `[m, k]`, `op(B)` `[k, n]`, `C` `[m, n]`. When `transA` is true, `A` is stored
    /// as `[k, m]`; when `transB` is true, `B` is stored as `[n, k]`. `lda`, `ldb`, `ldc` are the row strides (in
    /// elements) of the stored matrices, which lets callers multiply strided views (one head of `[T, H·D]`)
    /// without copying. With `beta == 0`, `C` is not read (it may hold garbage or NaN).
    @inlinable
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            scaleMatrix(c, rows: m, cols: n, ld: ldc, by: beta)
            return
        }
        emo_blas_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
                       b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// How `Kernels.cgemm` reads its B operand.
    public enum ComplexTranspose: Int32 {
        /// B as stored, `[k, n]`.
        case none = 0
        /// B stored `[n, k]`, used transposed.
        case transpose = 1
        /// B stored `[n, k]`, used conjugate-transposed.
        case conjugateTranspose = 2
    }

    /// Row-major complex GEMM on interleaved (re, im) Float pairs: `C = alpha · A · op(B) + beta · C`, `A`
    /// `[m, k]`, `op(B)` `[k, n]`, `C` `[m, n]`; strides in complex elements. Caller-owned buffers.
    @inlinable
    public static func cgemm(m: Int, n: Int, k: Int, alpha: (Float, Float), a: UnsafeRawPointer, lda: Int,
                             b: UnsafeRawPointer, ldb: Int, transB: ComplexTranspose, beta: (Float, Float),
                             c: UnsafeMutableRawPointer, ldc: Int) {
        var alpha = alpha, beta = beta
        withUnsafePointer(to: &alpha) { al in
            withUnsafePointer(to: &beta) { be in
                emo_blas_cgemm(0, transB.rawValue, Int32(m), Int32(n), Int32(k),
                               UnsafeRawPointer(al).assumingMemoryBound(to: Float.self),
                               a.assumingMemoryBound(to: Float.self), Int32(lda),
                               b.assumingMemoryBound(to: Float.self), Int32(ldb),
                               UnsafeRawPointer(be).assumingMemoryBound(to: Float.self),
                               c.assumingMemoryBound(to: Float.self), Int32(ldc))
            }
        }
    }

    /// `C[m, n] *= beta` for a strided matrix; `beta == 0` writes zeros (NaN in C does not survive).
    @usableFromInline
    static func scaleMatrix(_ c: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, by beta: Float) {
        for i in 0..<rows {
            let row = c + i * ld
            if beta == 0 {
                row.update(repeating: 0, count: cols)
            } else {
                for j in 0..<cols { row[j] *= beta }
            }
        }
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.sgemm` (triple loop, Double accumulation).
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var acc = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    acc += Double(av) * Double(bv)
                }
                let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * acc + old)
            }
        }
    }
}
