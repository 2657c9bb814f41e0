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
    /// What `step` carries from one call to the next (Adam: the step count and both moments; SGD: the momentum
    /// buffers), for a training checkpoint.
    func state() -> [UInt8]
    /// Restores `state()`'s bytes; throws when they were saved for other parameter sizes.
    func restore(_ bytes: [UInt8]) throws
}

extension Optimizer {
    /// Zeroes the gradients of `parameters`.
    static func zero(_ parameters: [ParameterView]) {
        for p in parameters { p.grad.update(repeating: 0, count: p.count) }
    }
}

/// The byte layout of optimiser states (little-endian): UInt64 step count, UInt32 tensor count, then per tensor a
/// UInt64 float count (0 = no buffer yet) and the Float32 bit patterns.
enum OptimizerStateCoding {
    static func encode(step: Int, tensors: [(UnsafePointer<Float>?, Int)]) -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt64(step))
        put(UInt32(tensors.count))
        for (pointer, count) in tensors {
            guard let pointer else { put(UInt64(0)); continue }
            put(UInt64(count))
            for i in 0..<count { put(pointer[i].bitPattern) }
        }
        return out
    }

    /// The step count and each tensor's floats (nil where none was saved), checked against `expected` counts.
    static func decode(_ bytes: [UInt8], expected: [Int], optimizer: String) throws -> (step: Int, tensors: [[Float]?]) {
        var offset = 0
        func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let n = MemoryLayout<T>.size
            guard offset + n <= bytes.count else {
                throw TensorError.invalidArgument("\(optimizer) state: truncated at byte \(offset) of \(bytes.count)")
            }
            defer { offset += n }
            return bytes[offset..<(offset + n)].reversed().reduce(T(0)) { ($0 << 8) | T($1) }
        }
        let step = Int(try read(UInt64.self))
        let count = Int(try read(UInt32.self))
        guard count == expected.count else {
            throw TensorError.invalidArgument("\(optimizer) state: \(count) tensors saved, this optimiser has \(expected.count)")
        }
        var tensors: [[Float]?] = []
        for (index, want) in expected.enumerated() {
            let n = Int(try read(UInt64.self))
            guard n != 0 else { tensors.append(nil); continue }
            guard n == want else {
                throw TensorError.invalidArgument("\(optimizer) state: tensor \(index) has \(n) values saved, this optimiser needs \(want)")
            }
            var values = [Float](repeating: 0, count: n)
            for i in 0..<n { values[i] = Float(bitPattern: try read(UInt32.self)) }
            tensors.append(values)
        }
        guard offset == bytes.count else {
            throw TensorError.invalidArgument("\(optimizer) state: \(bytes.count - offset) trailing bytes")
        }
        return (step, tensors)
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

    /// The momentum buffers (none before the first step or without momentum).
    public func state() -> [UInt8] {
        OptimizerStateCoding.encode(step: 0, tensors: zip(buffers, parameters).map { (UnsafePointer($0.0), $0.1.count) })
    }

    /// Restores `state()`'s momentum buffers.
    public func restore(_ bytes: [UInt8]) throws {
        let saved = try OptimizerStateCoding.decode(bytes, expected: parameters.map(\.count), optimizer: "SGD")
        for (index, values) in saved.tensors.enumerated() {
            buffers[index]?.deallocate()
            buffers[index] = nil
            guard let values else { continue }
            let fresh = UnsafeMutablePointer<Float>.allocate(capacity: max(values.count, 1))
            fresh.initialize(from: values, count: values.count)
            buffers[index] = fresh
        }
    }
}

/// `a · b + c` with one rounding (what torch's vectorised CPU kernels compute for `c.add(b, alpha=a)`).
@inline(__always)
func fusedMultiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
