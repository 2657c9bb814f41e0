import EmoModels
import EmoTensor
import Foundation

/// Backward pass (vector-Jacobian product) from the mean-pooled `last_hidden_state` to the input samples.
///
/// It reads what a recording forward kept (`SpeechEncoder+Tape.swift`): with a full tape nothing is recomputed;
/// with a front-end tape (`checkpointed`), each transformer layer is re-run from its input hidden state, recording
/// into one layer slot, just before its backward (activation checkpointing: less memory, one more forward).
/// Gradients flow to the input and, after a `trainingForward` with a `Gradients` given, to the weights (the weight
/// terms are in `SpeechEncoder+WeightGradients.swift`; without gradients none of them runs). Every buffer is
/// workspace memory; nothing is allocated per layer.
extension SpeechEncoder {
    /// Runs a forward pass, then returns d(sum_{b,c} pooledGrad[b, c] * meanPooled[b, c]) / d input, `[B, S]`.
    ///
    /// `pooledGrad` is `[B, C]`: the gradient of the caller's loss with respect to the mean of `last_hidden_state`
    /// over each clip's real frames (the `mean` pooling of the encoder components). With `checkpointed`, layer
    /// activations are recomputed during backward instead of kept (about 60 MB less per 3 s clip for a base
    /// model, one more pass through the transformer); the result is the same.
    public func inputGradient(_ input: [Float], batch: Int, samples: Int, lengths: [Int]? = nil,
                              pooledGrad: [Float], checkpointed: Bool = false) throws -> (output: SpeechEncoderOutput, gradient: [Float]) {
        let out = try forward(input, batch: batch, samples: samples, lengths: lengths, keepConvFeatures: false,
                              depth: checkpointed ? .frontEnd : .full)
        let dx = try out.hiddenStates.withUnsafeBufferPointer { hs in
            try backward(pooledGrad: pooledGrad, hiddenStates: hs.baseAddress)
        }
        return (out, dx)
    }

    /// The backward of a taped forward that `forwardSplittingBatch` split across `splitClones`: each clone
    /// differentiates its own clips on its own thread (single-threaded GEMMs), then the `[B_k, S]` parts are joined.
    func backwardSplit(pooledGrad: [Float], ranges: [Range<Int>], samples: Int) throws -> [Float] {
        let c = config.hiddenSize
        let clones = Array(splitClones.prefix(ranges.count))
        guard clones.count == ranges.count else {
            throw CheckpointError.invalidConfig(path: "backward", message: "the split forward's instances are gone")
        }
        var parts = [Result<[Float], any Error>?](repeating: nil, count: ranges.count)
        parts.withUnsafeMutableBufferPointer { res in
            Dense.parallelChunksWithSerialBLAS(ranges.count) { _, clonesHere in
                for k in clonesHere {
                    let r = ranges[k]
                    let g = Array(pooledGrad[(r.lowerBound * c)..<(r.upperBound * c)])
                    res[k] = Result { try Dense.serially { try clones[k].backward(pooledGrad: g, hiddenStates: nil) } }
                }
            }
        }
        var dx: [Float] = []
        dx.reserveCapacity(pooledGrad.count / c * samples)
        for part in parts {
            guard let part else { throw CheckpointError.invalidConfig(path: "backward", message: "a sub-batch returned nothing") }
            dx.append(contentsOf: try part.get())
        }
        return dx
    }

    /// d(sum_{b,c} pooledGrad[b, c] * meanPooled[b, c]) / d input `[B, S]` for the last forward, which must have
    /// been run with `recordTape: true` (and no forward since).
    public func inputGradientOfLastForward(pooledGrad: [Float]) throws -> [Float] {
        guard let shape = tapeShape, shape.depth == .full else {
            throw CheckpointError.invalidConfig(path: "backward", message: "the last forward kept no tape; run forward(..., recordTape: true) first, or use inputGradient(_:batch:samples:lengths:pooledGrad:)")
        }
        return try backward(pooledGrad: pooledGrad, hiddenStates: nil)
    }

