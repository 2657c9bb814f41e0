import CEmoKernels
import Foundation

/// Kernels for the backward pass (vector-Jacobian products to the input, weights frozen) and the forward variants
/// that record what it needs. Row-major, caller-owned memory, no allocation; multithreaded like the forward ones.
///
/// Dimension legend: docs/numerics.md (`N` rows, `C` row width; a column-normalised matrix is `[T, C]`).
extension Dense {
    // MARK: - Column norm (GroupNorm(C, C) on frames-major data) with recorded statistics

    /// Normalises each column of `x[T, C]` over its rows in place, leaving `xhat` (no `gamma`/`beta`), and
    /// records `rstd[C]`.
    public static func columnNormalize(rows: Int, cols: Int, x: UnsafeMutablePointer<Float>, eps: Float,
                                       rstd: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        columnNormalize(rows: rows, cols: cols, x: x, gamma: nil, beta: nil, eps: eps, mean: scratch, rstd: rstd)
    }

    /// Backward of `columnNormalize` followed by `* gamma[c] + beta[c]`: `dy[T, C]` → `dx[T, C]` (may alias).
    /// `scratch` holds `2 * C` floats.
    public static func columnNormBackward(rows: Int, cols: Int, xhat: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                          gamma: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                          dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let m1 = scratch, m2 = scratch + cols
        parallel(cols / 8, grain: 4) { r in
            let c0 = r.lowerBound * 8, c1 = r.upperBound == cols / 8 ? cols : r.upperBound * 8
            (m1 + c0).update(repeating: 0, count: c1 - c0)
            (m2 + c0).update(repeating: 0, count: c1 - c0)
            for t in 0..<rows {
                let d = dy + t * cols, h = xhat + t * cols
                for c in c0..<c1 { let g = d[c] * gamma[c]; m1[c] += g; m2[c] += g * h[c] }
            }
            for c in c0..<c1 { m1[c] /= Float(rows); m2[c] /= Float(rows) }
            for t in 0..<rows {
                let d = dy + t * cols, h = xhat + t * cols, o = dx + t * cols
                for c in c0..<c1 { o[c] = rstd[c] * (d[c] * gamma[c] - m1[c] - h[c] * m2[c]) }
            }
        }
    }

    // MARK: - GELU variants

    /// `y = gelu(xhat[t, c] · gamma[c] + beta[c])` over `[T, C]` (a norm's affine step fused with GELU).
    public static func affineGelu(_ xhat: UnsafePointer<Float>, rows: Int, cols: Int, gamma: UnsafePointer<Float>,
                                  beta: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        parallel(rows, grain: max(1, 65_536 / max(cols, 1))) { range in
            let first = range.lowerBound
            kernels.affine_gelu(xhat + first * cols, range.count, cols, gamma, beta, y + first * cols)
        }
    }

    /// `h += gelu(z)` (`z` unchanged).
    public static func addGelu(_ z: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>, count: Int) {
        parallelBlocks(count, grain: 2_048) { start, n in kernels.add_gelu(z + start, h + start, n) }
    }

    /// `dy *= gelu'(z)` elementwise.
    public static func geluBackward(z: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, count: Int) {
        elementwise(count, vector: { i in Kernels.store8(Kernels.load8(dy + i) * FastMath.geluDerivative(Kernels.load8(z + i)), dy + i) },
                    scalar: { i in dy[i] *= geluDerivativeScalar(z[i]) })
    }

    /// `dy[t, c] *= gelu'(xhat[t, c] · gamma[c] + beta[c])` over `[T, C]`.
    public static func affineGeluBackward(xhat: UnsafePointer<Float>, rows: Int, cols: Int, gamma: UnsafePointer<Float>,
                                          beta: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>) {
        parallel(rows, grain: max(1, 65_536 / max(cols, 1))) { range in
            for t in range {
                let h = xhat + t * cols, d = dy + t * cols
                var c = 0
                while c + 8 <= cols {
                    Kernels.store8(Kernels.load8(d + c) * FastMath.geluDerivative(Kernels.load8(h + c) * Kernels.load8(gamma + c) + Kernels.load8(beta + c)), d + c)
                    c += 8
                }
                while c < cols { d[c] *= geluDerivativeScalar(h[c] * gamma[c] + beta[c]); c += 1 }
            }
        }
    }

    /// GELU derivative of one value, for tails.
    @inline(__always)
    static func geluDerivativeScalar(_ z: Float) -> Float { FastMath.geluDerivative(SIMD8(repeating: z))[0] }

    // MARK: - Helpers


    /// Runs `vector(i)` on every 8-aligned block of `0..<count` on the kernel threads, then `scalar(i)` on the tail.
    @inline(__always)
    static func elementwise(_ count: Int, vector: (Int) -> Void, scalar: (Int) -> Void) {
        let full = count / 8
        parallel(full, grain: 2_048) { r in
            for blk in r { vector(blk * 8) }
        }
        for i in (full * 8)..<count { scalar(i) }
    }
}

extension FastMath {
    /// d GELU / dz = Φ(z) + z φ(z) for 8 lanes, sharing one `exp(−z²/2)` between the A&S `erf` and the density.
    @inline(__always)
    public static func geluDerivative(_ z: SIMD8<Float>) -> SIMD8<Float> {
        let (erf, e) = erfAndGaussian(z * 0.70710678118654752)  // e = exp(−z²/2)
        return 0.5 * (1 + erf) + z * e * 0.3989422804014327
    }
}
