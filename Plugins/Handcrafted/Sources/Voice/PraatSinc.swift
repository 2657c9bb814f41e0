// Praat's windowed-sinc interpolation (NUM_interpolate_sinc, the formula of the Praat manual page "vector peak
// interpolation"): y at a real position x (1-based) is Σ y[k]·sinc(π(x − k))·½(1 + cos(π(x − k)/(D + 1 − …)))
// over D samples on either side (D clipped to the samples available), with linear / cubic / nearest fallbacks near
// the edges. The same terms as PraatBurgFormants.interpolateSinc, evaluated four taps at a time: the raised-cosine
// window advances by rotating four lanes by 4·Δ (two cos/sin pairs per side instead of one per tap), the
// sums are kept per lane. Agrees with the scalar form to ~1e−15 relative; the pitch refinement (depth 70 / 700,
// hundreds of evaluations per frame) spends most of its time here.

import Foundation

/// Vectorised windowed-sinc interpolation with Praat's conventions.
enum PraatSinc {
    /// y (0-based storage, 1-based positions as in Praat) interpolated at real position `x` with depth `maxDepth`.
    static func interpolate(_ y: UnsafeBufferPointer<Double>, at x: Double, depth maxDepth: Int) -> Double {
        let n = y.count
        guard n >= 1, let p = y.baseAddress else { return .nan }
        if x > Double(n) { return p[n - 1] }
        if x < 1 { return p[0] }
        let midleft = Int(floor(x)), midright = midleft + 1
        if x == Double(midleft) { return p[midleft - 1] }
        var depth = maxDepth
        if depth > midright - 1 { depth = midright - 1 }
        if depth > n - midleft { depth = n - midleft }
        @inline(__always) func at(_ k: Int) -> Double { p[k - 1] }
        if depth <= 0 { return at(Int(floor(x + 0.5))) }
        if depth == 1 { return at(midleft) + (x - Double(midleft)) * (at(midright) - at(midleft)) }
        if depth == 2 {
            let yl = at(midleft), yr = at(midright)
            let dyl = 0.5 * (yr - at(midleft - 1)), dyr = 0.5 * (at(midright + 1) - yl)
            let fil = x - Double(midleft), fir = Double(midright) - x
            return yl * fir + yr * fil - fil * fir * (0.5 * (dyr - dyl) + (fil - 0.5) * (dyl + dyr - 2 * (yr - yl)))
        }
        let left = midright - depth, right = midleft + depth
        // left taps: y[midleft − j], a_j = π(x − midleft) + jπ, window angle a_j / (x − left + 1)
        let aLeft = Double.pi * (x - Double(midleft))
        let sumLeft = side(p + (midleft - 1), step: -1, count: depth, a0: aLeft, width: x - Double(left) + 1)
        // right taps: y[midright + j], a_j = π(midright − x) + jπ, window angle a_j / (right − x + 1)
        let aRight = Double.pi * (Double(midright) - x)
        let sumRight = side(p + (midright - 1), step: 1, count: depth, a0: aRight, width: Double(right) - x + 1)
        return sumLeft + sumRight
    }

    /// Σ_j y[start + j·step] · ½ sin(a0)(−1)^j / (a0 + jπ) · (1 + cos((a0 + jπ) / width)), j < count.
    /// Four independent lanes in plain Doubles (SIMD types are slow in debug builds, which the tests use).
    @inline(__always)
    private static func side(_ start: UnsafePointer<Double>, step: Int, count: Int, a0: Double, width: Double) -> Double {
        let h = 0.5 * sin(a0)
        let dAngle = Double.pi / width
        let angle0 = a0 / width
        var a0 = a0, a1 = a0 + Double.pi, a2 = a0 + 2 * Double.pi, a3 = a0 + 3 * Double.pi
        // lanes start at angle0 + k·Δ (k < 4) and advance by 4Δ: rotations built from cos/sin of angle0 and Δ
        let cd = cos(dAngle), sd = sin(dAngle)
        let c2d = cd * cd - sd * sd, s2d = 2 * cd * sd
        let c4 = c2d * c2d - s2d * s2d, s4 = 2 * c2d * s2d
        var c0 = cos(angle0), s0 = sin(angle0)
        var c1 = c0 * cd - s0 * sd, s1 = c0 * sd + s0 * cd
        var c2 = c0 * c2d - s0 * s2d, s2 = c0 * s2d + s0 * c2d
        var c3 = c1 * c2d - s1 * s2d, s3 = c1 * s2d + s1 * c2d
        let fourPi = 4 * Double.pi
        var acc0 = 0.0, acc1 = 0.0, acc2 = 0.0, acc3 = 0.0
        var j = 0
        var p = start
        let stride4 = 4 * step
        while j + 4 <= count {
            acc0 += p[0] * (h / a0 * (1.0 + c0))
            acc1 += p[step] * (-h / a1 * (1.0 + c1))
            acc2 += p[2 * step] * (h / a2 * (1.0 + c2))
            acc3 += p[3 * step] * (-h / a3 * (1.0 + c3))
            a0 += fourPi; a1 += fourPi; a2 += fourPi; a3 += fourPi
            let n0 = c0 * c4 - s0 * s4, n1 = c1 * c4 - s1 * s4, n2 = c2 * c4 - s2 * s4, n3 = c3 * c4 - s3 * s4
            s0 = c0 * s4 + s0 * c4; s1 = c1 * s4 + s1 * c4; s2 = c2 * s4 + s2 * c4; s3 = c3 * s4 + s3 * c4
            c0 = n0; c1 = n1; c2 = n2; c3 = n3
            p += stride4
            j += 4
        }
        var sum = (acc0 + acc1) + (acc2 + acc3)
        // the remaining 0–3 taps continue lanes 0, 1, 2
        if j < count { sum += p[0] * (h / a0 * (1.0 + c0)) }
        if j + 1 < count { sum += p[step] * (-h / a1 * (1.0 + c1)) }
        if j + 2 < count { sum += p[2 * step] * (h / a2 * (1.0 + c2)) }
        return sum
    }
}