    /// The backward pass over the recorded tape; `hiddenStates` `[L+1, B, T, C]` are needed for a front-end-only
    /// (checkpointed) tape. With `gradients` (the tape must hold the weight inputs), d loss / d weight is added
    /// into them for every weight of their scope; without `inputGradient` the pass stops as low as the scope
    /// allows and returns `[]`.
    func backward(pooledGrad: [Float], hiddenStates: UnsafePointer<Float>?, gradients: Gradients? = nil,
                  inputGradient: Bool = true) throws -> [Float] {
        guard let shape = tapeShape else {
            throw CheckpointError.invalidConfig(path: "backward", message: "no recorded forward to differentiate")
        }
        let (batch, t, c, nl) = (shape.batch, shape.frames, config.hiddenSize, config.numLayers)
        guard pooledGrad.count == batch * c else {
            throw CheckpointError.invalidConfig(path: "backward", message: "pooledGrad has \(pooledGrad.count) values, expected B × C = \(batch) × \(c)")
        }
        if shape.depth == .frontEnd && hiddenStates == nil {
            throw CheckpointError.invalidConfig(path: "backward", message: "a checkpointed tape needs the forward's hidden states")
        }
        if gradients != nil && !shape.weightInputs {
            throw CheckpointError.invalidConfig(path: "backward", message: "weight gradients need a training forward (trainingForward) first")
        }
        if inputGradient && !shape.convLayers {
            throw CheckpointError.invalidConfig(path: "backward", message: "the last training forward froze the conv feature encoder and did not tape it, so there is no gradient to the input samples; train the feature encoder (freeze_feature_encoder: false) or run forward(..., recordTape: true)")
        }
        if let ranges = splitRanges {
            return try backwardSplit(pooledGrad: pooledGrad, ranges: ranges, samples: shape.samples)
        }
        let rows = batch * t
        let ws = workspace
        // d last_hidden_state [B, T, C]: the mean over real frames spreads each clip's gradient evenly.
        let dH = ws.buffer(.bH, rows * c)
        dH.update(repeating: 0, count: rows * c)
        for b in 0..<batch {
            let n = shape.frameLengths[b]
            guard n > 0 else { continue }
            for tt in 0..<min(n, t) {
                for ch in 0..<c { dH[(b * t + tt) * c + ch] = pooledGrad[b * c + ch] / Float(n) }
            }
        }
        let front = frontTape(batch: batch, samples: shape.samples, frames: t, weightInputs: shape.weightInputs,
                              dropout: shape.dropout, timeMasking: shape.timeMasked, convLayers: shape.convLayers)
        if config.stableLayerNorm {
            Kernels.normAffineBackward(xhat: front.encXhat, gradOutput: dH, rows: rows, features: c,
                                       gradGamma: gradients?.of(encoderNorm.weight), gradBeta: gradients?.of(encoderNorm.bias))
            Kernels.layerNormBackward(xhat: front.encXhat, rstd: front.encRstd, gamma: encoderNorm.weight,
                                      gradOutput: dH, rows: rows, features: c, gradInput: dH)
        }
        let keys = shape.lengths == nil ? Array(repeating: t, count: batch) : shape.frameLengths
        let bias = relativePositionBias(frames: t, ws: ws)
        // Without an input gradient, layers below the trained ones are not visited, nor the front end when untrained.
        let lowest = inputGradient ? 0 : (gradients?.firstLayer ?? nl)
        for l in stride(from: nl - 1, through: lowest, by: -1) {
            if shape.skippedLayers.indices.contains(l) && shape.skippedLayers[l] { continue }  // LayerDrop: identity
            let tape: LayerTape
            if shape.depth == .full {
                tape = layerTape(l, batch: batch, frames: t, weightInputs: shape.weightInputs, dropout: shape.dropout)
            } else if let hs = hiddenStates {
                // Recompute layer l from its input, recording into slot 0 (a training forward's weight inputs and
                // dropout masks too, the masks drawn again from the stream as it stood before the forward drew them).
                tape = layerTape(0, batch: batch, frames: t, weightInputs: shape.weightInputs, dropout: shape.dropout)
                if shape.dropout != nil, checkpointStreams.indices.contains(l) {
                    let resume = dropoutGenerator
                    dropoutGenerator = checkpointStreams[l]
                    drawDropoutMasks(tape, batch: batch, frames: t)
                    dropoutGenerator = resume
                }
                let h = ws.buffer(.ckH, rows * c)
                h.update(from: hs + l * rows * c, count: rows * c)
                transformerLayer(layers[l], h: h, batch: batch, frames: t, keys: keys, positionBias: bias, ws: ws, tape: tape)
            } else {
                continue
            }
            layerBackward(layers[l], tape: tape, dH: dH, batch: batch, frames: t, keys: keys, positionBias: bias,
                          gradients: gradients)
        }
        if !inputGradient {
            guard lowest == 0, let g = gradients, g.scope.frontEnd || g.scope.featureEncoder else { return [] }
        }
        return frontBackward(front, shape: shape, dHidden0: dH, gradients: gradients, inputGradient: inputGradient)
    }

