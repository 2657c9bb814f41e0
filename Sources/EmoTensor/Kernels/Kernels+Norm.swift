// Layer norm and group norm forward (two-pass mean/variance in Float32, biased variance as in PyTorch).
// Layer norm with an affine runs CEmoKernels' C loop; without one, and group norm, are Swift.

extension Kernels {
    /// Layer norm over the last dimension: `y[n, c] = (x[n, c] − μ_n) · rstd_n · γ[c] + β[c]`,
    /// `rstd_n = 1 / √(var_n + eps)` with the biased variance (PyTorch `nn.LayerNorm`).
    ///
    /// - Parameters:
    ///   - x: input `[N, C]`; `y` `[N, C]` may be the same buffer (in place).
    ///   - gamma, beta: `[C]` each, or nil for 1 and 0.
    ///   - mean, rstd: optional outputs `[N]` saved for backward.
    ///   - xhat: optional output `[N, C]`, the normalised rows before `γ`/`β` (what a backward from `xhat` needs
    ///     when the input is overwritten); it may be `x` itself.
    public static func layerNorm(x: UnsafePointer<Float>, rows n: Int, features c: Int,
                                 gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
                                 y: UnsafeMutablePointer<Float>,
                                 mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil,
                                 xhat: UnsafeMutablePointer<Float>? = nil) {
        parallelSlices(count: n, minimumPerThread: max(1, (1 << 15) / max(c, 1))) { rows in
            layerNormRows(rows, x: x, features: c, gamma: gamma, beta: beta, eps: eps, y: y, mean: mean, rstd: rstd,
                          xhat: xhat)
        }
    }

    /// Layer norm of rows `rows` (one thread's share of `layerNorm`).
    static func layerNormRows(_ rows: Range<Int>, x: UnsafePointer<Float>, features c: Int,
                              gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
                              y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?,
                              rstd: UnsafeMutablePointer<Float>?, xhat: UnsafeMutablePointer<Float>? = nil) {
        if let gamma, let beta, !rows.isEmpty {
            let first = rows.lowerBound
            elementwise.layer_norm(x + first * c, rows.count, c, gamma, beta, eps, y + first * c,
                                   xhat.map { $0 + first * c }, mean.map { $0 + first }, rstd.map { $0 + first })
            return
        }
        for i in rows {
            let xr = x + i * c
            let yr = y + i * c
            let mu = sum(xr, count: c) / Float(c)
            let variance = sumSquaredDeviations(xr, count: c, mean: mu) / Float(c)
            let r = 1 / (variance + eps).squareRoot()
            mean?[i] = mu
            rstd?[i] = r
            if let hr = xhat.map({ $0 + i * c }) { for j in 0..<c { hr[j] = (xr[j] - mu) * r } }
            switch (gamma, beta) {
            case let (g?, b?): for j in 0..<c { yr[j] = (xr[j] - mu) * r * g[j] + b[j] }
            case let (g?, nil): for j in 0..<c { yr[j] = (xr[j] - mu) * r * g[j] }
            case let (nil, b?): for j in 0..<c { yr[j] = (xr[j] - mu) * r + b[j] }
            case (nil, nil): for j in 0..<c { yr[j] = (xr[j] - mu) * r }
            }
        }
    }

    /// Group norm in PyTorch layout: x `[B, C, T]`, statistics per (batch, group) over the `C/G · T` values of
    /// the group (`nn.GroupNorm`), then per-channel affine `γ[c]`, `β[c]`.
    ///
    /// - Parameters:
    ///   - x: input `[B, C, T]`; `y` `[B, C, T]` may be the same buffer.
    ///   - gamma, beta: `[C]` each, or nil.
    ///   - mean, rstd: optional outputs `[B, G]` saved for backward.
    public static func groupNorm(x: UnsafePointer<Float>, batch: Int, channels c: Int, length t: Int, groups: Int,
                                 gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
                                 y: UnsafeMutablePointer<Float>,
                                 mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil) {
        let cg = c / groups
        let count = cg * t
        for b in 0..<batch {
            for g in 0..<groups {
                let base = (b * c + g * cg) * t
                let mu = sum(x + base, count: count) / Float(count)
                let variance = sumSquaredDeviations(x + base, count: count, mean: mu) / Float(count)
                let r = 1 / (variance + eps).squareRoot()
                mean?[b * groups + g] = mu
                rstd?[b * groups + g] = r
                for ch in 0..<cg {
                    let channel = g * cg + ch
                    let scale = r * (gamma?[channel] ?? 1)
                    let shift = (beta?[channel] ?? 0) - mu * scale
                    let xr = x + base + ch * t, yr = y + base + ch * t
                    for j in 0..<t { yr[j] = xr[j] * scale + shift }
                }
            }
        }
    }

