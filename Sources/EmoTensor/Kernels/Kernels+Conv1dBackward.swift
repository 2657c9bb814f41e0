// Conv1d backward in PyTorch layout: weight gradient by GEMM against the im2col matrix, input gradient by
// GEMM into a column buffer followed by col2im (scatter-add).

extension Kernels {
    /// Floats of workspace `conv1dBackward` needs: two im2col-sized buffers (columns and their gradient).
    public static func conv1dBackwardWorkspaceCount(_ g: Conv1dGeometry, inputLength tIn: Int) -> Int {
        2 * g.groupInChannels * g.kernelSize * g.outputLength(inputLength: tIn)
    }

    /// Conv1d backward (PyTorch layout), given the forward's input and weight and the output gradient.
    ///
    /// - Parameters:
    ///   - x: forward input `[B, Cin, Tin]`; weight `[Cout, Cin/G, K]`; gradOutput `[B, Cout, Tout]`.
    ///   - gradInput: `[B, Cin, Tin]`, overwritten; nil to skip.
    ///   - gradWeight: `[Cout, Cin/G, K]`, overwritten; nil to skip.
    ///   - gradBias: `[Cout]`, overwritten; nil to skip.
    ///   - workspace: at least `conv1dBackwardWorkspaceCount(geometry, inputLength: Tin)` floats.
    /// Per (batch, group): dW_g += dY_g · colᵀ and dcol = W_gᵀ · dY_g, then col2im into dx.
    public static func conv1dBackward(_ g: Conv1dGeometry, batch: Int, inputLength tIn: Int,
                                      x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                      gradOutput: UnsafePointer<Float>,
                                      gradInput: UnsafeMutablePointer<Float>?,
                                      gradWeight: UnsafeMutablePointer<Float>?,
                                      gradBias: UnsafeMutablePointer<Float>?,
                                      workspace: UnsafeMutablePointer<Float>) {
        let tOut = g.outputLength(inputLength: tIn)
        let cg = g.groupInChannels, og = g.groupOutChannels, red = cg * g.kernelSize
        let col = workspace, dcol = workspace + red * tOut  // [Cin/G·K, Tout] each
        gradInput?.update(repeating: 0, count: batch * g.inChannels * tIn)
        gradWeight?.update(repeating: 0, count: g.weightCount)
        if let gradBias {
            gradBias.update(repeating: 0, count: g.outChannels)
            for b in 0..<batch {
                for o in 0..<g.outChannels { gradBias[o] += sum(gradOutput + (b * g.outChannels + o) * tOut, count: tOut) }
            }
        }
        for b in 0..<batch {
            let xb = x + b * g.inChannels * tIn, dyb = gradOutput + b * g.outChannels * tOut
            for grp in 0..<g.groups {
                let dyg = dyb + grp * og * tOut        // [Cout/G, Tout]
                let wg = weight + grp * og * red       // [Cout/G, Cin/G·K]
                if let gradWeight {
                    im2colNCL(g, inputLength: tIn, outputLength: tOut, x: xb + grp * cg * tIn, col: col)
                    sgemm(transB: true, m: og, n: red, k: tOut, a: dyg, lda: tOut, b: col, ldb: tOut,
                          beta: 1, c: gradWeight + grp * og * red, ldc: red)
                }
                if let gradInput {
                    sgemm(transA: true, m: red, n: tOut, k: og, a: wg, lda: red, b: dyg, ldb: tOut,
                          beta: 0, c: dcol, ldc: tOut)
                    col2imNCL(g, inputLength: tIn, outputLength: tOut, col: dcol,
                              x: gradInput + b * g.inChannels * tIn + grp * cg * tIn)
                }
            }
        }
    }

    /// Adjoint of `im2colNCL`: `x[c, t·s + k·d − p] += col[c·K + k, t]` for positions inside the input.
    public static func col2imNCL(_ g: Conv1dGeometry, inputLength tIn: Int, outputLength tOut: Int,
                                 col: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>) {
        let s = g.stride
        for c in 0..<g.groupInChannels {
            let xc = x + c * tIn
            for k in 0..<g.kernelSize {
                let row = col + (c * g.kernelSize + k) * tOut
                let offset = k * g.dilation - g.padding
                let (t0, t1) = validRange(offset: offset, stride: s, inputLength: tIn, outputLength: tOut)
                for t in t0..<t1 { xc[t * s + offset] += row[t] }
            }
        }
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.conv1dBackward` (direct loops, Double accumulation; `workspace` unused).
    public static func conv1dBackward(_ g: Conv1dGeometry, batch: Int, inputLength tIn: Int,
                                      x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                      gradOutput: UnsafePointer<Float>,
                                      gradInput: UnsafeMutablePointer<Float>?,
                                      gradWeight: UnsafeMutablePointer<Float>?,
                                      gradBias: UnsafeMutablePointer<Float>?,
                                      workspace: UnsafeMutablePointer<Float>?) {
        let tOut = g.outputLength(inputLength: tIn)
        let cg = g.groupInChannels, og = g.groupOutChannels, kk = g.kernelSize
        var dx = [Double](repeating: 0, count: batch * g.inChannels * tIn)
        var dw = [Double](repeating: 0, count: g.weightCount)
        var db = [Double](repeating: 0, count: g.outChannels)
        for b in 0..<batch {
            for o in 0..<g.outChannels {
                let grp = o / og
                for t in 0..<tOut {
                    let dy = Double(gradOutput[(b * g.outChannels + o) * tOut + t])
                    db[o] += dy
                    for c in 0..<cg {
                        for k in 0..<kk {
                            let ti = t * g.stride + k * g.dilation - g.padding
                            guard ti >= 0, ti < tIn else { continue }
                            let xi = (b * g.inChannels + grp * cg + c) * tIn + ti
                            dw[(o * cg + c) * kk + k] += dy * Double(x[xi])
                            dx[xi] += dy * Double(weight[(o * cg + c) * kk + k])
                        }
                    }
                }
            }
        }
        if let gradInput { for i in dx.indices { gradInput[i] = Float(dx[i]) } }
        if let gradWeight { for i in dw.indices { gradWeight[i] = Float(dw[i]) } }
        if let gradBias { for i in db.indices { gradBias[i] = Float(db[i]) } }
    }
}
