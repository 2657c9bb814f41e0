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

    /// max p[i] for i in 0..<n (−∞ when n = 0).
    @inlinable
    public static func maximum(_ p: UnsafePointer<Float>, count n: Int) -> Float {
        var best = -Float.infinity
        var acc = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 16 <= n {
            acc = pointwiseMax(acc, raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            i += 16
        }
        best = acc.max()
        while i < n { best = Swift.max(best, p[i]); i += 1 }
        return best
    }
}
