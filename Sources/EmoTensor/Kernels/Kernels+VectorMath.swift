// Vectorised exp and erf (8 lanes) for softmax and GELU: scalar libm calls would cost as much as the GEMMs
// around them at encoder sizes (12 heads × 399² exps per layer).
//
// exp: Cephes expf (range reduction by ln 2, degree-6 polynomial), ≤ 2 ulp on [−87.3, 88.7]; exactly 0 below.
// erf: Abramowitz & Stegun 7.1.26 (the form PyTorch's vectorised CPU erf uses):
// 1.5e-7 formula error, ≤ 6e-7 absolute once evaluated in Float32.

extension Kernels {
    /// e^x on 8 lanes (0 for x < −87.33, +∞ above 88.72, NaN stays NaN).
    ///
    /// Written with plain lane arithmetic and masked replaces only: `SIMD.rounded`, `clamped`, `pointwiseMin/Max`
    /// and float→int lane conversions are not lowered to vector instructions by this toolchain (up to 40× slower).
    /// Rounding uses the 1.5·2²³ trick, whose bit pattern also carries n for the 2ⁿ scale.
    @inlinable @inline(__always)
    public static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var clamped = x
        clamped.replace(with: SIMD8(repeating: -87.33), where: x .< -87.33)
        clamped.replace(with: SIMD8(repeating: 88.72), where: x .> 88.72)
        var result = expInRange8(clamped)
        result.replace(with: 0, where: x .< -87.33)
        result.replace(with: .infinity, where: x .> 88.72)
        result.replace(with: x, where: x .!= x)
        return result
    }

    /// e^x on 8 lanes for x ≤ 0 (softmax after max subtraction, erf's e^(−x²)): 0 below −87.33, including −∞.
    ///
    /// The same polynomial as `exp8` with only the underflow test (about 25 % faster).
    @inlinable @inline(__always)
    public static func expNonPositive8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let under = x .< -87.33
        var clamped = x
        clamped.replace(with: SIMD8(repeating: -87.33), where: under)
        var result = expInRange8(clamped)
        result.replace(with: 0, where: under)
        return result
    }

    /// e^x for x already inside [−87.33, 88.72]: n = round(x / ln 2) by the 1.5·2²³ trick (whose bit pattern also
    /// carries n for the 2ⁿ scale), the remainder r = x − n·ln 2 in two parts, and the Cephes degree-6 polynomial.
    @inlinable @inline(__always)
    static func expInRange8(_ clamped: SIMD8<Float>) -> SIMD8<Float> {
        let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5·2²³: adding it rounds to an integer
        let t = clamped * 1.44269504088896341 + magic
        let n = t - magic                                // round(x / ln 2)
        let r = clamped - n * 0.693359375 - n * -2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * r * r + r + 1
        let exponent = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
            &+ 127) &<< 23
        return y * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    }

    /// erf(x) on 8 lanes (A&S 7.1.26; the sign of x is copied onto erf(|x|) with bit operations).
    @inlinable @inline(__always)
    public static func erf8(_ x: SIMD8<Float>) -> SIMD8<Float> { erfAndGaussian8(x).erf }

    /// `erf8(x)` and the e^(−x²) it computes along the way (GELU's derivative needs both).
    @inlinable @inline(__always)
    public static func erfAndGaussian8(_ x: SIMD8<Float>) -> (erf: SIMD8<Float>, gaussian: SIMD8<Float>) {
        let ax = abs8(x)
        let t = 1 / (1 + 0.3275911 * ax)
        var poly = SIMD8<Float>(repeating: 1.061405429)
        poly = poly * t - 1.453152027
        poly = poly * t + 1.421413741
        poly = poly * t - 0.284496736
        poly = poly * t + 0.254829592
        let gaussian = expNonPositive8(-ax * ax)
        let y = 1 - poly * t * gaussian  // erf(|x|) ≥ 0
        let sign = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
        return (unsafeBitCast(unsafeBitCast(y, to: SIMD8<UInt32>.self) | sign, to: SIMD8<Float>.self), gaussian)
    }

    /// tanh(x) on 8 lanes: sign(x) · (1 − 2 / (e^{2|x|} + 1)); exact 0 stays 0.
    @inlinable @inline(__always)
    public static func tanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let e = exp8(2 * abs8(x))
        let y = 1 - 2 / (e + 1)
        var result = y
        result.replace(with: -y, where: x .< 0)
        return result
    }

    /// |x| on 8 lanes (clears the sign bit).
    @inlinable @inline(__always)
    public static func abs8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    }

    /// Loads 8 floats (unaligned).
    @inlinable @inline(__always)
    public static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Loads 8 floats (unaligned) from a mutable pointer.
    @inlinable @inline(__always)
    public static func load8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { load8(UnsafePointer(p)) }

    /// Stores 8 floats (unaligned).
    @inlinable @inline(__always)
    public static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}
