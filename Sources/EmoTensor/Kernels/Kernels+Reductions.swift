// Small vectorised helpers (sum, sum of squares, max) used by the normalisation and softmax kernels.

extension Kernels {
    /// Σ p[i·stride] for i in 0..<n, with 16 partial sums (SIMD for stride 1).
    @inlinable
    public static func sum(_ p: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 16 <= n {
            acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        var total = acc.sum()
        while i < n { total += p[i]; i += 1 }
        return total
    }

    /// Σ (p[i] − mean)² for i in 0..<n (second pass of a two-pass variance).
    @inlinable
    public static func sumSquaredDeviations(_ p: UnsafePointer<Float>, count n: Int, mean: Float) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        let m = SIMD16<Float>(repeating: mean)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 16 <= n {
            let d = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - m
            acc += d * d
            i += 16
        }
        var total = acc.sum()
        while i < n { let d = p[i] - mean; total += d * d; i += 1 }
        return total
    }

    /// max p[i] for i in 0..<n (−∞ when n = 0; NaN elements are skipped).
    ///
    /// Uses a lane-wise compare-and-replace: `pointwiseMax` on SIMD16 is not lowered to vector instructions by
    /// this toolchain (200× slower).
    @inlinable
    public static func maximum(_ p: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            acc.replace(with: v, where: v .> acc)
            i += 8
        }
        var best = -Float.infinity
        for k in 0..<8 where acc[k] > best { best = acc[k] }
        while i < n {
            if p[i] > best { best = p[i] }
            i += 1
        }
        return best
    }
}
