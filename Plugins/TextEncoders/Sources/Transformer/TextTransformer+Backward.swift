import EmoTensor

extension TextTransformer {
    /// Gradient with respect to the word embeddings `[B, T, C]` of the recorded forward, given the gradient of
    /// hidden state `layer` (0 = embeddings output, L = last layer) `[B, T, C]`.
    ///
    /// Runs the layers below `layer` in reverse: output LayerNorm → feed-forward (GELU') → attention LayerNorm →
    /// output projection → attention (saved probabilities) → fused q|k|v projection, each adding its residual;
    /// then the embeddings LayerNorm. Parameters are frozen: no weight gradients are formed.
    public func backward(tape: TextTransformerTape, gradHidden: [Float], layer: Int) throws -> [Float] {
        let b = tape.batch, t = tape.tokens, c = config.hiddenSize, f = config.intermediateSize, n = b * t
        guard tape.isRecorded, tape.channels == c, tape.layers.count == layers.count else {
            throw TextEncoderError.invalidOption(message: "backward needs a tape recorded by forward(wordEmbeddings:…, tape:) of this model")
        }
        guard gradHidden.count == n * c else {
            throw TextEncoderError.invalidOption(message: "gradient holds \(gradHidden.count) values; the recorded [B, T, C] = [\(b), \(t), \(c)] needs \(n * c)")
        }
        guard (0...layers.count).contains(layer) else {
            throw TextEncoderError.invalidOption(message: "hidden-state index \(layer) is outside 0...\(layers.count)")
        }
        var dx = gradHidden                                                   // [N, C] d(hidden state)
        let dffn = UnsafeMutablePointer<Float>.allocate(capacity: n * f)      // [N, F]
        let dctx = UnsafeMutablePointer<Float>.allocate(capacity: n * c)      // [N, C]
        let dqkv = UnsafeMutablePointer<Float>.allocate(capacity: n * 3 * c)  // [N, 3C]
        let dP = UnsafeMutablePointer<Float>.allocate(capacity: t * t)        // [T, T]
        defer { for p in [dffn, dctx, dqkv, dP] { p.deallocate() } }
        let geometry = AttentionGeometry(batch: b, heads: config.numHeads, headDim: config.headDim, queryLength: t, keyLength: t)
        let strides = AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c)  // q | k | v in one [N, 3C]

        dx.withUnsafeMutableBufferPointer { buffer in
            guard let dx = buffer.baseAddress else { return }
            for l in stride(from: layer - 1, through: 0, by: -1) {
                let w = layers[l], s = tape.layers[l]
                // x2 = LN(r2), r2 = x1 + GELU(x1 W1ᵀ + b1) W2ᵀ + b2
                Kernels.layerNormBackward(x: s.outNorm.preNorm, gradOutput: dx, rows: n, features: c,
                                          gamma: w.outNormWeight.readOnly, mean: s.outNorm.mean, rstd: s.outNorm.rstd,
                                          gradInput: dx, gradGamma: nil, gradBeta: nil)
                Kernels.sgemm(m: n, n: f, k: c, a: dx, lda: c, b: w.ffnOutWeight.readOnly, ldb: f, c: dffn, ldc: f)
                Kernels.geluBackward(x: s.ffnPreActivation, gradOutput: dffn, gradInput: dffn, count: n * f,
                                     approximation: config.activation)
                Kernels.sgemm(m: n, n: c, k: f, a: dffn, lda: f, b: w.ffnInWeight.readOnly, ldb: c, beta: 1, c: dx, ldc: c)
                // x1 = LN(r1), r1 = x0 + Attention(x0 Wqkvᵀ + bqkv) Woᵀ + bo
                Kernels.layerNormBackward(x: s.attnNorm.preNorm, gradOutput: dx, rows: n, features: c,
                                          gamma: w.attnNormWeight.readOnly, mean: s.attnNorm.mean, rstd: s.attnNorm.rstd,
                                          gradInput: dx, gradGamma: nil, gradBeta: nil)
                Kernels.sgemm(m: n, n: c, k: c, a: dx, lda: c, b: w.attnOutWeight.readOnly, ldb: c, c: dctx, ldc: c)
                Kernels.attentionBackward(geometry, strides: strides, q: s.qkv, k: s.qkv + c, v: s.qkv + 2 * c,
                                          probabilities: s.probabilities, gradOutput: dctx, gradQuery: dqkv,
                                          gradKey: dqkv + c, gradValue: dqkv + 2 * c, gradBias: nil,
                                          biasBatchStride: 0, workspace: dP)
                Kernels.sgemm(m: n, n: c, k: 3 * c, a: dqkv, lda: 3 * c, b: w.qkvWeight.readOnly, ldb: c, beta: 1, c: dx, ldc: c)
            }
            // x = LN(word + position + type): d word = d(pre-norm sum)
            Kernels.layerNormBackward(x: tape.embeddings.preNorm, gradOutput: dx, rows: n, features: c,
                                      gamma: embNormWeight.readOnly, mean: tape.embeddings.mean,
                                      rstd: tape.embeddings.rstd, gradInput: dx, gradGamma: nil, gradBeta: nil)
        }
        return dx
    }
}