    /// Group norm in channels-last layout: x `[B, T, C]`, statistics per (batch, group) over T × C/G values.
    ///
    /// Same arguments as `groupNorm`; `mean`, `rstd` are `[B, G]`. Sums run in Double (the values are strided).
    public static func groupNormChannelsLast(x: UnsafePointer<Float>, batch: Int, length t: Int, channels c: Int,
                                             groups: Int, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?,
                                             eps: Float, y: UnsafeMutablePointer<Float>,
                                             mean: UnsafeMutablePointer<Float>? = nil,
                                             rstd: UnsafeMutablePointer<Float>? = nil) {
        let cg = c / groups
        let count = Double(cg * t)
        for b in 0..<batch {
            let xb = x + b * t * c, yb = y + b * t * c
            for g in 0..<groups {
                var s = 0.0, q = 0.0
                for i in 0..<t {
                    let xr = xb + i * c + g * cg
                    for j in 0..<cg { let v = Double(xr[j]); s += v; q += v * v }
                }
                let mu = s / count
                let variance = max(0, q / count - mu * mu)
                let r = Float(1 / (variance + Double(eps)).squareRoot())
                mean?[b * groups + g] = Float(mu)
                rstd?[b * groups + g] = r
                for i in 0..<t {
                    let xr = xb + i * c + g * cg, yr = yb + i * c + g * cg
                    for j in 0..<cg {
                        let scale = r * (gamma?[g * cg + j] ?? 1)
                        yr[j] = (xr[j] - Float(mu)) * scale + (beta?[g * cg + j] ?? 0)
                    }
                }
            }
        }
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.layerNorm` (Double statistics).
    public static func layerNorm(x: UnsafePointer<Float>, rows n: Int, features c: Int,
                                 gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
                                 y: UnsafeMutablePointer<Float>,
                                 mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil) {
        for i in 0..<n {
            var mu = 0.0
            for j in 0..<c { mu += Double(x[i * c + j]) }
            mu /= Double(c)
            var variance = 0.0
            for j in 0..<c { let d = Double(x[i * c + j]) - mu; variance += d * d }
            variance /= Double(c)
            let r = 1 / (variance + Double(eps)).squareRoot()
            mean?[i] = Float(mu)
            rstd?[i] = Float(r)
            for j in 0..<c {
                y[i * c + j] = Float((Double(x[i * c + j]) - mu) * r * Double(gamma?[j] ?? 1) + Double(beta?[j] ?? 0))
            }
        }
    }

    /// Naive twin of `Kernels.groupNorm` (`[B, C, T]`).
    public static func groupNorm(x: UnsafePointer<Float>, batch: Int, channels c: Int, length t: Int, groups: Int,
                                 gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
                                 y: UnsafeMutablePointer<Float>,
                                 mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil) {
        let cg = c / groups
        for b in 0..<batch {
            for g in 0..<groups {
                var mu = 0.0, variance = 0.0
                for ch in g * cg..<(g + 1) * cg { for j in 0..<t { mu += Double(x[(b * c + ch) * t + j]) } }
                mu /= Double(cg * t)
                for ch in g * cg..<(g + 1) * cg {
                    for j in 0..<t { let d = Double(x[(b * c + ch) * t + j]) - mu; variance += d * d }
                }
                variance /= Double(cg * t)
                let r = 1 / (variance + Double(eps)).squareRoot()
                mean?[b * groups + g] = Float(mu)
                rstd?[b * groups + g] = Float(r)
                for ch in g * cg..<(g + 1) * cg {
                    for j in 0..<t {
                        let i = (b * c + ch) * t + j
                        y[i] = Float((Double(x[i]) - mu) * r * Double(gamma?[ch] ?? 1) + Double(beta?[ch] ?? 0))
                    }
                }
            }
        }
    }

    /// Naive twin of `Kernels.groupNormChannelsLast` (`[B, T, C]`).
    public static func groupNormChannelsLast(x: UnsafePointer<Float>, batch: Int, length t: Int, channels c: Int,
                                             groups: Int, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?,
                                             eps: Float, y: UnsafeMutablePointer<Float>,
                                             mean: UnsafeMutablePointer<Float>? = nil,
                                             rstd: UnsafeMutablePointer<Float>? = nil) {
        let cg = c / groups
        for b in 0..<batch {
            for g in 0..<groups {
                var mu = 0.0, variance = 0.0
                for i in 0..<t { for ch in g * cg..<(g + 1) * cg { mu += Double(x[(b * t + i) * c + ch]) } }
                mu /= Double(cg * t)
                for i in 0..<t {
                    for ch in g * cg..<(g + 1) * cg { let d = Double(x[(b * t + i) * c + ch]) - mu; variance += d * d }
                }
                variance /= Double(cg * t)
                let r = 1 / (variance + Double(eps)).squareRoot()
                mean?[b * groups + g] = Float(mu)
                rstd?[b * groups + g] = Float(r)
                for i in 0..<t {
                    for ch in g * cg..<(g + 1) * cg {
                        let k = (b * t + i) * c + ch
                        y[k] = Float((Double(x[k]) - mu) * r * Double(gamma?[ch] ?? 1) + Double(beta?[ch] ?? 0))
                    }
                }
            }
        }
    }
}
