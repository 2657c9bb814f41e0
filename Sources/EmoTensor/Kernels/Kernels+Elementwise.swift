// Small memory-bound helpers encoders need between the big kernels: residual adds and layout transposes.

extension Kernels {
    /// `y[i] = a[i] + b[i]` for `count` values; `y` may be `a` or `b` (residual add in place).
    @inlinable
    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                           count: Int) {
        for i in 0..<count { y[i] = a[i] + b[i] }
    }

    /// Transposes `x` `[rows, cols]` into `y` `[cols, rows]` (e.g. `[C, T]` ↔ `[T, C]` per batch item) in 32×32
    /// tiles; `y` must not alias `x`.
    public static func transpose(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into y: UnsafeMutablePointer<Float>) {
        let tile = 32
        var r0 = 0
        while r0 < rows {
            let r1 = min(rows, r0 + tile)
            var c0 = 0
            while c0 < cols {
                let c1 = min(cols, c0 + tile)
                for r in r0..<r1 {
                    for c in c0..<c1 { y[c * rows + r] = x[r * cols + c] }
                }
                c0 = c1
            }
            r0 = r1
        }
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.transpose`.
    public static func transpose(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { for c in 0..<cols { y[c * rows + r] = x[r * cols + c] } }
    }
}
