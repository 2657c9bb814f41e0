// A trainable fully connected layer that owns its Parameters.

/// A fully connected layer `y = x · Wᵀ + b` with PyTorch's layout and default initialisation.
public final class Linear {
    /// `[out, in]`.
    public let weight: Parameter
    /// `[out]`, or nil.
    public let bias: Parameter?

    /// Creates the layer with `nn.Linear`'s initialisation: W, b ~ U(−1/√in, 1/√in) (seeded).
    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                generator: inout SeededGenerator) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Parameter(name: "\(name).weight", shape: [outFeatures, inFeatures])
        for i in 0..<weight.count { weight.value[i] = -bound + 2 * bound * generator.nextUniform() }
        if bias {
            let b = Parameter(name: "\(name).bias", shape: [outFeatures])
            for i in 0..<b.count { b.value[i] = -bound + 2 * bound * generator.nextUniform() }
            self.bias = b
        } else {
            self.bias = nil
        }
    }

    /// Learned parameters, weight first.
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    /// Forward `[..., in] → [..., out]`; with a tape, gradients reach `weight.grad` and `bias.grad`.
    public func callAsFunction(_ x: Tensor, tape: Tape? = nil) throws -> Tensor {
        let w = tape?.watch(weight) ?? weight.tensor
        let b = bias.map { tape?.watch($0) ?? $0.tensor }
        return try x.linear(weight: w, bias: b)
    }
}
