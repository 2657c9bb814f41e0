import EmoCore

/// Batch normalisation over the rows of `[B, C]` (PyTorch `nn.BatchNorm1d`, eps 1e-5, momentum 0.1, affine,
/// running statistics tracked).
///
/// Training: normalises with the batch's mean and biased variance and updates the running statistics with the
/// unbiased variance. Evaluation: normalises with the running statistics.
/// Parameters: `weight` γ `[C]`, `bias` β `[C]`; buffers `running_mean`, `running_var` `[C]`.
public final class BatchNormLayer: Layer {
    /// C.
    public let inFeatures: Int
    /// C.
    public var outFeatures: Int { inFeatures }
    /// γ `[C]`, initialised to 1.
    public let weight: ParameterStorage
    /// β `[C]`, initialised to 0.
    public let bias: ParameterStorage
    /// `[C]`, initialised to 0.
    public let runningMean: ParameterStorage
    /// `[C]`, initialised to 1.
    public let runningVar: ParameterStorage
    /// Added to the variance before the square root.
    public let eps: Float
    /// Weight of the new batch statistic in the running average.
    public let momentum: Float
    private let output = FloatBuffer()  // [B, C]
    private let normalized = FloatBuffer()  // x̂ [B, C]
    private let inputGrad = FloatBuffer()  // [B, C]
    private let invStd = FloatBuffer()  // [C], 1/√(σ² + eps) of the last forward
    private let sums = FloatBuffer()  // [2C] scratch
    private var lastBatch = 0
    private var lastTraining = false

    /// Creates the layer with γ = 1, β = 0, running mean 0 and running variance 1.
    public init(_ features: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
        inFeatures = features
        self.eps = eps
        self.momentum = momentum
        weight = ParameterStorage("weight", shape: [features])
        bias = ParameterStorage("bias", shape: [features])
        runningMean = ParameterStorage("running_mean", shape: [features], isBuffer: true)
        runningVar = ParameterStorage("running_var", shape: [features], isBuffer: true)
        weight.fill { _ in 1 }
        runningVar.fill { _ in 1 }
        invStd.reserve(features)
        sums.reserve(2 * features)
    }

    /// γ, β, running mean, running variance (PyTorch's state_dict order, without `num_batches_tracked`).
    public var parameters: [ParameterStorage] { [weight, bias, runningMean, runningVar] }

    /// y = γ · (x − μ) / √(σ² + eps) + β, per column.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) throws -> UnsafePointer<Float> {
        let c = inFeatures
        if training && batch < 2 {
            throw ComponentError.invalidInput(component: "batch-norm",
                                message: "training with a batch of \(batch) row: batch statistics need at least 2 rows (drop the last short batch or use a larger batch size)")
        }
        let y = output.reserve(batch * c)
        let xh = normalized.reserve(batch * c)
        let inv = invStd.pointer
        let gamma = weight.value, beta = bias.value
        if training {
            let mean = sums.pointer, varSum = sums.pointer + c
            mean.update(repeating: 0, count: c)
            varSum.update(repeating: 0, count: c)
            for r in 0..<batch {
                let row = x + r * c
                for j in 0..<c { mean[j] += row[j] }
            }
            let scale = 1 / Float(batch)
            for j in 0..<c { mean[j] *= scale }
            for r in 0..<batch {
                let row = x + r * c
                for j in 0..<c {
                    let d = row[j] - mean[j]
                    varSum[j] += d * d
                }
            }
            let rm = runningMean.value, rv = runningVar.value
            let unbias = 1 / Float(batch - 1)
            for j in 0..<c {
                inv[j] = 1 / (varSum[j] * scale + eps).squareRoot()
                rm[j] = (1 - momentum) * rm[j] + momentum * mean[j]
                rv[j] = (1 - momentum) * rv[j] + momentum * varSum[j] * unbias
            }
            for r in 0..<batch {
                let row = x + r * c, xr = xh + r * c, yr = y + r * c
                for j in 0..<c {
                    let n = (row[j] - mean[j]) * inv[j]
                    xr[j] = n
                    yr[j] = n * gamma[j] + beta[j]
                }
            }
        } else {
            let rm = runningMean.value, rv = runningVar.value
            for j in 0..<c { inv[j] = 1 / (rv[j] + eps).squareRoot() }
            for r in 0..<batch {
                let row = x + r * c, xr = xh + r * c, yr = y + r * c
                for j in 0..<c {
                    let n = (row[j] - rm[j]) * inv[j]
                    xr[j] = n
                    yr[j] = n * gamma[j] + beta[j]
                }
            }
        }
        lastBatch = batch
        lastTraining = training
        return UnsafePointer(y)
    }

    /// Training mode: dx = γ/(B·σ) · (B·dy − Σdy − x̂·Σ(dy·x̂)); evaluation mode: dx = γ/σ_running · dy.
    /// Always dγ += Σ dy·x̂ and dβ += Σ dy.
    public func backward(_ dy: UnsafePointer<Float>, batch: Int) throws -> UnsafePointer<Float> {
        guard batch == lastBatch else {
            throw ComponentError.invalidInput(component: "batch-norm", message: "backward of a \(batch)-row batch without a matching forward")
        }
        let c = inFeatures
        let xh = UnsafePointer(normalized.pointer)
        let inv = invStd.pointer
        let gamma = weight.value
        let sumDy = sums.pointer, sumDyX = sums.pointer + c
        sumDy.update(repeating: 0, count: c)
        sumDyX.update(repeating: 0, count: c)
        for r in 0..<batch {
            let g = dy + r * c, xr = xh + r * c
            for j in 0..<c {
                sumDy[j] += g[j]
                sumDyX[j] += g[j] * xr[j]
            }
        }
        let dGamma = weight.grad, dBeta = bias.grad
        for j in 0..<c {
            dGamma[j] += sumDyX[j]
            dBeta[j] += sumDy[j]
        }
        let dx = inputGrad.reserve(batch * c)
        if lastTraining {
            let scale = 1 / Float(batch)
            for r in 0..<batch {
                let g = dy + r * c, xr = xh + r * c, d = dx + r * c
                for j in 0..<c {
                    d[j] = gamma[j] * inv[j] * (g[j] - scale * sumDy[j] - xr[j] * scale * sumDyX[j])
                }
            }
        } else {
            for r in 0..<batch {
                let g = dy + r * c, d = dx + r * c
                for j in 0..<c { d[j] = gamma[j] * inv[j] * g[j] }
            }
        }
        return UnsafePointer(dx)
    }
}
