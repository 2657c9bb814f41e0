// Conv1d backward in channels-last layout ([B, T, C], weight packed [Cout, K, Cin/G]).

extension Kernels {
    /// Floats of workspace `conv1dChannelsLastBackward` needs: two `[Tout, K·Cin/G]` buffers.
    public static func conv1dChannelsLastBackwardWorkspaceCount(_ g: Conv1dGeometry, inputLength tIn: Int) -> Int {
        2 * g.outputLength(inputLength: tIn) * g.kernelSize * g.groupInChannels
    }

    /// Conv1d backward, channels-last, given the forward's input and packed weight and the output gradient.
    ///
    /// - Parameters:
    ///   - x: forward input `[B, Tin, Cin]`; packedWeight `[Cout, K, Cin/G]`; gradOutput `[B, Tout, Cout]`.
    ///   - gradInput: `[B, Tin, Cin]`, overwritten; nil to skip.
    ///   - gradPackedWeight: `[Cout, K, Cin/G]` (packed order), overwritten; nil to skip.
    ///   - gradBias: `[Cout]`, overwritten; nil to skip.
    ///   - workspace: at least `conv1dChannelsLastBackwardWorkspaceCount(geometry, inputLength: Tin)` floats.
    /// Per (batch, group): dW_g += dY_gᵀ · col and dcol = dY_g · W_g (GEMMs on strided views of dY), then col2im.
    public static func conv1dChannelsLastBackward(_ g: Conv1dGeometry, batch: Int, inputLength tIn: Int,
                                                  x: UnsafePointer<Float>, packedWeight: UnsafePointer<Float>,
                                                  gradOutput: UnsafePointer<Float>,
                                                  gradInput: UnsafeMutablePointer<Float>?,
                                                  gradPackedWeight: UnsafeMutablePointer<Float>?,
                                                  gradBias: UnsafeMutablePointer<Float>?,
                                                  workspace: UnsafeMutablePointer<Float>) {
        let tOut = g.outputLength(inputLength: tIn)
        let cin = g.inChannels, cout = g.outChannels, cg = g.groupInChannels, og = g.groupOutChannels
        let rowLength = g.kernelSize * cg
        let col = workspace, dcol = workspace + tOut * rowLength  // [Tout, K·Cg] each
        gradInput?.update(repeating: 0, count: batch * tIn * cin)
        gradPackedWeight?.update(repeating: 0, count: g.weightCount)
        if let gradBias {
            gradBias.update(repeating: 0, count: cout)
            for row in 0..<(batch * tOut) {
                let dy = gradOutput + row * cout
                for o in 0..<cout { gradBias[o] += dy[o] }
            }
        }
        for b in 0..<batch {
            let xb = x + b * tIn * cin, dyb = gradOutput + b * tOut * cout
            for grp in 0..<g.groups {
                let dyg = dyb + grp * og                           // [Tout, Og], row stride Cout
                let wg = packedWeight + grp * og * rowLength       // [Og, K·Cg]
                if let gradPackedWeight {
                    im2colNTC(g, group: grp, frames: 0..<tOut, inputLength: tIn, x: xb, col: col)
                    sgemm(transA: true, m: og, n: rowLength, k: tOut, a: dyg, lda: cout, b: col, ldb: rowLength,
                          beta: 1, c: gradPackedWeight + grp * og * rowLength, ldc: rowLength)
                }
                if let gradInput {
                    sgemm(m: tOut, n: rowLength, k: og, a: dyg, lda: cout, b: wg, ldb: rowLength,
                          beta: 0, c: dcol, ldc: rowLength)
                    col2imNTC(g, group: grp, outputLength: tOut, inputLength: tIn, col: dcol,
                              x: gradInput + b * tIn * cin)
                }
            }
        }
    }

    /// Floats of workspace `conv1dChannelsLastInputGradient` needs: a `[Tout, K·Cin/G]` buffer unless the zero-copy
    /// path applies (0 then).
    public static func conv1dChannelsLastInputGradientWorkspaceCount(_ g: Conv1dGeometry, outputFrames tOut: Int) -> Int {
        inputGradientIsZeroCopy(g) ? 0 : tOut * g.kernelSize * g.groupInChannels
    }

    /// True when `conv1dChannelsLastInputGradient` writes the input gradient through strided views, without a col
    /// buffer: groups 1, no padding, dilation 1, and a receptive field (K·Cin) over 64 values.
    @inlinable
    static func inputGradientIsZeroCopy(_ g: Conv1dGeometry) -> Bool {
        g.groups == 1 && g.padding == 0 && g.dilation == 1 && g.kernelSize * g.inChannels > 64
    }

