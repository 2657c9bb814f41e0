import EmoTensor

extension TextTransformer {
    /// Backward of the recorded forward, given d loss / d hidden state `layer` (0 = embeddings output, L = last
    /// layer) `[B, T, C]`.
    ///
    /// Runs the layers below `layer` in reverse: output LayerNorm → dropout → feed-forward (GELU') → attention
    /// LayerNorm → dropout → output projection → attention (saved probabilities, their dropout mask) → fused
    /// q|k|v projection, each adding its residual; then the embeddings' dropout and LayerNorm.
    ///
    /// - Parameters:
    ///   - gradients: when given, d loss / d weight is added into it for every weight of its scope (the word,
    ///     position and token-type rows the batch used, except the padding row of a table with a `padding_idx`, as
    ///     `nn.Embedding` does); the layers below the scope are not visited unless `inputGradient` is true.
    ///   - inputGradient: whether d loss / d word embeddings `[B, T, C]` is wanted (Integrated Gradients); when
    ///     false the result is nil.
    @discardableResult
    public func backward(tape: TextTransformerTape, gradHidden: [Float], layer: Int, gradients: Gradients? = nil,
                         inputGradient: Bool = true) throws -> [Float]? {
        let b = tape.batch, t = tape.tokens, c = config.hiddenSize, f = config.intermediateSize, n = b * t
        guard tape.isRecorded, tape.channels == c, tape.layers.count == layers.count else {
            throw TextEncoderError.invalidOption(message: "backward needs a tape recorded by a forward of this model")
        }
        guard gradHidden.count == n * c else {
            throw TextEncoderError.invalidOption(message: "gradient holds \(gradHidden.count) values; the recorded [B, T, C] = [\(b), \(t), \(c)] needs \(n * c)")
        }
        guard (0...layers.count).contains(layer) else {
            throw TextEncoderError.invalidOption(message: "hidden-state index \(layer) is outside 0...\(layers.count)")
        }
        let trainsEmbeddings = gradients?.scope.embeddings == true
        let lowest = inputGradient || trainsEmbeddings ? 0 : (gradients?.firstLayer ?? layers.count)
        var dx = gradHidden                                                   // [N, C] d(hidden state)
        let dffn = UnsafeMutablePointer<Float>.allocate(capacity: n * f)      // [N, F]
        let act = UnsafeMutablePointer<Float>.allocate(capacity: n * f)       // [N, F] GELU output, recomputed
        let dctx = UnsafeMutablePointer<Float>.allocate(capacity: n * c)      // [N, C]
        let branch = UnsafeMutablePointer<Float>.allocate(capacity: n * c)    // [N, C] d sublayer output
        let input = UnsafeMutablePointer<Float>.allocate(capacity: n * c)     // [N, C] a linear's input, recomputed
        let dqkv = UnsafeMutablePointer<Float>.allocate(capacity: n * 3 * c)  // [N, 3C]
        let dP = UnsafeMutablePointer<Float>.allocate(capacity: 2 * t * t)    // [2, T, T]
        defer { for p in [dffn, act, dctx, branch, input, dqkv, dP] { p.deallocate() } }
        let geometry = AttentionGeometry(batch: b, heads: config.numHeads, headDim: config.headDim, queryLength: t, keyLength: t)
        let strides = AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c)  // q | k | v in one [N, 3C]