    // MARK: - Front end: conv feature encoder, projection, positional conv, first norm

    /// Back-propagates d hidden_states[0] `[B, T, C]` (overwritten) to the input samples `[B, S]`, adding the
    /// front end's weight gradients into `gradients` when given (then, without `inputGradient`, it stops where
    /// the scope does and returns `[]`).
    func frontBackward(_ front: FrontTape, shape: TapeShape, dHidden0 dH: UnsafeMutablePointer<Float>,
                       gradients: Gradients? = nil, inputGradient: Bool = true) -> [Float] {
        let (batch, samples, t) = (shape.batch, shape.samples, shape.frames)
        let (c, cc) = (config.hiddenSize, config.convOutputDim)
        let rows = batch * t
        let ws = workspace
        // Post-LN layouts: hidden_states[0] = LN(h0 + gelu(z)); dH becomes d(h0 + gelu(z)).
        let trained = gradients?.scope.frontEnd == true ? gradients : nil  // the front end's weights
        // hidden_states[0] = dropout(…): the mask first.
        if let mask = front.encMask { Kernels.multiply(dH, by: mask, into: dH, count: rows * c) }
        if !config.stableLayerNorm {
            if let trained {
                Kernels.normAffineBackward(xhat: front.encXhat, gradOutput: dH, rows: rows, features: c,
                                           gradGamma: trained.of(encoderNorm.weight), gradBeta: trained.of(encoderNorm.bias))
            }
            Kernels.layerNormBackward(xhat: front.encXhat, rstd: front.encRstd, gamma: encoderNorm.weight,
                                      gradOutput: dH, rows: rows, features: c, gradInput: dH)
        }
        // dh0 = dHsum + convT(gelu'(z) * dHsum)
        let dz = ws.buffer(.bZ, rows * c)
        dz.update(from: dH, count: rows * c)
        Dense.geluBackward(z: front.posPre, dy: dz, count: rows * c)
        if let trained, let posIn = front.posIn {
            positionalConvWeightGradient(dz, input: posIn, batch: batch, frames: t, into: trained)
        }
        positionalConvBackward(dz, batch: batch, frames: t, into: dH)
        if shape.lengths != nil {
            for b in 0..<batch where shape.frameLengths[b] < t {
                (dH + (b * t + shape.frameLengths[b]) * c).update(repeating: 0, count: (t - shape.frameLengths[b]) * c)
            }
        }
        // SpecAugment replaced masked frames by masked_spec_embed: their gradient goes there, not to the projection.
        if let mask = front.timeMask { timeMaskBackward(mask, dH, rows: rows, into: trained) }
        // h0 = dropout(projection): the mask, then d normed features = dh0 · W [rows, C'], then the projection norm.
        if let mask = front.projMask { Kernels.multiply(dH, by: mask, into: dH, count: rows * c) }
        if let trained, let projIn = front.projIn {
            Kernels.linearBackward(x: projIn, gradOutput: dH, rows: rows, inFeatures: cc, outFeatures: c,
                                   weight: projectionWeight, gradWeight: trained.of(projectionWeight),
                                   gradBias: trained.of(projectionBias), gradInput: nil)
        }
        let dFeat = ws.buffer(.bFeat, rows * cc)
        Kernels.sgemm(m: rows, n: cc, k: c, a: dH, lda: c, b: projectionWeight, ldb: cc, beta: 0, c: dFeat, ldc: cc)
        if let norm = projectionNorm {
            if let trained {
                Kernels.normAffineBackward(xhat: front.projXhat, gradOutput: dFeat, rows: rows, features: cc,
                                           gradGamma: trained.of(norm.weight), gradBeta: trained.of(norm.bias))
            }
            Kernels.layerNormBackward(xhat: front.projXhat, rstd: front.projRstd, gamma: norm.weight,
                                      gradOutput: dFeat, rows: rows, features: cc, gradInput: dFeat)
        }
        let convTrained = gradients?.scope.featureEncoder == true ? gradients : nil
        if !inputGradient && convTrained == nil { return [] }
        let convGrads = convTrained.map { convGradientSums($0, chunks: Dense.chunkCount(batch)) }
        // Conv stack, last layer first, clips in parallel (one chunk per thread, its own scratch).
        var dx = [Float](repeating: 0, count: batch * samples)
        let frames = convs.indices.map { config.frameCount(samples: samples, layers: $0 + 1) }
        let scratch = (0..<Dense.chunkCount(batch)).map { convScratch(samples: samples, chunk: $0, backward: true) }
        dx.withUnsafeMutableBufferPointer { dxp in
            guard let dxp = dxp.baseAddress else { return }
            Dense.parallelChunksWithSerialBLAS(batch) { chunk, clips in
                let sc = scratch[chunk]
                for b in clips {
                    var dY = dFeat + b * t * cc  // [T_i, C_out] d conv output (after GELU)
                    for i in stride(from: convs.count - 1, through: 0, by: -1) {
                        let cl = convs[i]
                        let tOut = frames[i], tIn = i == 0 ? samples : frames[i - 1]
                        let saved = front.conv[i] + b * tOut * cl.cout
                        // d GELU input, then through the norm: d conv output (before norm) in place in dY.
                        if let norm = cl.norm {
                            Dense.affineGeluBackward(xhat: saved, rows: tOut, cols: cl.cout, gamma: norm.weight,
                                                     beta: norm.bias, dy: dY)
                            if let sums = convGrads?[chunk] {
                                Kernels.normAffineBackward(xhat: saved, gradOutput: dY, rows: tOut, features: cl.cout,
                                                           gradGamma: sums.norm[i]?.weight, gradBeta: sums.norm[i]?.bias)
                            }
                            if cl.groupNorm {
                                Dense.columnNormBackward(rows: tOut, cols: cl.cout, xhat: saved,
                                                         rstd: front.convRstd[i] + b * cl.cout, gamma: norm.weight,
                                                         dy: dY, dx: dY, scratch: sc.norm)
                            } else {
                                Kernels.layerNormBackward(xhat: saved, rstd: front.convRstd[i] + b * tOut, gamma: norm.weight,
                                                          gradOutput: dY, rows: tOut, features: cl.cout, gradInput: dY)
                            }
                        } else {
                            Dense.geluBackward(z: saved, dy: dY, count: tOut * cl.cout)
                        }
                        if let sums = convGrads?[chunk] {
                            convWeightGradient(i, front: front, clip: b, samples: samples, dZ: dY, into: sums)
                        }
                        if i == 0 && !inputGradient { break }
                        let dIn = i == 0 ? dxp + b * samples : (i % 2 == 0 ? sc.ping : sc.pong)
                        cl.weight.withUnsafeBufferPointer { w in
                            guard let w = w.baseAddress else { return }
                            Kernels.conv1dChannelsLastInputGradient(cl.geometry, inputLength: tIn, outputFrames: tOut,
                                                                    gradOutput: dY, packedWeight: w, gradInput: dIn,
                                                                    workspace: sc.col)
                        }
                        dY = dIn
                    }
                }
            }
        }
        if let convTrained, let convGrads { addConvGradientSums(convGrads, into: convTrained) }
        return inputGradient ? dx : []
    }

