extension Dense {
    /// `y = gelu((x[t, c] − center[c]) · scale[c] + shift[c])` over `[T, C]` (`y` may alias `x`): a norm whose
    /// statistics are already known, fused with its affine step and GELU in one pass.
    public static func centeredAffineGelu(_ x: UnsafePointer<Float>, rows: Int, cols: Int, center: UnsafePointer<Float>,
                                          scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                                          into y: UnsafeMutablePointer<Float>) {
        parallel(rows, grain: max(1, 65_536 / max(cols, 1))) { range in
            for t in range {
                let h = x + t * cols, o = y + t * cols
                var c = 0
                while c + 8 <= cols {
                    store(FastMath.gelu((load(h + c) - load(center + c)) * load(scale + c) + load(shift + c)), o + c)
                    c += 8
                }
                while c < cols { o[c] = geluScalar((h[c] - center[c]) * scale[c] + shift[c]); c += 1 }
            }
        }
    }
}
