import Dispatch
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Adam, or AdamW with `decoupledWeightDecay` (torch.optim.Adam / torch.optim.AdamW, amsgrad off).
///
/// One optimiser, two kernels for the same update (torch's `_single_tensor_adam`: bias corrections in Double,
/// `denom = √v / √bc2 + ε`, `θ −= lr/bc1 · m / denom`, coupled `grad += wd·θ` or decoupled `θ ·= 1 − lr·wd`):
/// - ``Numerics/torchExact`` repeats torch's roundings, fused multiply-adds included, and so matches it bit for bit
///   (checked against torch fixtures). On baseline x86-64 builds each `fma` is a libm call per element.
/// - ``Numerics/vectorized(threads:)`` evaluates the same expressions in SIMD4 without fused multiply-adds and
///   splits large tensors across threads (as torch's elementwise kernels do): results differ from torch in the last
///   bits only (≤ 1e-6 relative after several steps, tested), several times faster. The trainer uses it.
public final class Adam: Optimizer {
    /// How the update is evaluated.
    public enum Numerics: Sendable, Equatable {
        /// torch's operation order and roundings, one element at a time.
        case torchExact
        /// SIMD4 without fused multiply-adds; tensors of 65,536 values or more split across `threads`.
        case vectorized(threads: Int)
    }

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
    /// How the update is evaluated.
    public let numerics: Numerics
    /// Zero each gradient in the same memory pass that reads it (saves the caller a separate zeroing pass).
    public let zeroesGradients: Bool
    /// Steps taken so far.
    public private(set) var stepCount = 0
    private let moments: [UnsafeMutablePointer<Float>]  // per parameter: [m (count), v (count)], inside `storage`
    /// One block for every parameter's moments: a fine-tuned encoder's moments are twice its weights, and one
    /// allocation of that size is mapped and unmapped whole, so releasing the optimiser returns it to the system
    /// (thousands of per-tensor blocks below malloc's mmap threshold would stay resident in its heap).
    private let storage: UnsafeMutablePointer<Float>

    /// Creates Adam (defaults of torch.optim.Adam).
    public init(parameters: [ParameterView], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false,
                numerics: Numerics = .torchExact, zeroesGradients: Bool = false) throws {
        guard learningRate >= 0, eps >= 0, weightDecay >= 0, (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw TensorError.invalidArgument("Adam: need lr ≥ 0, eps ≥ 0, weight decay ≥ 0 and betas in [0, 1)")
        }
        if case .vectorized(let threads) = numerics, threads < 1 {
            throw TensorError.invalidArgument("Adam: vectorized numerics need at least one thread, got \(threads)")
        }
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        self.numerics = numerics
        self.zeroesGradients = zeroesGradients
        let total = max(parameters.reduce(0) { $0 + 2 * $1.count }, 1)
        let block = UnsafeMutablePointer<Float>.allocate(capacity: total)
        block.initialize(repeating: 0, count: total)
        var offset = 0
        moments = parameters.map { p in
            defer { offset += 2 * p.count }
            return block + offset
        }
        storage = block
    }

    /// AdamW with torch.optim.AdamW's defaults (weight decay 0.01).
    public static func adamW(parameters: [ParameterView], learningRate: Double = 1e-3, beta1: Double = 0.9,
                             beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 1e-2,
                             numerics: Numerics = .torchExact, zeroesGradients: Bool = false) throws -> Adam {
        try Adam(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps,
                 weightDecay: weightDecay, decoupledWeightDecay: true, numerics: numerics,
                 zeroesGradients: zeroesGradients)
    }

    deinit { storage.deallocate() }

    /// The step count and both moments of every parameter.
    public func state() -> [UInt8] {
        OptimizerStateCoding.encode(step: stepCount, tensors: zip(moments, parameters).map { (UnsafePointer($0.0), 2 * $0.1.count) })
    }

    /// Restores `state()`'s step count and moments.
    public func restore(_ bytes: [UInt8]) throws {
        let saved = try OptimizerStateCoding.decode(bytes, expected: parameters.map { 2 * $0.count }, optimizer: "Adam")
        for (index, values) in saved.tensors.enumerated() {
            guard let values else {
                throw TensorError.invalidArgument("Adam state: tensor \(index) has no moments saved")
            }
            moments[index].update(from: values, count: values.count)
        }
        stepCount = saved.step
    }

