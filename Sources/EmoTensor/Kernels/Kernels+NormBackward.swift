// Layer norm and group norm backward (both layouts), from the statistics the forward kernels save.

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

    /// Group norm backward for channels-last x `[B, T, C]`, given the forward's saved `mean`, `rstd` `[B, G]`.
    ///
    /// Same formulas as `groupNormBackward`; `gradGamma`, `gradBeta` `[C]` overwritten (nil to skip).
    public static func groupNormChannelsLastBackward(x: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                                     batch: Int, length t: Int, channels c: Int, groups: Int,
                                                     gamma: UnsafePointer<Float>?, mean: UnsafePointer<Float>,
                                                     rstd: UnsafePointer<Float>,
                                                     gradInput: UnsafeMutablePointer<Float>,
                                                     gradGamma: UnsafeMutablePointer<Float>?,
                                                     gradBeta: UnsafeMutablePointer<Float>?) {
        let cg = c / groups
        let n = Double(cg * t)
        gradGamma?.update(repeating: 0, count: c)
        gradBeta?.update(repeating: 0, count: c)
        for b in 0..<batch {
            let xb = x + b * t * c, gb = gradOutput + b * t * c, db = gradInput + b * t * c
            for g in 0..<groups {
                let mu = mean[b * groups + g], r = rstd[b * groups + g]
                var sumG = 0.0, sumGX = 0.0
                for i in 0..<t {
                    for j in g * cg..<(g + 1) * cg {
                        let xhat = (xb[i * c + j] - mu) * r
                        let dy = gb[i * c + j]
                        gradGamma?[j] += dy * xhat
                        gradBeta?[j] += dy
                        let gh = Double(dy * (gamma?[j] ?? 1))
                        sumG += gh
                        sumGX += gh * Double(xhat)
                    }
                }
                let meanG = Float(sumG / n), meanGX = Float(sumGX / n)
                for i in 0..<t {
                    for j in g * cg..<(g + 1) * cg {
                        let xhat = (xb[i * c + j] - mu) * r
                        db[i * c + j] = r * (gb[i * c + j] * (gamma?[j] ?? 1) - meanG - xhat * meanGX)
                    }
                }
            }
        }
    }

    /// Layer norm backward over rows `[N, C]`, given the forward's saved `mean`, `rstd` `[N]`.
    ///
    /// `dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))` with `ĝ = dy ⊙ γ`; `gradGamma`, `gradBeta` `[C]` are
    /// overwritten with Σ_rows dy ⊙ x̂ and Σ_rows dy (pass nil to skip), or added to when
    /// `accumulateParameterGradients` (a trained model's gradient buffers). `gradInput` may alias `gradOutput`.
    public static func layerNormBackward(x: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>, rows n: Int,
                                         features c: Int, gamma: UnsafePointer<Float>?, mean: UnsafePointer<Float>,
                                         rstd: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>,
                                         gradGamma: UnsafeMutablePointer<Float>?,
                                         gradBeta: UnsafeMutablePointer<Float>?,
                                         accumulateParameterGradients: Bool = false) {
        if !accumulateParameterGradients {
            gradGamma?.update(repeating: 0, count: c)
            gradBeta?.update(repeating: 0, count: c)
        }
        for i in 0..<n {
            let xr = x + i * c, gr = gradOutput + i * c, dr = gradInput + i * c
            let mu = mean[i], r = rstd[i]
            var sumG: Float = 0, sumGX: Float = 0
            for j in 0..<c {
                let xhat = (xr[j] - mu) * r
                let gh = gr[j] * (gamma?[j] ?? 1)
                sumG += gh
                sumGX += gh * xhat
                gradGamma?[j] += gr[j] * xhat
                gradBeta?[j] += gr[j]
            }
            let meanG = sumG / Float(c), meanGX = sumGX / Float(c)
            for j in 0..<c {
                let xhat = (xr[j] - mu) * r
                dr[j] = r * (gr[j] * (gamma?[j] ?? 1) - meanG - xhat * meanGX)
            }
        }
    }

    /// Layer norm backward from the forward's saved normalised rows `xhat` `[N, C]` and `rstd` `[N]` (what a
    /// forward that overwrote its input keeps): `dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))`, `ĝ = dy ⊙ γ`, written
    /// to `gradInput` or, with `accumulate`, added to it. `gradInput` may alias `gradOutput` (not with
    /// `accumulate`). Weights frozen (no `γ`/`β` gradients); rows run in parallel.
    public static func layerNormBackward(xhat: UnsafePointer<Float>, rstd: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                         gradOutput: UnsafePointer<Float>, rows n: Int, features c: Int,
                                         gradInput: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        parallelSlices(count: n, minimumPerThread: max(1, (1 << 16) / max(c, 1))) { rows in
            for r in rows {
                let hr = xhat + r * c, dyr = gradOutput + r * c, dxr = gradInput + r * c
                var m1: Float = 0, m2: Float = 0
                for i in 0..<c {
                    let g = dyr[i] * gamma[i]
                    m1 += g
                    m2 += g * hr[i]
                }
                m1 /= Float(c)
                m2 /= Float(c)
                let s = rstd[r]
                if accumulate {
                    for i in 0..<c { dxr[i] += s * (dyr[i] * gamma[i] - m1 - hr[i] * m2) }
                } else {
                    for i in 0..<c { dxr[i] = s * (dyr[i] * gamma[i] - m1 - hr[i] * m2) }
                }
            }
        }
    }

    /// A layer norm's output again from its saved input `x` `[N, C]` and statistics `mean`, `rstd` `[N]`:
    /// `y = (x − μ) · rstd · γ + β` (what a backward needs as the next layer's input without having kept it).
    public static func layerNormOutput(x: UnsafePointer<Float>, rows n: Int, features c: Int,
                                       mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                       gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                       y: UnsafeMutablePointer<Float>) {
        for i in 0..<n {
            let xr = x + i * c, yr = y + i * c, mu = mean[i], r = rstd[i]
            for j in 0..<c { yr[j] = (xr[j] - mu) * r * gamma[j] + beta[j] }
        }
    }
}
