import Dispatch
import EmoTensor
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Adam / AdamW over plain parameter views, written for speed: SIMD4 arithmetic without fused multiply-add and
/// large tensors split across threads (as torch's elementwise kernels split them).
///
/// Numerics are torch.optim.Adam's (`_single_tensor_adam`: bias corrections in Double, `denom = √v / √bc2 + ε`,
/// `θ −= lr/bc1 · m / denom`, coupled `grad += wd·θ` or decoupled `θ ·= 1 − lr·wd`), evaluated without
/// fused multiply-adds, so results differ from torch in the last bits only. EmoTensor's `Adam` reproduces torch
/// bit for bit through `fusedMultiplyAdd`, which on baseline x86-64 builds is a libm call per element (about
/// 6 s per epoch of the 3.1 M-parameter Study A model on this machine, half the epoch); the trainer uses this
/// type for its Adam steps for that reason.
public final class VectorizedAdam: Optimizer {
    /// The parameters updated by `step`.
    public let parameters: [ParameterView]
    /// Step size.
    public var learningRate: Double
    /// First-moment decay.
    public let beta1: Double
    /// Second-moment decay.
    public let beta2: Double
    /// Added to the denominator.
    public let eps: Double
    /// Coupled (Adam) or decoupled (AdamW) weight decay.
    public let weightDecay: Double
    /// True for AdamW.
    public let decoupledWeightDecay: Bool
    /// Steps taken.
    public private(set) var stepCount = 0
    /// Threads a large tensor is split across.
    public let threads: Int
    /// Zero each gradient in the same memory pass that reads it (saves the host a separate zeroing pass).
    public let zeroesGradients: Bool
    private let moments: [UnsafeMutablePointer<Float>]  // per parameter: m [count], then v [count]

    /// Creates the optimiser (torch.optim.Adam defaults; `decoupledWeightDecay` makes it AdamW).
    public init(parameters: [ParameterView], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false, threads: Int = 2,
                zeroesGradients: Bool = false) throws {
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
        self.threads = max(1, threads)
        self.zeroesGradients = zeroesGradients
        moments = parameters.map { p in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(2 * p.count, 1))
            buffer.initialize(repeating: 0, count: max(2 * p.count, 1))
            return buffer
        }
    }

    deinit { moments.forEach { $0.deallocate() } }

    /// One update of every parameter.
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
            let parts = p.count >= 1 << 16 ? threads : 1
            if parts == 1 {
                Self.update(job, 0, p.count, c)
            } else {
                let chunk = (p.count / parts + 7) / 8 * 8
                DispatchQueue.concurrentPerform(iterations: parts) { i in
                    let start = i * chunk
                    Self.update(job, start, min(p.count, start + chunk), c)
                }
            }
        }
    }

    /// Zeroes the gradients.
    public func zeroGrad() { for p in parameters { p.grad.update(repeating: 0, count: p.count) } }

    private struct Coefficients: Sendable {
        var negStep, bc2Sqrt, oneMinusB1, b2, oneMinusB2, eps, coupled, decay: Float
        var zero: Bool
    }

    /// The pointers one tensor's update touches (disjoint ranges go to different threads).
    private struct Job: @unchecked Sendable {
        let value, grad, m, v: UnsafeMutablePointer<Float>
    }

    private static func update(_ j: Job, _ start: Int, _ end: Int, _ c: Coefficients) {
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

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
