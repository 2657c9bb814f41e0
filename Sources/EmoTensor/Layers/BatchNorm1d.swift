// A trainable batch-norm layer with running statistics kept as non-learned buffers.

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
