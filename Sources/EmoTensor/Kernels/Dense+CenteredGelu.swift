extension Dense {
    /// `y = gelu((x[t, c] − center[c]) · scale[c] + shift[c])` over `[T, C]` (`y` may alias `x`): a norm whose
    /// statistics are already known, fused with its affine step and GELU in one pass.
    public static func centeredAffineGelu(_ x: UnsafePointer<Float>, rows: Int, cols: Int, center: UnsafePointer<Float>,
                                          scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                          into y: UnsafeMutablePointer<Float>) {
        parallel(rows, grain: max(1, 65_536 / max(cols, 1))) { range in
            let first = range.lowerBound
            kernels.centered_affine_gelu(x + first * cols, range.count, cols, center, scale, shift, y + first * cols)
        }
    }

    /// Per-column `mean[C]` and sum of squared deviations `m2[C]` of `x[T, C]` (`T ≥ 1`; two passes, `x` unchanged).
    public static func columnMoments(rows: Int, cols: Int, x: UnsafePointer<Float>, mean: UnsafeMutablePointer<Float>,
                                     m2: UnsafeMutablePointer<Float>) {
        kernels.column_moments(x, rows, cols, cols, mean, m2)
    }
}
