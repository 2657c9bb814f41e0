import EmoCore

/// An elementwise activation on `[B, C]`.
public final class ActivationLayer: Layer {
    /// Which function.
    public enum Kind: String, Sendable, CaseIterable {
        /// max(x, 0).
        case relu
        /// tanh(x).
        case tanh
    }

    /// The function applied.
    public let kind: Kind
    /// C.
    public let inFeatures: Int
    /// C.
    public var outFeatures: Int { inFeatures }
    private let output = FloatBuffer()  // [B, C], kept for backward (both derivatives need only y)
    private let inputGrad = FloatBuffer()  // [B, C]
    private var lastBatch = 0

    /// Creates the activation for rows of `features`.
    public init(_ kind: Kind, features: Int) {
        self.kind = kind
        inFeatures = features
    }

    /// No parameters.
    public var parameters: [ParameterStorage] { [] }

    /// y = f(x).
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) throws -> UnsafePointer<Float> {
        let n = batch * inFeatures
        let y = output.reserve(n)
        switch kind {
        case .relu: for i in 0..<n { y[i] = max(x[i], 0) }
        case .tanh: for i in 0..<n { y[i] = Float(_tanh(Double(x[i]))) }
        }
        lastBatch = batch
        return UnsafePointer(y)
    }

    /// dx = dy · f′(x), written in terms of y: ReLU 1[y > 0], tanh 1 − y².
    public func backward(_ dy: UnsafePointer<Float>, batch: Int) throws -> UnsafePointer<Float> {
        guard batch == lastBatch else {
            throw ComponentError.invalidInput(component: kind.rawValue, message: "backward of a \(batch)-row batch without a matching forward")
        }
        let n = batch * inFeatures
        let y = output.pointer
        let dx = inputGrad.reserve(n)
        switch kind {
        case .relu: for i in 0..<n { dx[i] = y[i] > 0 ? dy[i] : 0 }
        case .tanh: for i in 0..<n { dx[i] = dy[i] * (1 - y[i] * y[i]) }
        }
        return UnsafePointer(dx)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _tanh(_ x: Double) -> Double { Glibc.tanh(x) }
#else
import Foundation
@inline(__always) private func _tanh(_ x: Double) -> Double { Foundation.tanh(x) }
#endif
