// 1-D convolution forward in channels-last layout ([B, T, C]), the layout transformer encoders keep.
//
// With groups = 1 and dilation = 1, the K·Cin inputs of output frame t are one contiguous run of x starting at
// row t·s − p, so the GEMM reads x in place (row stride s·Cin) and no im2col copy is made for interior frames.
// BLAS requires a row stride ≥ the reduction length, so the K taps go in ⌈K / s⌉ chunks of at most s taps, each
// one GEMM accumulating into y. Frames whose window crosses the padding are gathered into the workspace.

extension Kernels {
    /// Repacks a PyTorch conv weight `[Cout, Cin/G, K]` into the channels-last order `[Cout, K, Cin/G]`.
    ///
    /// Done once at load time; `src` and `dst` hold `geometry.weightCount` floats and must not alias.
    public static func packConv1dWeightChannelsLast(_ g: Conv1dGeometry, weight src: UnsafePointer<Float>,
                                                    into dst: UnsafeMutablePointer<Float>) {
        let cg = g.groupInChannels, kk = g.kernelSize
        for o in 0..<g.outChannels {
            for c in 0..<cg {
                for k in 0..<kk { dst[(o * kk + k) * cg + c] = src[(o * cg + c) * kk + k] }
            }
        }
    }

    /// True when `conv1dChannelsLast` reads the input in place (groups 1, dilation 1, enough channels to pay).
    @inlinable
    static func channelsLastInPlace(_ g: Conv1dGeometry) -> Bool {
        g.groups == 1 && g.dilation == 1 && g.inChannels >= 16
    }

    /// Interior output frames `tA..<tB` whose whole window lies inside the input (channels-last fast path).
    @inlinable
    static func interiorFrames(_ g: Conv1dGeometry, inputLength tIn: Int, outputLength tOut: Int) -> (Int, Int) {
        let span = g.dilation * (g.kernelSize - 1)
        let lo = (g.padding + g.stride - 1) / g.stride                  // t·s − p ≥ 0
        let hiNum = tIn - 1 - span + g.padding                          // t·s − p + span ≤ Tin − 1
        let hi = hiNum < 0 ? 0 : min(tOut, hiNum / g.stride + 1)
        let a = min(lo, tOut)
        return (a, max(a, hi))
    }

    /// Floats of workspace `conv1dChannelsLast` needs for this geometry and input length.
    public static func conv1dChannelsLastWorkspaceCount(_ g: Conv1dGeometry, inputLength tIn: Int) -> Int {
        let tOut = g.outputLength(inputLength: tIn)
        let rowLength = g.kernelSize * g.groupInChannels
        if channelsLastInPlace(g) {
            let (a, b) = interiorFrames(g, inputLength: tIn, outputLength: tOut)
            return max(a, tOut - b) * rowLength
        }
        return g.isPointwise && g.groups == 1 ? 0 : tOut * rowLength
    }

