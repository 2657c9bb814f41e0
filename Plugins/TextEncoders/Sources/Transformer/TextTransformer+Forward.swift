import EmoTensor

/// What one `TextTransformer.forward` returns.
public struct TextTransformerActivations: Sendable {
    /// B.
    public var batch: Int
    /// T.
    public var tokens: Int
    /// C.
    public var channels: Int
    /// Last layer's output, `[B, T, C]` row-major.
    public var lastHiddenState: [Float]
    /// Embeddings output then every layer's output, `[L + 1, B, T, C]`; nil unless asked for.
    public var hiddenStates: [Float]?
}

extension TextTransformer {
    /// The position ids of one row. RoBERTa (`create_position_ids_from_input_ids`): a running count of non-pad tokens
    /// offset by `padID`, so the first real token is at `padID + 1` and every `<pad>` sits at `padID`. BERT: 0, 1, 2 …
    /// whatever the token (padding included), as `BertEmbeddings`' `position_ids` buffer.
    public func positionIDs(_ row: [Int]) -> [Int] {
        guard config.family == .roberta else { return Array(row.indices) }
        var n = 0
        return row.map { id in
            guard id != config.padID else { return config.padID }
            n += 1
            return n + config.padID
        }
    }

    /// Runs the encoder on `ids` `[B, T]` (all rows the same length) with `mask` `[B, T]` (1 = token, 0 = padding).
    ///
    /// Allocates its activations once per call; the layers run in place on them.
    public func forward(ids: [[Int]], mask: [[Int]], keepHiddenStates: Bool = false) throws -> TextTransformerActivations {
        try run(ids: ids, mask: mask, wordEmbeddings: nil, keepHiddenStates: keepHiddenStates, tape: nil)
    }

    /// Runs the encoder on `ids` and records on `tape` what `backward` needs; a tape with dropout enabled
    /// (`TextTransformerTape.enableDropout`) makes this a training forward (fine-tuning).
    public func forward(ids: [[Int]], mask: [[Int]], keepHiddenStates: Bool = false,
                        tape: TextTransformerTape) throws -> TextTransformerActivations {
        try run(ids: ids, mask: mask, wordEmbeddings: nil, keepHiddenStates: keepHiddenStates, tape: tape)
    }

    /// Runs the encoder on given word embeddings `[B, T, C]` (row-major) instead of looking `ids` up; `ids` still
    /// set the positions (`<pad>` rows sit at `padID`). With a `tape`, everything `backward` needs is recorded.
    ///
    /// This is Hugging Face's `inputs_embeds` path with RoBERTa's id-derived `position_ids` passed explicitly.
    public func forward(wordEmbeddings: [Float], ids: [[Int]], mask: [[Int]], keepHiddenStates: Bool = false,
                        tape: TextTransformerTape? = nil) throws -> TextTransformerActivations {
        let rows = ids.count * (ids.first?.count ?? 0)
        guard wordEmbeddings.count == rows * config.hiddenSize else {
            throw TextEncoderError.invalidOption(message: "word embeddings hold \(wordEmbeddings.count) values; [B, T, C] = [\(ids.count), \(ids.first?.count ?? 0), \(config.hiddenSize)] needs \(rows * config.hiddenSize)")
        }
        return try wordEmbeddings.withUnsafeBufferPointer { w in
            try run(ids: ids, mask: mask, wordEmbeddings: w.baseAddress, keepHiddenStates: keepHiddenStates, tape: tape)
        }
    }

    /// The word-embedding rows of `ids`, `[B, T, C]` (what `forward(wordEmbeddings:)` takes; a zero baseline for
    /// Integrated Gradients is all zeros of this shape).
    public func wordEmbeddings(ids: [[Int]]) throws -> [Float] {
        let c = config.hiddenSize
        var out: [Float] = []
        out.reserveCapacity(ids.count * (ids.first?.count ?? 0) * c)
        for id in ids.joined() {
            guard id >= 0, id < config.vocabSize else { throw TextEncoderError.tokenOutOfRange(id: id, vocabularySize: config.vocabSize) }
            out.append(contentsOf: UnsafeBufferPointer(start: wordEmbeddings.readOnly + id * c, count: c))
        }
        return out
    }