        dx.withUnsafeMutableBufferPointer { buffer in
            guard let dx = buffer.baseAddress else { return }
            for l in stride(from: layer - 1, through: lowest, by: -1) {
                let w = layers[l], s = tape.layers[l]
                let g = l >= (gradients?.firstLayer ?? Int.max) ? gradients?.layers[l] : nil  // nil: frozen layer
                // x2 = LN(r2), r2 = x1 + dropout(GELU(x1 W1ᵀ + b1) W2ᵀ + b2)
                Kernels.layerNormBackward(x: s.outNorm.preNorm, gradOutput: dx, rows: n, features: c,
                                          gamma: w.outNormWeight.readOnly, mean: s.outNorm.mean, rstd: s.outNorm.rstd,
                                          gradInput: dx, gradGamma: g?.outNormWeight.pointer,
                                          gradBeta: g?.outNormBias.pointer, accumulateParameterGradients: true)
                let dOut = Self.throughDropout(dx, s.ffnOutMask, into: branch, count: n * c)
                if g != nil { Kernels.gelu(x: s.ffnPreActivation, y: act, count: n * f, approximation: config.activation) }
                Kernels.linearBackward(x: act, gradOutput: dOut, rows: n, inFeatures: f, outFeatures: c,
                                       weight: w.ffnOutWeight.readOnly, gradWeight: g?.ffnOutWeight.pointer,
                                       gradBias: g?.ffnOutBias.pointer, gradInput: dffn)
                Kernels.geluBackward(x: s.ffnPreActivation, gradOutput: dffn, gradInput: dffn, count: n * f,
                                     approximation: config.activation)
                if g != nil {  // x1 = the attention norm's output, recomputed from its record
                    Kernels.layerNormOutput(x: s.attnNorm.preNorm, rows: n, features: c, mean: s.attnNorm.mean,
                                            rstd: s.attnNorm.rstd, gamma: w.attnNormWeight.readOnly,
                                            beta: w.attnNormBias.readOnly, y: input)
                }
                Kernels.linearBackward(x: input, gradOutput: dffn, rows: n, inFeatures: c, outFeatures: f,
                                       weight: w.ffnInWeight.readOnly, gradWeight: g?.ffnInWeight.pointer,
                                       gradBias: g?.ffnInBias.pointer, gradInput: dx, accumulateInput: true)
                // x1 = LN(r1), r1 = x0 + dropout(Attention(x0 Wqkvᵀ + bqkv) Woᵀ + bo)
                Kernels.layerNormBackward(x: s.attnNorm.preNorm, gradOutput: dx, rows: n, features: c,
                                          gamma: w.attnNormWeight.readOnly, mean: s.attnNorm.mean, rstd: s.attnNorm.rstd,
                                          gradInput: dx, gradGamma: g?.attnNormWeight.pointer,
                                          gradBeta: g?.attnNormBias.pointer, accumulateParameterGradients: true)
                let dAttn = Self.throughDropout(dx, s.attnOutMask, into: branch, count: n * c)
                Kernels.linearBackward(x: s.context, gradOutput: dAttn, rows: n, inFeatures: c, outFeatures: c,
                                       weight: w.attnOutWeight.readOnly, gradWeight: g?.attnOutWeight.pointer,
                                       gradBias: g?.attnOutBias.pointer, gradInput: dctx)
                Kernels.attentionBackward(geometry, strides: strides, q: s.qkv, k: s.qkv + c, v: s.qkv + 2 * c,
                                          probabilities: s.probabilities, gradOutput: dctx, gradQuery: dqkv,
                                          gradKey: dqkv + c, gradValue: dqkv + 2 * c, gradBias: nil,
                                          biasBatchStride: 0, dropout: s.probabilityMask, workspace: dP)
                if g != nil { layerInput(l, tape: tape, into: input) }
                let needsInput = l > lowest || inputGradient || trainsEmbeddings
                Kernels.linearBackward(x: input, gradOutput: dqkv, rows: n, inFeatures: c, outFeatures: 3 * c,
                                       weight: w.qkvWeight.readOnly, gradWeight: g?.qkvWeight.pointer,
                                       gradBias: g?.qkvBias.pointer, gradInput: needsInput ? dx : nil,
                                       accumulateInput: true)
            }
            guard lowest == 0, inputGradient || trainsEmbeddings else { return }
            // x = dropout(LN(word + position + type)): d word = d(pre-norm sum)
            if let m = tape.embeddingsMask { Kernels.multiply(dx, by: m, into: dx, count: n * c) }
            let ge = trainsEmbeddings ? gradients : nil
            Kernels.layerNormBackward(x: tape.embeddings.preNorm, gradOutput: dx, rows: n, features: c,
                                      gamma: embNormWeight.readOnly, mean: tape.embeddings.mean,
                                      rstd: tape.embeddings.rstd, gradInput: dx, gradGamma: ge?.embNormWeight.pointer,
                                      gradBeta: ge?.embNormBias.pointer, accumulateParameterGradients: true)
            guard let ge else { return }
            // The tables' rows: word[id] (when the forward looked them up), position[pos], token_type[0].
            let robertaPad = config.family == .roberta ? config.padID : -1  // RoBERTa's positions have padding_idx
            for (r, row) in tape.ids.enumerated() {
                let positions = positionIDs(row)
                for j in 0..<t {
                    let d = dx + (r * t + j) * c
                    if tape.wordsFromTable, row[j] != config.padID {
                        Kernels.add(ge.word.readOnly + row[j] * c, d, into: ge.word.pointer + row[j] * c, count: c)
                    }
                    if positions[j] != robertaPad {
                        Kernels.add(ge.position.readOnly + positions[j] * c, d, into: ge.position.pointer + positions[j] * c, count: c)
                    }
                    Kernels.add(ge.tokenType.readOnly, d, into: ge.tokenType.pointer, count: c)
                }
            }
        }
        return inputGradient ? dx : nil
    }

    /// `grad ⊙ mask` into `scratch` when the sublayer had dropout, else `grad` itself.
    private static func throughDropout(_ grad: UnsafeMutablePointer<Float>, _ mask: UnsafeMutablePointer<Float>?,
                                       into scratch: UnsafeMutablePointer<Float>, count: Int) -> UnsafePointer<Float> {
        guard let mask else { return UnsafePointer(grad) }
        Kernels.multiply(grad, by: mask, into: scratch, count: count)
        return UnsafePointer(scratch)
    }

    /// Layer `l`'s input `[N, C]` recomputed from the tape: the previous layer's output norm, or for layer 0 the
    /// embeddings' norm followed by their dropout mask.
    private func layerInput(_ l: Int, tape: TextTransformerTape, into y: UnsafeMutablePointer<Float>) {
        let n = tape.batch * tape.tokens, c = config.hiddenSize
        if l == 0 {
            let e = tape.embeddings
            Kernels.layerNormOutput(x: e.preNorm, rows: n, features: c, mean: e.mean, rstd: e.rstd,
                                    gamma: embNormWeight.readOnly, beta: embNormBias.readOnly, y: y)
            if let m = tape.embeddingsMask { Kernels.multiply(y, by: m, into: y, count: n * c) }
        } else {
            let below = tape.layers[l - 1].outNorm, w = layers[l - 1]
            Kernels.layerNormOutput(x: below.preNorm, rows: n, features: c, mean: below.mean, rstd: below.rstd,
                                    gamma: w.outNormWeight.readOnly, beta: w.outNormBias.readOnly, y: y)
        }
    }
}
