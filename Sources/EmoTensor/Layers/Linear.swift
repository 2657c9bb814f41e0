// Trainable layers that own their Parameters (what an MLP is built from).

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

/// Batch norm over `[N, C]` with learned affine and running statistics (PyTorch `nn.BatchNorm1d`).
public final class BatchNorm1d {
    /// γ `[C]`, initialised to 1.
    public let gamma: Parameter
    /// β `[C]`, initialised to 0.
    public let beta: Parameter
    /// Running mean `[C]` (buffer, not learned).
    public let runningMean: Parameter
    /// Running variance `[C]` (buffer, not learned).
    public let runningVariance: Parameter
    /// Weight of the newest batch in the running statistics.
    public let momentum: Float
    /// Added to the variance.
    public let eps: Float
    /// Batch statistics when true, running statistics when false.
    public var training = true

    /// Creates the layer (names follow PyTorch: weight, bias, running_mean, running_var).
    public init(name: String, features: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        gamma = Parameter(name: "\(name).weight", shape: [features], repeating: 1)
        beta = Parameter(name: "\(name).bias", shape: [features], repeating: 0)
        runningMean = Parameter(name: "\(name).running_mean", shape: [features], repeating: 0, isBuffer: true)
        runningVariance = Parameter(name: "\(name).running_var", shape: [features], repeating: 1, isBuffer: true)
        self.momentum = momentum
        self.eps = eps
    }

    /// Learned parameters then buffers.
    public var parameters: [Parameter] { [gamma, beta, runningMean, runningVariance] }

    /// Forward `[N, C] → [N, C]`.
    public func callAsFunction(_ x: Tensor, tape: Tape? = nil) throws -> Tensor {
        try x.batchNorm(gamma: tape?.watch(gamma) ?? gamma.tensor, beta: tape?.watch(beta) ?? beta.tensor,
                        runningMean: runningMean, runningVariance: runningVariance, training: training,
                        momentum: momentum, eps: eps)
    }
}