    /// Conv1d input gradient alone, channels-last, one clip: `dx [Tin, Cin]` (overwritten) from `dy [Tout, Cout]`
    /// for the first `Tout ≤ outputLength(Tin)` output frames.
    ///
    /// The speech encoders' feature-encoder layers (ungrouped, unpadded, strided) take the zero-copy path: the taps
    /// go in chunks of `stride`, and each chunk's GEMM `dy · W[:, chunk]` accumulates into a strided view of `dx`
    /// whose rows (`stride·Cin` apart) do not overlap, so no col buffer and no col2im. Other geometries (and layers
    /// with a small receptive field, where one wide GEMM pays) go through `[Tout, K·Cin/G]` in `workspace` and
    /// `col2imNTC`.
    public static func conv1dChannelsLastInputGradient(_ g: Conv1dGeometry, inputLength tIn: Int, outputFrames tOut: Int,
                                                       gradOutput dy: UnsafePointer<Float>,
                                                       packedWeight w: UnsafePointer<Float>,
                                                       gradInput dx: UnsafeMutablePointer<Float>,
                                                       workspace: UnsafeMutablePointer<Float>?) {
        let cin = g.inChannels, cout = g.outChannels, og = g.groupOutChannels
        let rowLength = g.kernelSize * g.groupInChannels
        dx.update(repeating: 0, count: tIn * cin)
        if inputGradientIsZeroCopy(g) {
            var j = 0
            while j * g.stride < g.kernelSize {
                let taps = min(g.stride, g.kernelSize - j * g.stride)
                sgemm(m: tOut, n: taps * cin, k: cout, a: dy, lda: cout, b: w + j * g.stride * cin, ldb: rowLength,
                      beta: 1, c: dx + j * g.stride * cin, ldc: g.stride * cin)
                j += 1
            }
            return
        }
        guard let dcol = workspace else { return }
        for grp in 0..<g.groups {
            sgemm(m: tOut, n: rowLength, k: og, a: dy + grp * og, lda: cout, b: w + grp * og * rowLength,
                  ldb: rowLength, beta: 0, c: dcol, ldc: rowLength)
            col2imNTC(g, group: grp, outputLength: tOut, inputLength: tIn, col: dcol, x: dx)
        }
    }

    /// Adjoint of `im2colNTC` over all output frames: `x[t·s + k·d − p, group·Cg + c] += col[t, k·Cg + c]`.
    public static func col2imNTC(_ g: Conv1dGeometry, group: Int, outputLength tOut: Int, inputLength tIn: Int,
                                 col: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>) {
        let cg = g.groupInChannels
        let rowLength = g.kernelSize * cg
        for t in 0..<tOut {
            let row = col + t * rowLength
            for k in 0..<g.kernelSize {
                let ti = t * g.stride + k * g.dilation - g.padding
                guard ti >= 0, ti < tIn else { continue }
                let dst = x + ti * g.inChannels + group * cg, src = row + k * cg
                for c in 0..<cg { dst[c] += src[c] }
            }
        }
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.conv1dChannelsLastBackward` (direct loops, Double accumulation).
    public static func conv1dChannelsLastBackward(_ g: Conv1dGeometry, batch: Int, inputLength tIn: Int,
                                                  x: UnsafePointer<Float>, packedWeight: UnsafePointer<Float>,
                                                  gradOutput: UnsafePointer<Float>,
                                                  gradInput: UnsafeMutablePointer<Float>?,
                                                  gradPackedWeight: UnsafeMutablePointer<Float>?,
                                                  gradBias: UnsafeMutablePointer<Float>?,
                                                  workspace: UnsafeMutablePointer<Float>?) {
        let tOut = g.outputLength(inputLength: tIn)
        let cg = g.groupInChannels, og = g.groupOutChannels, kk = g.kernelSize
        var dx = [Double](repeating: 0, count: batch * tIn * g.inChannels)
        var dw = [Double](repeating: 0, count: g.weightCount)
        var db = [Double](repeating: 0, count: g.outChannels)
        for b in 0..<batch {
            for t in 0..<tOut {
                for o in 0..<g.outChannels {
                    let dy = Double(gradOutput[(b * tOut + t) * g.outChannels + o])
                    db[o] += dy
                    for k in 0..<kk {
                        let ti = t * g.stride + k * g.dilation - g.padding
                        guard ti >= 0, ti < tIn else { continue }
                        for c in 0..<cg {
                            let xi = (b * tIn + ti) * g.inChannels + (o / og) * cg + c
                            let wi = (o * kk + k) * cg + c
                            dw[wi] += dy * Double(x[xi])
                            dx[xi] += dy * Double(packedWeight[wi])
                        }
                    }
                }
            }
        }
        if let gradInput { for i in dx.indices { gradInput[i] = Float(dx[i]) } }
        if let gradPackedWeight { for i in dw.indices { gradPackedWeight[i] = Float(dw[i]) } }
        if let gradBias { for i in db.indices { gradBias[i] = Float(db[i]) } }
    }
}
