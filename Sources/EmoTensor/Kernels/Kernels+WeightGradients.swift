// Weight gradients a fine-tuned encoder needs beyond `linearBackward`: a channels-last convolution's weight and bias
// gradients over chosen output frames (accumulated, so clips and calls add up), and a norm's affine gradients from
// its saved normalised values.
//
// Dimension legend: docs/numerics.md. Used here: `T` frames (`Tin`/`Tout`), `C` channels (`Cin`/`Cout`),
// `K` taps, `G` groups (`Cg = Cin/G`, `Og = Cout/G`), `N` rows.

extension Kernels {
    /// Floats of workspace `conv1dChannelsLastWeightGradient` needs for `outputFrames` output frames: none for a
    /// dense geometry (one group, no padding, no dilation: the GEMMs read `x` in place), else one group's im2col
    /// `[outputFrames, K·Cg]`.
    public static func conv1dChannelsLastWeightGradientWorkspaceCount(_ g: Conv1dGeometry, outputFrames: Int) -> Int {
        isDenseChannelsLast(g) ? 0 : outputFrames * g.kernelSize * g.groupInChannels
    }

    /// Conv1d weight (and bias) gradient, channels-last, for one clip, accumulated:
    /// `dW[o, k, c] += Σ_t dY[t, o] · x[t·s + k·d − p, group(o)·Cg + c]` and `dB[o] += Σ_t dY[t, o]`.
    ///
    /// - Parameters:
    ///   - x: the forward's input `[Tin, Cin]`; `gradOutput` `[outputFrames, Cout]` (row stride Cout).
    ///   - outputFrames: the output frames that received a gradient, from frame 0 (at most the geometry's output
    ///     length; fewer when a layer drops trailing frames, as wav2vec2's positional conv drops its last one).
    ///   - gradPackedWeight: `[Cout, K, Cg]` (the packed order of `conv1dChannelsLast`), added to.
    ///   - gradBias: `[Cout]`, added to; nil to skip.
    ///   - workspace: `conv1dChannelsLastWeightGradientWorkspaceCount` floats (nil for a dense geometry).
    /// Dense geometry: one GEMM per tap on a strided view of `x` (row stride `s·Cin`); otherwise per group an
    /// im2col and one GEMM.
    public static func conv1dChannelsLastWeightGradient(_ g: Conv1dGeometry, inputLength tIn: Int, outputFrames tOut: Int,
                                                        x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                                                        gradPackedWeight dw: UnsafeMutablePointer<Float>,
                                                        gradBias: UnsafeMutablePointer<Float>?,
                                                        workspace: UnsafeMutablePointer<Float>?) {
        let cout = g.outChannels, cg = g.groupInChannels, og = g.groupOutChannels, kk = g.kernelSize
        guard tOut > 0 else { return }
        if let gradBias {
            for t in 0..<tOut {
                let row = dy + t * cout
                for o in 0..<cout { gradBias[o] += row[o] }
            }
        }
        if isDenseChannelsLast(g) {
            for k in 0..<kk {
                sgemm(transA: true, m: cout, n: cg, k: tOut, a: dy, lda: cout, b: x + k * cg, ldb: g.stride * cg,
                      beta: 1, c: dw + k * cg, ldc: kk * cg)
            }
            return
        }
        guard let col = workspace else { return }
        let rowLength = kk * cg
        for grp in 0..<g.groups {
            im2colNTC(g, group: grp, frames: 0..<tOut, inputLength: tIn, x: x, col: col)
            sgemm(transA: true, m: og, n: rowLength, k: tOut, a: dy + grp * og, lda: cout, b: col, ldb: rowLength,
                  beta: 1, c: dw + grp * og * rowLength, ldc: rowLength)
        }
    }

    /// One group, no padding, no dilation: every tap of every output frame reads inside `x`.
    static func isDenseChannelsLast(_ g: Conv1dGeometry) -> Bool { g.groups == 1 && g.padding == 0 && g.dilation == 1 }

    /// A norm's affine-parameter gradients from its saved normalised values, accumulated:
    /// `dγ[c] += Σ_n dy[n, c] · x̂[n, c]`, `dβ[c] += Σ_n dy[n, c]` over `[N, C]` (layer norm and, with N = frames,
    /// channels-last group norm with one channel per group alike). Either output may be nil.
    public static func normAffineBackward(xhat: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, rows n: Int,
                                          features c: Int, gradGamma: UnsafeMutablePointer<Float>?,
                                          gradBeta: UnsafeMutablePointer<Float>?) {
        guard gradGamma != nil || gradBeta != nil else { return }  // a frozen norm: nothing to do
        for r in 0..<n {
            let h = xhat + r * c, d = dy + r * c
            if let gradGamma { for j in 0..<c { gradGamma[j] += d[j] * h[j] } }
            if let gradBeta { for j in 0..<c { gradBeta[j] += d[j] } }
        }
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.conv1dChannelsLastWeightGradient` (direct loops, Double accumulation).
    public static func conv1dChannelsLastWeightGradient(_ g: Conv1dGeometry, inputLength tIn: Int, outputFrames tOut: Int,
                                                        x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                                                        gradPackedWeight dw: UnsafeMutablePointer<Float>,
                                                        gradBias: UnsafeMutablePointer<Float>?) {
        let cout = g.outChannels, cg = g.groupInChannels, og = g.groupOutChannels, kk = g.kernelSize
        for o in 0..<cout {
            var db = 0.0
            for t in 0..<tOut { db += Double(dy[t * cout + o]) }
            if let gradBias { gradBias[o] = Float(Double(gradBias[o]) + db) }
            for k in 0..<kk {
                for c in 0..<cg {
                    var acc = Double(dw[(o * kk + k) * cg + c])
                    for t in 0..<tOut {
                        let ti = t * g.stride + k * g.dilation - g.padding
                        guard ti >= 0, ti < tIn else { continue }
                        acc += Double(dy[t * cout + o]) * Double(x[ti * g.inChannels + (o / og) * cg + c])
                    }
                    dw[(o * kk + k) * cg + c] = Float(acc)
                }
            }
        }
    }

    /// Naive twin of `Kernels.normAffineBackward` (Double accumulation).
    public static func normAffineBackward(xhat: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, rows n: Int,
                                          features c: Int, gradGamma: UnsafeMutablePointer<Float>?,
                                          gradBeta: UnsafeMutablePointer<Float>?) {
        for j in 0..<c {
            var sg = Double(gradGamma?[j] ?? 0), sb = Double(gradBeta?[j] ?? 0)
            for r in 0..<n {
                sg += Double(dy[r * c + j]) * Double(xhat[r * c + j])
                sb += Double(dy[r * c + j])
            }
            gradGamma?[j] = Float(sg)
            gradBeta?[j] = Float(sb)
        }
    }
}