    // MARK: - Transformer layer

    /// Back through layer `p` given its tape: `dH [B, T, C]` holds d output on entry and d input on return.
    func layerBackward(_ p: Layer, tape: LayerTape, dH: UnsafeMutablePointer<Float>, batch: Int, frames t: Int,
                       keys: [Int], positionBias: UnsafeMutablePointer<Float>?, gradients: Gradients? = nil) {
        let (c, f) = (config.hiddenSize, config.intermediateSize)
        let rows = batch * t
        let ws = workspace
        let dA = ws.buffer(.bA, rows * c)   // [B, T, C]
        let dT = ws.buffer(.bT, rows * c)   // [B, T, C]
        let dG = ws.buffer(.bG, rows * f)   // [B, T, F]
        let g = gradients?.of(p.qkvWeight) != nil ? gradients : nil  // nil: this layer is frozen
        // FFN backward from d(FFN block output) in `dBlock`: through its dropout, dG = dFfOut · W2, through the
        // activation's dropout, dG *= gelu'(pre), dT = dG · W1.
        func ffnBackward(_ dBlock: UnsafeMutablePointer<Float>) {
            let dFfOut = throughDropout(dBlock, tape.ffOutMask, count: rows * c)
            if let g { ffnOutputWeightGradient(p, tape: tape, dFfOut: dFfOut, rows: rows, into: g) }
            Kernels.sgemm(m: rows, n: f, k: c, a: dFfOut, lda: c, b: p.ffOutWeight, ldb: f, beta: 0, c: dG, ldc: f)
            if let mask = tape.actMask { Kernels.multiply(dG, by: mask, into: dG, count: rows * f) }
            Dense.geluBackward(z: tape.ffPre, dy: dG, count: rows * f)
            if let g { ffnInputWeightGradient(p, tape: tape, dPre: dG, rows: rows, into: g) }
            Kernels.sgemm(m: rows, n: c, k: f, a: dG, lda: f, b: p.ffInWeight, ldb: c, beta: 0, c: dT, ldc: c)
        }
        if config.stableLayerNorm {
            // out = a1 + FFN(LN2(a1)): dA1 = dOut + LN2ᵀ(FFNᵀ dOut), kept in dH.
            ffnBackward(dH)
            Kernels.normAffineBackward(xhat: tape.normBXhat, gradOutput: dT, rows: rows, features: c,
                                       gradGamma: g?.of(p.norm2.weight), gradBeta: g?.of(p.norm2.bias))
            Kernels.layerNormBackward(xhat: tape.normBXhat, rstd: tape.normBRstd, gamma: p.norm2.weight,
                                      gradOutput: dT, rows: rows, features: c, gradInput: dH, accumulate: true)
        } else {
            // out = LN2(a2), a2 = u + FFN(u), u = LN1(a1).
            Kernels.normAffineBackward(xhat: tape.normBXhat, gradOutput: dH, rows: rows, features: c,
                                       gradGamma: g?.of(p.norm2.weight), gradBeta: g?.of(p.norm2.bias))
            Kernels.layerNormBackward(xhat: tape.normBXhat, rstd: tape.normBRstd, gamma: p.norm2.weight,
                                      gradOutput: dH, rows: rows, features: c, gradInput: dA)
            ffnBackward(dA)
            Dense.add(dA, into: dT, count: rows * c)
            Kernels.normAffineBackward(xhat: tape.normAXhat, gradOutput: dT, rows: rows, features: c,
                                       gradGamma: g?.of(p.norm1.weight), gradBeta: g?.of(p.norm1.bias))
            Kernels.layerNormBackward(xhat: tape.normAXhat, rstd: tape.normARstd, gamma: p.norm1.weight,
                                      gradOutput: dT, rows: rows, features: c, gradInput: dH)
        }
        // dH = d a1, a1 = hIn + dropout(out_proj(attention(x))): d ctx = (dA1 ⊙ mask) · Wo, then attention back to
        // x (in dA).
        let dAttnOut = throughDropout(dH, tape.attnOutMask, count: rows * c)
        if let g, let ctx = tape.ctx {
            Kernels.linearBackward(x: ctx, gradOutput: dAttnOut, rows: rows, inFeatures: c, outFeatures: c, weight: p.outWeight,
                                   gradWeight: g.of(p.outWeight), gradBias: g.of(p.outBias), gradInput: nil)
        }
        Kernels.sgemm(m: rows, n: c, k: c, a: dAttnOut, lda: c, b: p.outWeight, ldb: c, beta: 0, c: dT, ldc: c)
        attentionBackward(p, tape: tape, dCtx: dT, into: dA, batch: batch, frames: t, keys: keys, positionBias: positionBias,
                          gradients: gradients, trained: g != nil)
        if config.stableLayerNorm {
            Kernels.normAffineBackward(xhat: tape.normAXhat, gradOutput: dA, rows: rows, features: c,
                                       gradGamma: g?.of(p.norm1.weight), gradBeta: g?.of(p.norm1.bias))
            Kernels.layerNormBackward(xhat: tape.normAXhat, rstd: tape.normARstd, gamma: p.norm1.weight,
                                      gradOutput: dA, rows: rows, features: c, gradInput: dH, accumulate: true)
        } else {
            Dense.add(dA, into: dH, count: rows * c)
        }
    }

