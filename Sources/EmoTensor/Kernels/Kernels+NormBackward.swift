// Group norm backward (PyTorch layout [B, C, T]).

extension Kernels {
    /// Group norm backward for x `[B, C, T]`, given the forward's saved `mean`, `rstd` `[B, G]`.
    ///
    /// Per (batch, group) of n = C/G·T values: `dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))` with ĝ = dy·γ[c].
    /// `gradGamma`, `gradBeta` `[C]` are overwritten with Σ dy ⊙ x̂ and Σ dy over batch and time (nil to skip).
    public static func groupNormBackward(x: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>, batch: Int,
                                         channels c: Int, length t: Int, groups: Int,
                                         gamma: UnsafePointer<Float>?, mean: UnsafePointer<Float>,
                                         rstd: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>,
                                         gradGamma: UnsafeMutablePointer<Float>?,
                                         gradBeta: UnsafeMutablePointer<Float>?) {
        let cg = c / groups
        let n = Float(cg * t)
        gradGamma?.update(repeating: 0, count: c)
        gradBeta?.update(repeating: 0, count: c)
        for b in 0..<batch {
            for g in 0..<groups {
                let mu = mean[b * groups + g], r = rstd[b * groups + g]
                var sumG: Float = 0, sumGX: Float = 0
                for ch in g * cg..<(g + 1) * cg {
                    let base = (b * c + ch) * t
                    let gam = gamma?[ch] ?? 1
                    var dyx: Float = 0, dys: Float = 0
                    for j in 0..<t {
                        let xhat = (x[base + j] - mu) * r
                        dyx += gradOutput[base + j] * xhat
                        dys += gradOutput[base + j]
                    }
                    gradGamma?[ch] += dyx
                    gradBeta?[ch] += dys
                    sumG += dys * gam
                    sumGX += dyx * gam
                }
                let meanG = sumG / n, meanGX = sumGX / n
                for ch in g * cg..<(g + 1) * cg {
                    let base = (b * c + ch) * t
                    let gam = gamma?[ch] ?? 1
                    for j in 0..<t {
                        let xhat = (x[base + j] - mu) * r
                        gradInput[base + j] = r * (gradOutput[base + j] * gam - meanG - xhat * meanGX)
                    }
                }
            }
        }
    }
}