    /// The shared forward: word rows from `wordEmbeddings` `[B, T, C]` when given, else from the table.
    func run(ids: [[Int]], mask: [[Int]], wordEmbeddings words: UnsafePointer<Float>?, keepHiddenStates: Bool,
             tape: TextTransformerTape?) throws -> TextTransformerActivations {
        let b = ids.count, t = ids.first?.count ?? 0
        let c = config.hiddenSize, h = config.numHeads, f = config.intermediateSize, rows = b * t
        guard b > 0, t > 0 else {
            throw TextEncoderError.invalidOption(message: "text encoder forward needs at least one row of at least one token")
        }
        guard ids.allSatisfy({ $0.count == t }), mask.count == b, mask.allSatisfy({ $0.count == t }) else {
            throw TextEncoderError.invalidOption(message: "ids and mask must both be [B, T] with equal-length rows (pad them first)")
        }
        guard t <= config.maxTokens else {
            throw TextEncoderError.invalidOption(message: "\(t) tokens exceed the model's \(config.maxTokens) positions (max_position_embeddings \(config.maxPositions)); truncate to at most \(config.maxTokens)")
        }
        if let bad = ids.joined().first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw TextEncoderError.tokenOutOfRange(id: bad, vocabularySize: config.vocabSize)
        }

