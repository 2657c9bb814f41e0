// Optimisers on plain (value, grad, count) lists, matching torch.optim's single-tensor (CPU) numerics.
//
// Matching torch bit for bit means doing each step in the same order with the same Float/Double roundings:
// torch keeps hyper-parameters as Python floats (Double) and casts them to Float32 where they meet a tensor.

/// Something that updates parameters from their gradients.
public protocol Optimizer: AnyObject {
    /// The current learning rate (schedules change it between steps).
    var learningRate: Double { get set }
    /// One update of every parameter from its current gradient.
    func step()
    /// Sets every gradient to zero.
    func zeroGrad()
}

extension Optimizer {
    /// Zeroes the gradients of `parameters`.
    static func zero(_ parameters: [ParameterView]) {
        for p in parameters { p.grad.update(repeating: 0, count: p.count) }
    }
}

/// Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD).
public final class SGD: Optimizer {
    /// The parameters updated by `step`.
    public let parameters: [ParameterView]
    /// Step size.
    public var learningRate: Double
    /// Momentum factor (0 = plain SGD).
    public let momentum: Double
    /// Dampening of the gradient added to the momentum buffer.
    public let dampening: Double
    /// L2 penalty added to the gradient (coupled weight decay).
    public let weightDecay: Double
    /// Nesterov momentum.
    public let nesterov: Bool
    private var buffers: [UnsafeMutablePointer<Float>?]

    /// Creates the optimiser; throws when Nesterov is asked without momentum or with dampening (as torch does).
    public init(parameters: [ParameterView], learningRate: Double, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false) throws {
        guard learningRate >= 0, momentum >= 0, weightDecay >= 0 else {
            throw TensorError.invalidArgument("SGD: learning rate, momentum and weight decay must be ≥ 0")
        }
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw TensorError.invalidArgument("SGD: Nesterov momentum requires momentum > 0 and zero dampening")
        }
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        buffers = [UnsafeMutablePointer<Float>?](repeating: nil, count: parameters.count)
    }

    deinit { buffers.forEach { $0?.deallocate() } }

    /// One SGD step.
    public func step() {
        let wd = Float(weightDecay), mom = Float(momentum), oneMinusDamp = Float(1 - dampening), negLR = Float(-learningRate)
        for (index, p) in parameters.enumerated() {
            let v = p.value, g = p.grad
            var firstStep = false
            let buffer: UnsafeMutablePointer<Float>?
            if momentum != 0 {
                if let existing = buffers[index] {
                    buffer = existing
                } else {
                    let fresh = UnsafeMutablePointer<Float>.allocate(capacity: max(p.count, 1))
                    fresh.initialize(repeating: 0, count: p.count)
                    buffers[index] = fresh
                    buffer = fresh
                    firstStep = true
                }
            } else {
                buffer = nil
            }
            // torch's vectorised `a.add(b, alpha=α)` is one fused multiply-add: fma(α, b, a).
            for i in 0..<p.count {
                var d = g[i]
                if weightDecay != 0 { d = fusedMultiplyAdd(wd, v[i], d) }
                if let buffer {
                    buffer[i] = firstStep ? d : fusedMultiplyAdd(oneMinusDamp, d, buffer[i] * mom)
                    d = nesterov ? fusedMultiplyAdd(mom, buffer[i], d) : buffer[i]
                }
                v[i] = fusedMultiplyAdd(negLR, d, v[i])
            }
        }
    }

    /// Zeroes the gradients.
    public func zeroGrad() { Self.zero(parameters) }
}

/// Adam, or AdamW with `decoupledWeightDecay` (torch.optim.Adam / torch.optim.AdamW, amsgrad off).
public final class Adam: Optimizer {
    /// The parameters updated by `step`.
    public let parameters: [ParameterView]
    /// Step size.
    public var learningRate: Double
    /// Decay of the first-moment average.
    public let beta1: Double
    /// Decay of the second-moment average.
    public let beta2: Double
    /// Added to the denominator.
    public let eps: Double
    /// L2 (Adam) or decoupled (AdamW) weight decay.
    public let weightDecay: Double
    /// True for AdamW: `θ ← θ · (1 − lr·wd)` before the Adam update instead of adding wd·θ to the gradient.
    public let decoupledWeightDecay: Bool
    /// Steps taken so far.
    public private(set) var stepCount = 0
    private let moments: [UnsafeMutablePointer<Float>]  // per parameter: [m (count), v (count)]

    /// Creates Adam (defaults of torch.optim.Adam).
    public init(parameters: [ParameterView], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false) throws {
        guard learningRate >= 0, eps >= 0, weightDecay >= 0, (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw TensorError.invalidArgument("Adam: need lr ≥ 0, eps ≥ 0, weight decay ≥ 0 and betas in [0, 1)")
        }
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        moments = parameters.map { p in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(2 * p.count, 1))
            buffer.initialize(repeating: 0, count: 2 * p.count)
            return buffer
        }
    }

    /// AdamW with torch.optim.AdamW's defaults (weight decay 0.01).
    public static func adamW(parameters: [ParameterView], learningRate: Double = 1e-3, beta1: Double = 0.9,
                             beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 1e-2) throws -> Adam {
        try Adam(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps,
                 weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    deinit { moments.forEach { $0.deallocate() } }

    /// One Adam step (same operation order as torch's `_single_tensor_adam`).
    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2 = 1 - pow(beta2, t)
        let negStepSize = Float(-(learningRate / biasCorrection1))
        let bc2Sqrt = Float(biasCorrection2.squareRoot())
        let lerpWeight = Float(1 - beta1), b2 = Float(beta2), oneMinusB2 = Float(1 - beta2), epsF = Float(eps)
        let decay = Float(1 - learningRate * weightDecay), wd = Float(weightDecay)
        for (index, p) in parameters.enumerated() {
            let v = p.value, g = p.grad, m = moments[index], s = moments[index] + p.count
            for i in 0..<p.count {
                var grad = g[i]
                if weightDecay != 0 {
                    if decoupledWeightDecay { v[i] = v[i] * decay } else { grad = fusedMultiplyAdd(wd, v[i], grad) }
                }
                // exp_avg.lerp_(grad, 1 − β1), as torch's vectorised lerp: fma(w, end − start, start) for
                // |w| < 0.5, else fma(w − 1, end − start, end).
                m[i] = lerpWeight < 0.5 ? fusedMultiplyAdd(lerpWeight, grad - m[i], m[i])
                    : fusedMultiplyAdd((lerpWeight - 1), grad - m[i], grad)
                s[i] = s[i] * b2 + oneMinusB2 * grad * grad
                let denom = s[i].squareRoot() / bc2Sqrt + epsF
                v[i] = v[i] + negStepSize * m[i] / denom
            }
        }
    }

    /// Zeroes the gradients.
    public func zeroGrad() { Self.zero(parameters) }
}

/// `a · b + c` with one rounding (what torch's vectorised CPU kernels compute for `c.add(b, alpha=a)`).
@inline(__always)
func fusedMultiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