    /// Conv1d forward, channels-last: `y[b, t, o] = bias[o] + Σ_{k,c} Wp[o, k, c] · x[b, t·s + k·d − p, g·Cg + c]`.
    ///
    /// - Parameters:
    ///   - x: input `[B, Tin, Cin]`.
    ///   - packedWeight: `[Cout, K, Cin/G]` (from `packConv1dWeightChannelsLast`).
    ///   - bias: `[Cout]` or nil.
    ///   - y: output `[B, Tout, Cout]`; must not alias `x`.
    ///   - workspace: at least `conv1dChannelsLastWorkspaceCount(geometry, inputLength: Tin)` floats (nil if 0).
    public static func conv1dChannelsLast(_ g: Conv1dGeometry, batch: Int, inputLength tIn: Int,
                                          x: UnsafePointer<Float>, packedWeight: UnsafePointer<Float>,
                                          bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                          workspace: UnsafeMutablePointer<Float>?) {
        let tOut = g.outputLength(inputLength: tIn)
        let cin = g.inChannels, cout = g.outChannels, cg = g.groupInChannels, og = g.groupOutChannels
        let rowLength = g.kernelSize * cg   // K·Cg
        for b in 0..<batch {
            let xb = x + b * tIn * cin       // [Tin, Cin]
            let yb = y + b * tOut * cout     // [Tout, Cout]
            var beta: Float = 0
            if let bias {
                for t in 0..<tOut { (yb + t * cout).update(from: bias, count: cout) }
                beta = 1
            }
            if channelsLastInPlace(g) {
                let (tA, tB) = interiorFrames(g, inputLength: tIn, outputLength: tOut)
                if tB > tA {
                    // Interior: chunks of ≤ s taps, A = x rows (t·s − p + k0) with row stride s·Cin.
                    var k0 = 0
                    var chunkBeta = beta
                    while k0 < g.kernelSize {
                        let taps = min(g.stride, g.kernelSize - k0)
                        sgemm(transB: true, m: tB - tA, n: cout, k: taps * cin,
                              a: xb + (tA * g.stride - g.padding + k0) * cin, lda: g.stride * cin,
                              b: packedWeight + k0 * cin, ldb: rowLength,
                              beta: chunkBeta, c: yb + tA * cout, ldc: cout)
                        chunkBeta = 1
                        k0 += taps
                    }
                }
                for edge in 0..<2 {  // frames before tA and from tB on (no array literal: nothing allocated)
                    let (t0, t1) = edge == 0 ? (0, tA) : (tB, tOut)
                    if t1 <= t0 { continue }
                    guard let workspace else {
                        preconditionFailure("Kernels.conv1dChannelsLast: workspace required (see conv1dChannelsLastWorkspaceCount)")
                    }
                    im2colNTC(g, group: 0, frames: t0..<t1, inputLength: tIn, x: xb, col: workspace)
                    sgemm(transB: true, m: t1 - t0, n: cout, k: rowLength, a: workspace, lda: rowLength,
                          b: packedWeight, ldb: rowLength, beta: beta, c: yb + t0 * cout, ldc: cout)
                }
                continue
            }
            for grp in 0..<g.groups {
                let col: UnsafePointer<Float>
                let lda: Int
                if g.isPointwise && g.groups == 1 {
                    col = xb
                    lda = cin
                } else {
                    guard let workspace else {
                        preconditionFailure("Kernels.conv1dChannelsLast: workspace required (see conv1dChannelsLastWorkspaceCount)")
                    }
                    im2colNTC(g, group: grp, frames: 0..<tOut, inputLength: tIn, x: xb, col: workspace)
                    col = UnsafePointer(workspace)
                    lda = rowLength
                }
                sgemm(transB: true, m: tOut, n: og, k: rowLength, a: col, lda: lda,
                      b: packedWeight + grp * og * rowLength, ldb: rowLength,
                      beta: beta, c: yb + grp * og, ldc: cout)
            }
        }
    }

    /// Channels-last im2col of one group for output frames `frames`:
    /// `col[t − frames.lowerBound, k·Cg + c] = x[t·s + k·d − p, group·Cg + c]` (0 outside the input).
    ///
    /// `x` `[Tin, Cin]`, `col` `[frames.count, K · Cin/G]`.
    public static func im2colNTC(_ g: Conv1dGeometry, group: Int, frames: Range<Int>, inputLength tIn: Int,
                                 x: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>) {
        let cg = g.groupInChannels
        let rowLength = g.kernelSize * cg
        for t in frames {
            let row = col + (t - frames.lowerBound) * rowLength
            for k in 0..<g.kernelSize {
                let ti = t * g.stride + k * g.dilation - g.padding
                let dst = row + k * cg
                if ti < 0 || ti >= tIn {
                    dst.update(repeating: 0, count: cg)
                } else {
                    dst.update(from: x + ti * g.inChannels + group * cg, count: cg)
                }
            }
        }
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.conv1dChannelsLast` (direct loops on the packed weight, Double accumulation).
    public static func conv1dChannelsLast(_ g: Conv1dGeometry, batch: Int, inputLength tIn: Int,
                                          x: UnsafePointer<Float>, packedWeight: UnsafePointer<Float>,
                                          bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                          workspace: UnsafeMutablePointer<Float>?) {
        let tOut = g.outputLength(inputLength: tIn)
        let cg = g.groupInChannels, og = g.groupOutChannels, kk = g.kernelSize
        for b in 0..<batch {
            for t in 0..<tOut {
                for o in 0..<g.outChannels {
                    let grp = o / og
                    var acc = Double(bias?[o] ?? 0)
                    for k in 0..<kk {
                        let ti = t * g.stride + k * g.dilation - g.padding
                        guard ti >= 0, ti < tIn else { continue }
                        for c in 0..<cg {
                            acc += Double(packedWeight[(o * kk + k) * cg + c])
                                * Double(x[(b * tIn + ti) * g.inChannels + grp * cg + c])
                        }
                    }
                    y[(b * tOut + t) * g.outChannels + o] = Float(acc)
                }
            }
        }
    }
}
