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
