// Batch norm (train/eval) and layer norm as recorded ops.

extension Tensor {
    /// Batch norm over the batch of a `[N, C]` input (PyTorch `nn.BatchNorm1d`).
    ///
    /// Training: normalises with the batch mean and biased variance, and updates the running statistics in place
    /// (`running = (1 − momentum) · running + momentum · batch`, unbiased variance, as PyTorch does).
    /// Evaluation: normalises with the running statistics. `gamma`, `beta` `[C]` may be nil (no affine).
    /// The running statistics are `Parameter`s with `isBuffer` true: saved with the model, never learned.
    public func batchNorm(gamma: Tensor?, beta: Tensor?, runningMean: Parameter, runningVariance: Parameter,
                          training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) throws -> Tensor {
        guard rank == 2 else { throw TensorError.shapeMismatch("batchNorm: expected [N, C], got \(shape)") }
        let n = shape[0], c = shape[1]
        guard runningMean.count == c, runningVariance.count == c, gamma.map({ $0.count == c }) ?? true,
              beta.map({ $0.count == c }) ?? true else {
            throw TensorError.shapeMismatch("batchNorm: input \(shape) vs statistics/affine of other sizes (need \(c))")
        }
        if training && n < 2 {
            throw TensorError.invalidArgument("batchNorm: training needs at least 2 rows per batch (got \(n)); drop the last incomplete batch or use eval mode")
        }
        let px = storage.pointer
        let mean = Tensor(shape: [c]), rstd = Tensor(shape: [c])
        let pm = mean.storage.pointer, pr = rstd.storage.pointer
        defer { withExtendedLifetime((mean, rstd)) {} }  // pm, pr are used until the end
        if training {
            for j in 0..<c {
                var s = 0.0
                for i in 0..<n { s += Double(px[i * c + j]) }
                let mu = s / Double(n)
                var q = 0.0
                for i in 0..<n { let d = Double(px[i * c + j]) - mu; q += d * d }
                let variance = q / Double(n)
                pm[j] = Float(mu)
                pr[j] = Float(1 / (variance + Double(eps)).squareRoot())
                runningMean.value[j] = (1 - momentum) * runningMean.value[j] + momentum * Float(mu)
                runningVariance.value[j] = (1 - momentum) * runningVariance.value[j]
                    + momentum * Float(q / Double(n - 1))
            }
        } else {
            for j in 0..<c {
                pm[j] = runningMean.value[j]
                pr[j] = 1 / (runningVariance.value[j] + eps).squareRoot()
            }
        }
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        let po = out.storage.pointer, pgam = gamma?.storage.pointer, pbet = beta?.storage.pointer
        for i in 0..<n {
            for j in 0..<c {
                po[i * c + j] = (px[i * c + j] - pm[j]) * pr[j] * (pgam?[j] ?? 1) + (pbet?[j] ?? 0)
            }
        }
        guard let tape = Tape.active(self, gamma, beta) else { return out }
        let x = detached, gammaValues = gamma?.detached
        return tape.record(out, inputs: [self, gamma, beta]) { g in
            let pg = g.storage.pointer, pxx = x.storage.pointer
            let pm = mean.storage.pointer, pr = rstd.storage.pointer  // the closure keeps mean, rstd alive
            let gx = Tensor(shape: [n, c]), gGamma = Tensor(shape: [c]), gBeta = Tensor(shape: [c])
            let pdx = gx.storage.pointer, pdg = gGamma.storage.pointer, pdb = gBeta.storage.pointer
            for j in 0..<c {
                let gam = gammaValues?.storage.pointer[j] ?? 1
                var sumDy = 0.0, sumDyXhat = 0.0
                for i in 0..<n {
                    let xhat = Double((pxx[i * c + j] - pm[j]) * pr[j])
                    sumDy += Double(pg[i * c + j])
                    sumDyXhat += Double(pg[i * c + j]) * xhat
                }
                pdg[j] = Float(sumDyXhat)
                pdb[j] = Float(sumDy)
                for i in 0..<n {
                    if training {
                        // dx = γ·rstd/N · (N·dy − Σdy − x̂·Σ(dy·x̂))
                        let xhat = Double((pxx[i * c + j] - pm[j]) * pr[j])
                        let v = Double(n) * Double(pg[i * c + j]) - sumDy - xhat * sumDyXhat
                        pdx[i * c + j] = Float(Double(gam * pr[j]) / Double(n) * v)
                    } else {
                        pdx[i * c + j] = pg[i * c + j] * gam * pr[j]
                    }
                }
            }
            return [gx, gGamma, gBeta]
        }
    }

    /// Layer norm over the last dimension (PyTorch `nn.LayerNorm(C)`); `gamma`, `beta` `[C]` or nil.
    public func layerNorm(gamma: Tensor?, beta: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        guard rank >= 1 else { throw TensorError.invalidArgument("layerNorm: needs at least one dimension") }
        let c = shape[rank - 1], n = count / Swift.max(c, 1)
        guard gamma.map({ $0.count == c }) ?? true, beta.map({ $0.count == c }) ?? true else {
            throw TensorError.shapeMismatch("layerNorm: gamma/beta must have \(c) elements for input \(shape)")
        }
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        let mean = Tensor(shape: [n]), rstd = Tensor(shape: [n])
        Kernels.layerNorm(x: pointer, rows: n, features: c, gamma: gamma?.pointer, beta: beta?.pointer, eps: eps,
                          y: out.storage.pointer, mean: mean.storage.pointer, rstd: rstd.storage.pointer)
        guard let tape = Tape.active(self, gamma, beta) else { return out }
        let x = detached, gammaValues = gamma?.detached
        return tape.record(out, inputs: [self, gamma, beta]) { g in
            let gx = Tensor(shape: x.shape, storage: TensorStorage(uninitializedCount: x.count))
            let gGamma = Tensor(shape: [c]), gBeta = Tensor(shape: [c])
            Kernels.layerNormBackward(x: x.pointer, gradOutput: g.pointer, rows: n, features: c,
                                      gamma: gammaValues?.pointer, mean: mean.pointer, rstd: rstd.pointer,
                                      gradInput: gx.storage.pointer, gradGamma: gGamma.storage.pointer,
                                      gradBeta: gBeta.storage.pointer)
            return [gx, gGamma, gBeta]
        }
    }
}