    /// One Adam step over every parameter.
    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let c = Coefficients(
            negStep: Float(-(learningRate / (1 - pow(beta1, t)))), bc2Sqrt: Float((1 - pow(beta2, t)).squareRoot()),
            oneMinusB1: Float(1 - beta1), b2: Float(beta2), oneMinusB2: Float(1 - beta2), eps: Float(eps),
            coupled: decoupledWeightDecay ? 0 : Float(weightDecay),
            decay: decoupledWeightDecay ? Float(1 - learningRate * weightDecay) : 1, zero: zeroesGradients)
        for (index, p) in parameters.enumerated() {
            let job = Job(value: p.value, grad: p.grad, m: moments[index], v: moments[index] + p.count)
            switch numerics {
            case .torchExact:
                Self.exactUpdate(job, p.count, c, hasDecay: weightDecay != 0)
            case .vectorized(let threads):
                let parts = p.count >= 1 << 16 ? threads : 1
                if parts == 1 {
                    Self.vectorUpdate(job, 0, p.count, c)
                } else {
                    let chunk = (p.count / parts + 7) / 8 * 8
                    DispatchQueue.concurrentPerform(iterations: parts) { i in
                        let start = i * chunk
                        Self.vectorUpdate(job, start, min(p.count, start + chunk), c)
                    }
                }
            }
        }
    }

    /// Zeroes the gradients.
    public func zeroGrad() { Self.zero(parameters) }

    private struct Coefficients: Sendable {
        var negStep, bc2Sqrt, oneMinusB1, b2, oneMinusB2, eps, coupled, decay: Float
        var zero: Bool
    }

    /// The pointers one tensor's update touches (disjoint ranges go to different threads).
    private struct Job: @unchecked Sendable {
        let value, grad, m, v: UnsafeMutablePointer<Float>
    }

    /// torch's `_single_tensor_adam`, rounding for rounding.
    private static func exactUpdate(_ j: Job, _ count: Int, _ c: Coefficients, hasDecay: Bool) {
        for i in 0..<count {
            var grad = j.grad[i]
            if hasDecay {
                if c.coupled == 0 { j.value[i] = j.value[i] * c.decay } else {
                    grad = fusedMultiplyAdd(c.coupled, j.value[i], grad)
                }
            }
            // exp_avg.lerp_(grad, 1 − β1), as torch's vectorised lerp: fma(w, end − start, start) for
            // |w| < 0.5, else fma(w − 1, end − start, end).
            j.m[i] = c.oneMinusB1 < 0.5 ? fusedMultiplyAdd(c.oneMinusB1, grad - j.m[i], j.m[i])
                : fusedMultiplyAdd(c.oneMinusB1 - 1, grad - j.m[i], grad)
            j.v[i] = j.v[i] * c.b2 + c.oneMinusB2 * grad * grad
            let denom = j.v[i].squareRoot() / c.bc2Sqrt + c.eps
            j.value[i] = j.value[i] + c.negStep * j.m[i] / denom
            if c.zero { j.grad[i] = 0 }
        }
    }

    /// The same update in SIMD4 without fused multiply-adds, over `start..<end`.
    private static func vectorUpdate(_ j: Job, _ start: Int, _ end: Int, _ c: Coefficients) {
        var i = start
        let negStep = SIMD4(repeating: c.negStep), bc2 = SIMD4(repeating: c.bc2Sqrt), w1 = SIMD4(repeating: c.oneMinusB1)
        let b2 = SIMD4(repeating: c.b2), w2 = SIMD4(repeating: c.oneMinusB2), eps = SIMD4(repeating: c.eps)
        let coupled = SIMD4(repeating: c.coupled), decay = SIMD4(repeating: c.decay)
        while i + 4 <= end {
            var theta = load(j.value + i)
            var g = load(j.grad + i)
            g += coupled * theta
            theta *= decay
            var m = load(j.m + i), v = load(j.v + i)
            m += w1 * (g - m)
            v = v * b2 + w2 * g * g
            theta += negStep * m / (squareRoot(v) / bc2 + eps)
            store(theta, j.value + i)
            if c.zero { store(SIMD4(repeating: 0), j.grad + i) }
            store(m, j.m + i)
            store(v, j.v + i)
            i += 4
        }
        while i < end {
            var g = j.grad[i]
            g += c.coupled * j.value[i]
            j.value[i] *= c.decay
            j.m[i] += c.oneMinusB1 * (g - j.m[i])
            j.v[i] = j.v[i] * c.b2 + c.oneMinusB2 * g * g
            j.value[i] += c.negStep * j.m[i] / (j.v[i].squareRoot() / c.bc2Sqrt + c.eps)
            if c.zero { j.grad[i] = 0 }
            i += 1
        }
    }

    @inline(__always) private static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
    }

    @inline(__always) private static func store(_ x: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: x, as: SIMD4<Float>.self)
    }

    /// Lane-wise √x. On Linux `Float.squareRoot()` becomes a `sqrtf` call (errno semantics), which blocks
    /// vectorisation; on x86-64 the SSE instruction is used directly.
    @inline(__always) private static func squareRoot(_ x: SIMD4<Float>) -> SIMD4<Float> {
        #if arch(x86_64)
        return _mm_sqrt_ps(x)
        #else
        return x.squareRoot()
        #endif
    }
}
