// "Same"-padded grouped 1-D convolution in channels-last layout: the positional convolution of wav2vec2-style
// encoders (`encoder.pos_conv_embed`: C = 768, G = 16, K = 128 in the base models).
//
// Geometry: stride 1, dilation 1, Cin = Cout = C, padding K/2, output frames = input frames T (an even kernel's
// extra output frame is dropped, as the models do). Weight packed `[C, K, C/G]` (`packConv1dWeightChannelsLast`).
//
//   y[b, t, o] = bias[o] + Σ_{j < K, i < C/G} W[o, j, i] · x[b, t + j − K/2, g(o)·C/G + i]      (zeros outside 0..<T)
//
// Two ways to compute it, equal up to rounding (`conv1dSameFFTPays` picks):
//   direct  per group an im2col `[B·T, K·C/G]` and one GEMM with C/G output columns — `T·K·C·C/G` multiply-adds;
//   FFT     overlap-save with fixed-length blocks (`Conv1dSameSpectra`, Kernels+Conv1dSameFFT.swift): about 18×
//           fewer for base models on 3 s clips.
// The input gradient (the adjoint, `dx += convT(dy)`) has the same two ways. The naive twin of both is
// `conv1dChannelsLast` / `conv1dChannelsLastBackward` with padding K/2 (tests: Conv1dSameKernelTests).

extension Kernels {
    /// Whether `g` is a geometry the `conv1dSame*` kernels take: stride 1, dilation 1, Cin = Cout, padding K/2.
    public static func isConv1dSame(_ g: Conv1dGeometry) -> Bool {
        g.stride == 1 && g.dilation == 1 && g.inChannels == g.outChannels && g.padding == g.kernelSize / 2
            && g.kernelSize > 0 && g.groups > 0 && g.inChannels % g.groups == 0
    }

    /// Floats of workspace `conv1dSame` and `conv1dSameInputGradient` need: a padded copy `[B, T + K, C]` and one
    /// group's im2col `[B·T, K·C/G]`.
    public static func conv1dSameWorkspaceCount(_ g: Conv1dGeometry, batch: Int, frames t: Int) -> Int {
        batch * (t + g.kernelSize) * g.inChannels + batch * t * g.kernelSize * g.groupInChannels
    }

    /// Whether the FFT path is the cheaper one for `batch` clips of `t` frames (false when the layout has none).
    ///
    /// Cost model in multiply-add equivalents per channel and input channel of a group, fitted to single-thread
    /// timings (C = 768, K = 128; crossover at T ≈ 32 frames for B = 1, 20 for B = 2, 14 for B = 4): direct `B·T·K`;
    /// FFT `bins·(26 + 8·v)` with v = B·blocks, where 26 stands for streaming the weight spectra once per call
    /// (`bins·C·C/G` complex values of 8 bytes, memory-bound: about 3.3 multiply-adds per byte) and 8 per block for
    /// the complex GEMMs (4 real multiply-adds per complex one, at about half the direct GEMM's rate) and the
    /// transforms.
    public static func conv1dSameFFTPays(_ g: Conv1dGeometry, batch: Int, frames t: Int) -> Bool {
        guard isConv1dSame(g), Conv1dSameSpectra.supports(channels: g.inChannels, groups: g.groups), t > 0 else { return false }
        let k = g.kernelSize
        let n = Conv1dSameSpectra.blockLength(kernel: k)
        let (hop, bins) = (n - k + 1, n / 2 + 1)
        let blocks = (t + hop - 1) / hop
        return batch * t * k > bins * (26 + 8 * batch * blocks)
    }

    /// "Same" conv, direct path: `y [B, T, C] = conv(x) + bias` (overwritten; `x` and `y` must not alias).
    ///
    /// Per group an im2col `[B·T, K·C/G]` (rows on all threads) and one GEMM; `workspace` holds at least
    /// `conv1dSameWorkspaceCount` floats.
    public static func conv1dSame(_ g: Conv1dGeometry, batch: Int, frames t: Int, x: UnsafePointer<Float>,
                                  packedWeight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                  y: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let (c, k, groups) = (g.inChannels, g.kernelSize, g.groups)
        let cg = c / groups, pad = k / 2, rows = batch * t
        let padded = workspace                             // [B, T + K, C], zero rows around each clip
        let col = workspace + batch * (t + k) * c          // [B·T, K·C/G] for one group
        for b in 0..<batch {
            let p = padded + b * (t + k) * c
            p.update(repeating: 0, count: pad * c)
            (p + pad * c).update(from: x + b * t * c, count: t * c)
            (p + (pad + t) * c).update(repeating: 0, count: (k - pad) * c)
        }
        if let bias {
            for r in 0..<rows { (y + r * c).update(from: bias, count: c) }
        } else {
            y.update(repeating: 0, count: rows * c)
        }
        for gi in 0..<groups {
            Dense.parallel(rows, grain: 64) { range in
                for row in range {
                    let (b, r) = (row / t, row % t)
                    let dst = col + row * k * cg, src = padded + (b * (t + k) + r) * c + gi * cg
                    for tap in 0..<k { (dst + tap * cg).update(from: src + tap * c, count: cg) }
                }
            }
            sgemm(transB: true, m: rows, n: cg, k: k * cg, a: col, lda: k * cg, b: w + gi * cg * k * cg,
                  ldb: k * cg, beta: 1, c: y + gi * cg, ldc: c)
        }
    }

    /// "Same" conv input gradient, direct path: `dx [B, T, C] += convT(dy)` for `dy [B, T, C]` (the adjoint of
    /// `conv1dSame` without its bias), by one GEMM per group into an im2col-shaped buffer and col2im.
    public static func conv1dSameInputGradient(_ g: Conv1dGeometry, batch: Int, frames t: Int,
                                               gradOutput dy: UnsafePointer<Float>, packedWeight w: UnsafePointer<Float>,
                                               gradInput dx: UnsafeMutablePointer<Float>,
                                               workspace: UnsafeMutablePointer<Float>) {
        let (c, k, groups) = (g.inChannels, g.kernelSize, g.groups)
        let cg = c / groups, pad = k / 2, rows = batch * t
        let dPadded = workspace                            // [B, T + K, C]
        let dcol = workspace + batch * (t + k) * c         // [B·T, K·C/G] for one group
        dPadded.update(repeating: 0, count: batch * (t + k) * c)
        for gi in 0..<groups {
            // dcol = dy_g [B·T, C/G] · W_g [C/G, K·C/G]
            sgemm(m: rows, n: k * cg, k: cg, a: dy + gi * cg, lda: c, b: w + gi * cg * k * cg,
                  ldb: k * cg, beta: 0, c: dcol, ldc: k * cg)
            // col2im: frame r's tap j came from padded row r + j; clips are independent.
            Dense.parallel(batch, grain: 1) { range in
                for b in range {
                    let base = dPadded + b * (t + k) * c + gi * cg
                    for r in 0..<t {
                        let src = dcol + (b * t + r) * k * cg
                        for tap in 0..<k {
                            let s = src + tap * cg, d = base + (r + tap) * c
                            for i in 0..<cg { d[i] += s[i] }
                        }
                    }
                }
            }
        }
        for b in 0..<batch {
            Dense.add(dPadded + (b * (t + k) + pad) * c, into: dx + b * t * c, count: t * c)
        }
    }
}
