import EmoCore
import Foundation

/// How Integrated Gradients approximates the path integral: the points `alphas` in [0, 1] where gradients are
/// taken and the weight `stepSizes` of each, exactly as Captum 0.9 builds them
/// (`captum/attr/_utils/approximation_methods.py`).
public enum IntegrationMethod: String, CaseIterable, Sendable {
    /// Left Riemann sum: alphas `linspace(0, 1 − 1/n, n)`, steps `1/n`.
    case riemannLeft = "riemann_left"
    /// Right Riemann sum: alphas `linspace(1/n, 1, n)`, steps `1/n`.
    case riemannRight = "riemann_right"
    /// Midpoint Riemann sum: alphas `linspace(1/(2n), 1 − 1/(2n), n)`, steps `1/n`.
    case riemannMiddle = "riemann_middle"
    /// Captum's "trapezoid": alphas `linspace(0, 1, n)`, steps `1/n` with the first and last halved.
    case riemannTrapezoid = "riemann_trapezoid"
    /// Gauss–Legendre quadrature with n nodes, rescaled from [−1, 1] to [0, 1] (Captum's default).
    case gaussLegendre = "gausslegendre"

    /// The smallest `n_steps` Captum accepts for this method.
    public var minimumSteps: Int { self == .gaussLegendre ? 1 : 2 }

    /// Step sizes (as Float32, which is how Captum multiplies them: `torch.tensor(step_sizes).float()`) and
    /// alphas (Float32: Captum's Riemann alphas come from a float32 `torch.linspace`; the Gauss–Legendre ones are
    /// doubles that torch rounds to float32 when it scales the float32 input). Throws when `n` is below
    /// `minimumSteps`.
    public func rule(steps n: Int) throws(ComponentError) -> (stepSizes: [Float], alphas: [Float]) {
        guard n >= minimumSteps else {
            throw .invalidConfig(component: "integrated-gradients",
                                 message: "n_steps is \(n); \(rawValue) needs at least \(minimumSteps)")
        }
        let h = 1.0 / Double(n)
        switch self {
        case .riemannLeft:
            return ([Float](repeating: Float(h), count: n), Self.linspace(0, 1 - h, n))
        case .riemannRight:
            return ([Float](repeating: Float(h), count: n), Self.linspace(h, 1, n))
        case .riemannMiddle:
            return ([Float](repeating: Float(h), count: n), Self.linspace(h / 2, 1 - h / 2, n))
        case .riemannTrapezoid:
            var steps = [Double](repeating: h, count: n)
            steps[0] /= 2
            steps[n - 1] /= 2
            return (steps.map { Float($0) }, Self.linspace(0, 1, n))
        case .gaussLegendre:
            let (nodes, weights) = Self.gaussLegendre(n)
            return (weights.map { Float(0.5 * $0) }, nodes.map { Float(0.5 * (1 + $0)) })
        }
    }

    /// `torch.linspace(start, end, n)` in float32 (the CPU kernel's scalar path: the first half counts up from
    /// `start`, the second half down from `end`, with `step = (end − start) / (n − 1)` in float32).
    static func linspace(_ start: Double, _ end: Double, _ n: Int) -> [Float] {
        let s = Float(start), e = Float(end)
        guard n > 1 else { return [s] }
        let step = (e - s) / Float(n - 1)
        let halfway = n / 2
        return (0..<n).map { i in i < halfway ? s + step * Float(i) : e - step * Float(n - i - 1) }
    }

    /// Nodes (ascending, in [−1, 1]) and weights (summing to 2) of n-point Gauss–Legendre quadrature, in double
    /// precision: Newton's method on the Legendre polynomial from Chebyshev-like starting points, then the same
    /// symmetrisation and normalisation as `numpy.polynomial.legendre.leggauss`.
    static func gaussLegendre(_ n: Int) -> (nodes: [Double], weights: [Double]) {
        var x = [Double](repeating: 0, count: n)
        var w = [Double](repeating: 0, count: n)
        for i in 0..<n {
            // i-th root counted from the largest; cos guess (Abramowitz & Stegun 22.16.6).
            var z = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                let (p, dp) = legendre(n, z)
                derivative = dp
                let dz = p / dp
                z -= dz
                if abs(dz) < 1e-16 { break }
            }
            derivative = legendre(n, z).derivative
            x[n - 1 - i] = z
            w[n - 1 - i] = 2 / ((1 - z * z) * derivative * derivative)
        }
        // Symmetrise exactly as numpy does, and make the weights sum to 2.
        let xs = (0..<n).map { (x[$0] - x[n - 1 - $0]) / 2 }
        var ws = (0..<n).map { (w[$0] + w[n - 1 - $0]) / 2 }
        let total = ws.reduce(0, +)
        ws = ws.map { $0 * 2 / total }
        return (xs, ws)
    }

    /// P_n(z) and P_n'(z) by the three-term recurrence.
    private static func legendre(_ n: Int, _ z: Double) -> (value: Double, derivative: Double) {
        var p0 = 1.0, p1 = z
        if n == 0 { return (1, 0) }
        for k in 2...max(2, n) where n >= 2 {
            let pk = (Double(2 * k - 1) * z * p1 - Double(k - 1) * p0) / Double(k)
            p0 = p1
            p1 = pk
        }
        let dp = Double(n) * (z * p1 - p0) / (z * z - 1)
        return (p1, dp)
    }
}
