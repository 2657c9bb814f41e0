// GELU and softmax backward.
import Foundation

extension Kernels {
    /// GELU backward: `dx[i] = dy[i] · gelu'(x[i])` (exact or tanh form, matching `gelu`).
    public static func geluBackward(x: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                    gradInput: UnsafeMutablePointer<Float>, count: Int,
                                    approximation: GELUApproximation = .none) {
        switch approximation {
        case .none:
            let invSqrt2: Float = 0.70710678118654752440, invSqrt2Pi: Float = 0.39894228040143267794
            var start = 0
            while start + 8 <= count {
                let v = load8(x + start)
                let cdf = 0.5 * (1 + erf8(v * invSqrt2))
                let pdf = invSqrt2Pi * expNonPositive8(-0.5 * v * v)
                store8(load8(gradOutput + start) * (cdf + v * pdf), gradInput + start)
                start += 8
            }
            for i in start..<count {
                let v = x[i]
                let cdf = 0.5 * (1 + erff(v * invSqrt2))
                let pdf = invSqrt2Pi * expf(-0.5 * v * v)
                gradInput[i] = gradOutput[i] * (cdf + v * pdf)
            }
        case .tanh:
            let k0: Float = 0.79788456080286535588, k1: Float = 0.044715
            for i in 0..<count {
                let v = x[i]
                let inner = k0 * (v + k1 * v * v * v)
                let t = tanhf(inner)
                let dInner = k0 * (1 + 3 * k1 * v * v)
                gradInput[i] = gradOutput[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * dInner)
            }
        }
    }

    /// Softmax backward over rows: `dx = y ⊙ (dy − Σ_j dy_j · y_j)`; y, dy, dx `[N, D]` (dx may alias dy).
    public static func softmaxBackward(y: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>, rows n: Int,
                                       columns d: Int, gradInput: UnsafeMutablePointer<Float>) {
        for r in 0..<n {
            let yr = y + r * d, gr = gradOutput + r * d, dr = gradInput + r * d
            var dot: Float = 0
            for j in 0..<d { dot += gr[j] * yr[j] }
            for j in 0..<d { dr[j] = yr[j] * (gr[j] - dot) }
        }
    }
}