    /// d attention input `dx [B, T, C]` (overwritten) from d context `dCtx [B, T, C]` (before `out_proj`).
    /// With `gradients`, adds the gated relative position table's gradient (when trained; every layer uses it) and,
    /// when the layer is `trained`, its q|k|v and gate weights' gradients.
    func attentionBackward(_ p: Layer, tape: LayerTape, dCtx: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
                           batch: Int, frames t: Int, keys: [Int], positionBias: UnsafeMutablePointer<Float>?,
                           gradients: Gradients? = nil, trained: Bool = false) {
        let (c, nh, d) = (config.hiddenSize, config.numHeads, config.headDim)
        let rows = batch * t
        let scale = 1 / Float(d).squareRoot()
        let ws = workspace
        let dqkv = ws.buffer(.bQKV, rows * 3 * c)  // [B, T, 3C]
        let dGate = ws.buffer(.bGate, rows * nh)   // [B, T, H]
        let dPAll = ws.buffer(.bP, batch * nh * t * t)  // [B, H, T, T]
        dqkv.update(repeating: 0, count: rows * 3 * c)
        let gated = p.gate != nil
        let dropped = tape.attnMask.map { _ in ws.buffer(.bDropProbs, batch * nh * t * t) }  // [B, H, T, T] P ⊙ mask
        // Per (clip, head), the pairs split across threads (single-threaded GEMMs inside; disjoint writes).
        Dense.parallelWithSerialBLAS(batch * nh) { pairs in
            for bh in pairs {
                let (b, hh) = (bh / nh, bh % nh)
                let nk = keys[b]
                let base = UnsafePointer(tape.qkv + b * t * 3 * c), dbase = dqkv + b * t * 3 * c
                let probs = UnsafePointer(tape.probs + bh * t * t)
                let dctx = dCtx + b * t * c + hh * d
                let dP = dPAll + bh * t * t
                // dP = dctx · Vᵀ [T, nk]; dV = Pᵀ · dctx [nk, D] (with attention dropout: P ⊙ mask, and dP ⊙ mask).
                var weights = probs
                if let mask = tape.attnMask, let dropped {
                    let dst = dropped + bh * t * t, m = mask + bh * t * t
                    for q in 0..<t { for k in 0..<nk { dst[q * t + k] = probs[q * t + k] * m[q * t + k] } }
                    weights = UnsafePointer(dst)
                }
                Kernels.sgemm(transB: true, m: t, n: nk, k: d, a: dctx, lda: c, b: base + 2 * c + hh * d, ldb: 3 * c,
                              beta: 0, c: dP, ldc: t)
                Kernels.sgemm(transA: true, m: nk, n: d, k: t, a: weights, lda: t, b: dctx, ldb: c, beta: 0,
                              c: dbase + 2 * c + hh * d, ldc: 3 * c)
                if let mask = tape.attnMask {
                    let m = mask + bh * t * t
                    for q in 0..<t { for k in 0..<nk { dP[q * t + k] *= m[q * t + k] } }
                }
                // dS = P ⊙ (dP − rowsum(dP ⊙ P)); WavLM: dgate[q] = Σ_k dS[q, k] bias[h, q, k]
                for qi in 0..<t {
                    let prow = probs + qi * t, drow = dP + qi * t
                    var dot: Float = 0
                    for k in 0..<nk { dot += drow[k] * prow[k] }
                    for k in 0..<nk { drow[k] = prow[k] * (drow[k] - dot) }
                    if let pb = positionBias, gated {
                        let brow = pb + (hh * t + qi) * t
                        var s: Float = 0
                        for k in 0..<nk { s += drow[k] * brow[k] }
                        dGate[(b * t + qi) * nh + hh] = s
                    }
                }
                // dQ = scale dS · K [T, D]; dK = scale dSᵀ · Q [nk, D]
                Kernels.sgemm(m: t, n: d, k: nk, alpha: scale, a: dP, lda: t, b: base + c + hh * d, ldb: 3 * c,
                              beta: 0, c: dbase + hh * d, ldc: 3 * c)
                Kernels.sgemm(transA: true, m: nk, n: d, k: t, alpha: scale, a: dP, lda: t, b: base + hh * d,
                              ldb: 3 * c, beta: 0, c: dbase + c + hh * d, ldc: 3 * c)
            }
        }
        if let gradients {
            attentionWeightGradients(p, tape: tape, dqkv: dqkv, dScores: dPAll, dGate: dGate, batch: batch, frames: t,
                                     keys: keys, into: gradients, trained: trained)
        }
        // dx = dqkv · Wqkv [rows, C]
        Kernels.sgemm(m: rows, n: c, k: 3 * c, a: dqkv, lda: 3 * c, b: p.qkvWeight, ldb: c, beta: 0, c: dx, ldc: c)
        if let g = p.gate {
            // gate = ga (gb const − 1) + 2, ga = σ(s0), gb = σ(s1), s0/s1 = sums of 4 projections of x's head slice.
            var w0 = [Float](repeating: 0, count: d), w1 = [Float](repeating: 0, count: d)
            for o in 0..<8 { for i in 0..<d { if o < 4 { w0[i] += g.weight[o * d + i] } else { w1[i] += g.weight[o * d + i] } } }
            for r in 0..<rows {
                for hh in 0..<nh {
                    let ga = tape.gateA[r * nh + hh], gb = tape.gateB[r * nh + hh], dg = dGate[r * nh + hh]
                    let ds0 = dg * (gb * g.const[hh] - 1) * ga * (1 - ga)
                    let ds1 = dg * ga * g.const[hh] * gb * (1 - gb)
                    for i in 0..<d { dx[r * c + hh * d + i] += ds0 * w0[i] + ds1 * w1[i] }
                }
            }
        }
    }
}
