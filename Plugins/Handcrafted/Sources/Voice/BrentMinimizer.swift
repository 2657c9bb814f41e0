// Brent's one-dimensional minimiser without derivatives (R. P. Brent, "Algorithms for Minimization without
// Derivatives", 1973, ch. 5: golden-section steps combined with parabolic interpolation), in the form of the
// classic netlib `fminbr` that Praat's peak refinement uses: the first point is the golden-section point of [a, b],
// the tolerance is sqrt(ε)·|x| + tol/3 with ε = 2^−53 (LAPACK's dlamch("E")), at most 60 iterations.

import Foundation

/// Brent's derivative-free minimisation on an interval.
enum BrentMinimizer {
    /// 1 − (√5 − 1)/2, the golden-section fraction.
    static let golden = 1.0 - 0.6180339887498948482
    /// √ε with ε = 2^−53, the relative machine precision.
    static let sqrtEpsilon = (0x1p-53 as Double).squareRoot()

    /// A local minimum of `f` in [a, b]: its abscissa and value.
    static func minimize(a lower: Double, b upper: Double, tolerance tol: Double,
                         _ f: (Double) -> Double) -> (x: Double, fx: Double) {
        var a = lower, b = upper
        var v = a + golden * (b - a)
        var fv = f(v)
        var x = v, w = v
        var fx = fv, fw = fv
        for _ in 0..<60 {
            let range = b - a
            let middle = (a + b) / 2.0
            let tolAct = sqrtEpsilon * abs(x) + tol / 3.0
            if abs(x - middle) + range / 2.0 <= 2.0 * tolAct { return (x, fx) }
            // golden-section step into the larger part
            var step = golden * (x < middle ? b - x : a - x)
            // a parabola through (v, fv), (w, fw), (x, fx), if far enough apart
            if abs(x - w) >= tolAct {
                let t = (x - w) * (fx - fv)
                var q = (x - v) * (fx - fw)
                var p = (x - v) * q - (x - w) * t
                q = 2.0 * (q - t)
                if q > 0.0 { p = -p } else { q = -q }
                if abs(p) < abs(step * q) && p > q * (a - x + 2.0 * tolAct) && p < q * (b - x - 2.0 * tolAct) {
                    step = p / q
                }
            }
            if abs(step) < tolAct { step = step > 0.0 ? tolAct : -tolAct }
            let t = x + step
            let ft = f(t)
            if ft <= fx {
                if t < x { b = x } else { a = x }
                v = w; w = x; x = t
                fv = fw; fw = fx; fx = ft
            } else {
                if t < x { a = t } else { b = t }
                if ft <= fw || w == x {
                    v = w; w = t
                    fv = fw; fw = ft
                } else if ft <= fv || v == x || v == w {
                    v = t
                    fv = ft
                }
            }
        }
        return (x, fx)
    }
}