        let x = UnsafeMutablePointer<Float>.allocate(capacity: rows * c)        // [B, T, C] hidden state
        let residual = UnsafeMutablePointer<Float>.allocate(capacity: rows * c) // [B, T, C] x + sublayer(x)
        let qkv = UnsafeMutablePointer<Float>.allocate(capacity: rows * 3 * c)  // [B, T, 3C] q | k | v
        let context = UnsafeMutablePointer<Float>.allocate(capacity: rows * c)  // [B, T, C] attention output
        let ffn = UnsafeMutablePointer<Float>.allocate(capacity: rows * f)      // [B, T, F]
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: t * t)      // [T, T] one head's scores
        let keyMask = UnsafeMutablePointer<UInt8>.allocate(capacity: rows)      // [B, T]
        defer {
            for p in [x, residual, qkv, context, ffn, scores] { p.deallocate() }
            keyMask.deallocate()
        }
        for r in 0..<b { for j in 0..<t { keyMask[r * t + j] = mask[r][j] != 0 ? 1 : 0 } }

        var hidden: [Float] = []
        if keepHiddenStates { hidden.reserveCapacity((layers.count + 1) * rows * c) }

        // Embeddings: word[id] + position[pos] + token_type[0], then LayerNorm.
        for r in 0..<b {
            let positions = positionIDs(ids[r])
            for j in 0..<t {
                let out = x + (r * t + j) * c
                let word = words.map { $0 + (r * t + j) * c } ?? (wordEmbeddings.readOnly + ids[r][j] * c)
                let pos = positionEmbeddings.readOnly + positions[j] * c
                let type = tokenTypeEmbeddings.readOnly
                for k in 0..<c { out[k] = word[k] + pos[k] + type[k] }
            }
        }
        tape?.begin(ids: ids, channels: c, heads: h, ffn: f, layers: layers.count, keyMask: keyMask)
        tape?.wordsFromTable = words == nil
        tape?.embeddings.preNorm.update(from: x, count: rows * c)
        Kernels.layerNorm(x: x, rows: rows, features: c, gamma: embNormWeight.readOnly, beta: embNormBias.readOnly,
                          eps: config.layerNormEps, y: x, mean: tape?.embeddings.mean, rstd: tape?.embeddings.rstd)
        // Training only: x = dropout(x) (the embeddings' own dropout), then inside every layer dropout on the
        // attention probabilities and on each sublayer's output before its residual add, as BertLayer does.
        let rates = tape?.dropout
        if let tape, let rates, let m = tape.embeddingsMask {
            Kernels.dropoutMask(m, count: rows * c, p: rates.hidden, generator: &tape.generator)
            Kernels.multiply(x, by: m, into: x, count: rows * c)
        }
        if keepHiddenStates { hidden.append(contentsOf: UnsafeBufferPointer(start: x, count: rows * c)) }

        let geometry = AttentionGeometry(batch: b, heads: h, headDim: config.headDim, queryLength: t, keyLength: t)
        let strides = AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c)
        for (l, layer) in layers.enumerated() {
            let saved = tape?.layers[l]
            // Self-attention: qkv = x · [Wq; Wk; Wv]ᵀ + b  → softmax(q kᵀ / √D + mask) v
            Kernels.linear(x: x, rows: rows, inFeatures: c, weight: layer.qkvWeight.readOnly,
                           bias: layer.qkvBias.readOnly, outFeatures: 3 * c, y: qkv)
            Kernels.attention(geometry, strides: strides, q: qkv, k: qkv + c, v: qkv + 2 * c, keyMask: keyMask,
                              positionBias: nil, biasBatchStride: 0, output: context, probabilities: saved?.probabilities,
                              workspace: scores)
            if let tape, let rates, let saved, let m = saved.probabilityMask {  // context = dropout(P) · v
                Kernels.dropoutMask(m, count: b * h * t * t, p: rates.attention, generator: &tape.generator)
                Kernels.attentionDropout(geometry, strides: strides, probabilities: saved.probabilities, dropout: m,
                                         v: qkv + 2 * c, output: context, workspace: scores)
            }
            saved?.qkv.update(from: qkv, count: rows * 3 * c)
            saved?.context.update(from: context, count: rows * c)
            // x = LayerNorm(x + dropout(context · Woᵀ + bo))
            residual.update(from: x, count: rows * c)
            Self.addSublayer(x: context, rows: rows, inFeatures: c, weight: layer.attnOutWeight, bias: layer.attnOutBias,
                             outFeatures: c, into: residual, dropout: saved?.attnOutMask, tape: tape,
                             scratch: ffn)  // ffn: free [N, ≥C] scratch here
            saved?.attnNorm.preNorm.update(from: residual, count: rows * c)
            Kernels.layerNorm(x: residual, rows: rows, features: c, gamma: layer.attnNormWeight.readOnly,
                              beta: layer.attnNormBias.readOnly, eps: config.layerNormEps, y: x,
                              mean: saved?.attnNorm.mean, rstd: saved?.attnNorm.rstd)
            // x = LayerNorm(x + dropout(GELU(x · W1ᵀ + b1) · W2ᵀ + b2))
            Kernels.linear(x: x, rows: rows, inFeatures: c, weight: layer.ffnInWeight.readOnly,
                           bias: layer.ffnInBias.readOnly, outFeatures: f, y: ffn)
            saved?.ffnPreActivation.update(from: ffn, count: rows * f)
            Kernels.gelu(x: ffn, y: ffn, count: rows * f, approximation: config.activation)
            residual.update(from: x, count: rows * c)
            Self.addSublayer(x: ffn, rows: rows, inFeatures: f, weight: layer.ffnOutWeight, bias: layer.ffnOutBias,
                             outFeatures: c, into: residual, dropout: saved?.ffnOutMask, tape: tape,
                             scratch: context)  // context: already kept on the tape
            saved?.outNorm.preNorm.update(from: residual, count: rows * c)
            Kernels.layerNorm(x: residual, rows: rows, features: c, gamma: layer.outNormWeight.readOnly,
                              beta: layer.outNormBias.readOnly, eps: config.layerNormEps, y: x,
                              mean: saved?.outNorm.mean, rstd: saved?.outNorm.rstd)
            if keepHiddenStates { hidden.append(contentsOf: UnsafeBufferPointer(start: x, count: rows * c)) }
        }
        return TextTransformerActivations(batch: b, tokens: t, channels: c,
                                  lastHiddenState: Array(UnsafeBufferPointer(start: x, count: rows * c)),
                                  hiddenStates: keepHiddenStates ? hidden : nil)
    }

    /// `residual += dropout(x · Wᵀ + b)`: one sublayer's output joining the skip path. With a dropout `mask` (a
    /// training tape), the projection goes to `scratch` `[N, ≥ out]`, the mask is drawn from the tape's stream and
    /// applied, then added; without one, a single GEMM accumulates into `residual`.
    static func addSublayer(x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: FloatBuffer, bias: FloatBuffer,
                            outFeatures: Int, into residual: UnsafeMutablePointer<Float>,
                            dropout mask: UnsafeMutablePointer<Float>?, tape: TextTransformerTape?,
                            scratch: UnsafeMutablePointer<Float>) {
        guard let mask, let tape, let rates = tape.dropout else {
            Kernels.linear(x: x, rows: rows, inFeatures: inFeatures, weight: weight.readOnly, bias: bias.readOnly,
                           outFeatures: outFeatures, y: residual, accumulate: true)
            return
        }
        let n = rows * outFeatures
        Kernels.linear(x: x, rows: rows, inFeatures: inFeatures, weight: weight.readOnly, bias: bias.readOnly,
                       outFeatures: outFeatures, y: scratch)
        Kernels.dropoutMask(mask, count: n, p: rates.hidden, generator: &tape.generator)
        Kernels.multiply(scratch, by: mask, into: scratch, count: n)
        Kernels.add(residual, scratch, into: residual, count: n)
    }
}
