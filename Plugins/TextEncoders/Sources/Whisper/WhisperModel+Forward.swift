import EmoTensor
import Foundation

/// What `WhisperModel.encode(mel:melFrames:keepHiddenStates:)` returns.
public struct WhisperEncoding: Sendable {
    /// T.
    public var frames: Int
    /// C.
    public var channels: Int
    /// The encoder output after the final layer norm, `[T, C]`.
    public var lastHiddenState: [Float]
    /// Hugging Face's `hidden_states`, `[L + 1, T, C]`: each layer's input, then `lastHiddenState`; nil unless asked.
    public var hiddenStates: [Float]?
}

extension WhisperModel {
    /// Encoder output `[T, C]` for log-mel features `[M, 3000]` (row-major, as `WhisperLogMel.features` gives).
    public func encode(mel: [Float]) throws -> [Float] {
        try encode(mel: mel, melFrames: WhisperLogMel.frames).lastHiddenState
    }

    /// The encoder on log-mel features `[M, melFrames]` (`melFrames` even, at most 3000): `T = melFrames / 2`
    /// frames, positions `0..<T` of the table (the 30 s window is `melFrames` 3000).
    ///
    /// conv1 + GELU, conv2 (stride 2) + GELU, + sinusoidal positions, pre-norm layers, final layer norm. With
    /// `keepHiddenStates`, also Hugging Face's `hidden_states` `[L + 1, T, C]`: the input of each layer, then the
    /// last layer's output after the final layer norm.
    public func encode(mel: [Float], melFrames frames: Int, keepHiddenStates: Bool = false) throws -> WhisperEncoding {
        try encode(mel: mel, melFrames: frames, keepHiddenStates: keepHiddenStates, tape: nil)
    }

    /// The encoder, recording in `tape` what `encoderBackward` needs when one is given.
    func encode(mel: [Float], melFrames frames: Int, keepHiddenStates: Bool, tape: WhisperEncoderTape?) throws -> WhisperEncoding {
        let c = width, t = frames / 2
        guard frames >= 2, frames % 2 == 0, frames <= WhisperLogMel.frames else {
            throw TextEncoderError.invalidOption(message: "Whisper's encoder takes an even number of mel frames in 2...\(WhisperLogMel.frames), found \(frames)")
        }
        guard mel.count == melCount * frames else {
            throw TextEncoderError.invalidOption(message: "Whisper features must be [\(melCount), \(frames)], found \(mel.count) values")
        }
        let ff = encoderLayers[0].ffnIn.outFeatures
        var melT = [Float](repeating: 0, count: frames * melCount)  // [2T, M] channels-last
        for m in 0..<melCount { for j in 0..<frames { melT[j * melCount + m] = mel[m * frames + j] } }
        let g1 = Self.conv1Geometry(mels: melCount, width: c), g2 = Self.conv2Geometry(width: c)
        let ws = max(Kernels.conv1dChannelsLastWorkspaceCount(g1, inputLength: frames),
                     Kernels.conv1dChannelsLastWorkspaceCount(g2, inputLength: frames), t * t)
        let h1 = UnsafeMutablePointer<Float>.allocate(capacity: frames * c)      // [2T, C]
        let x = UnsafeMutablePointer<Float>.allocate(capacity: t * c)            // [T, C] residual stream
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: t * c)       // [T, C]
        let qkv = UnsafeMutablePointer<Float>.allocate(capacity: t * 3 * c)      // [T, 3C]
        let context = UnsafeMutablePointer<Float>.allocate(capacity: t * c)      // [T, C]
        let ffn = UnsafeMutablePointer<Float>.allocate(capacity: t * ff)         // [T, F]
        let workspace = UnsafeMutablePointer<Float>.allocate(capacity: ws)
        defer { for p in [h1, x, normed, qkv, context, ffn, workspace] { p.deallocate() } }
        var hidden: [Float] = []
        if keepHiddenStates { hidden.reserveCapacity((encoderLayers.count + 1) * t * c) }

        tape?.begin(melFrames: frames, frames: t, width: c, heads: heads, ffn: ff, layers: encoderLayers.count)
        tape?.melT = melT
        melT.withUnsafeBufferPointer { src in
            guard let src = src.baseAddress else { return }
            Kernels.conv1dChannelsLast(g1, batch: 1, inputLength: frames, x: src, packedWeight: conv1.readOnly,
                                       bias: conv1Bias.readOnly, y: h1, workspace: workspace)
        }
        tape?.conv1Out.update(from: h1, count: frames * c)
        Kernels.gelu(x: h1, y: h1, count: frames * c)
        tape?.conv2In.update(from: h1, count: frames * c)
        Kernels.conv1dChannelsLast(g2, batch: 1, inputLength: frames, x: h1, packedWeight: conv2.readOnly,
                                   bias: conv2Bias.readOnly, y: x, workspace: workspace)
        tape?.conv2Out.update(from: x, count: t * c)
        Kernels.gelu(x: x, y: x, count: t * c)
        for i in 0..<(t * c) { x[i] += encoderPositions.pointer[i] }

        let scratch = LayerScratch(normed: normed, qkv: qkv, context: context, ffn: ffn, workspace: workspace)
        for (l, layer) in encoderLayers.enumerated() {
            if keepHiddenStates { hidden.append(contentsOf: UnsafeBufferPointer(start: x, count: t * c)) }
            // A checkpointed tape keeps the layer's input and records the layer into its one slot (as the re-run will).
            if let tape, tape.checkpointed { tape.layerInput(l).update(from: x, count: t * c) }
            encoderLayer(layer, x: x, frames: t, scratch: scratch, saved: tape.map { $0.checkpointed ? $0.layers[0] : $0.layers[l] })
        }
        tape?.endForward()
        tape?.finalNorm.input.update(from: x, count: t * c)
        encoderNorm(x, rows: t, width: c, into: normed, mean: tape?.finalNorm.mean, rstd: tape?.finalNorm.rstd)
        let last = Array(UnsafeBufferPointer(start: normed, count: t * c))
        if keepHiddenStates { hidden += last }
        return WhisperEncoding(frames: t, channels: c, lastHiddenState: last, hiddenStates: keepHiddenStates ? hidden : nil)
    }

    /// One encoder layer's scratch buffers: `normed` `[T, C]`, `qkv` `[T, 3C]`, `context` `[T, C]`, `ffn` `[T, F]`,
    /// and the attention's `workspace` (at least `T·T`).
    struct LayerScratch {
        let normed, qkv, context, ffn, workspace: UnsafeMutablePointer<Float>
    }

    /// One pre-norm encoder layer over the residual stream `x` `[T, C]`, in place, recording into `saved` when given:
    /// x = x + Attention(LN(x) · Wqkvᵀ + b) · Woᵀ + bo, then x = x + GELU(LN(x) · W1ᵀ + b1) · W2ᵀ + b2.
    func encoderLayer(_ layer: EncoderLayer, x: UnsafeMutablePointer<Float>, frames t: Int, scratch s: LayerScratch,
                      saved: WhisperEncoderTape.LayerRecord?) {
        let c = width, ff = layer.ffnIn.outFeatures
        let geometry = AttentionGeometry(batch: 1, heads: heads, headDim: c / heads, queryLength: t, keyLength: t)
        let strides = AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c)
        saved?.attnNorm.input.update(from: x, count: t * c)
        layer.attnNorm(x, rows: t, width: c, into: s.normed, mean: saved?.attnNorm.mean, rstd: saved?.attnNorm.rstd)
        layer.qkv(s.normed, rows: t, into: s.qkv)
        saved?.qkv.update(from: s.qkv, count: t * 3 * c)
        Kernels.attention(geometry, strides: strides, q: s.qkv, k: s.qkv + c, v: s.qkv + 2 * c, keyMask: nil,
                          positionBias: nil, biasBatchStride: 0, output: s.context, probabilities: saved?.probabilities,
                          workspace: s.workspace)
        layer.attnOut(s.context, rows: t, into: x, accumulate: true)
        saved?.ffnNorm.input.update(from: x, count: t * c)
        layer.ffnNorm(x, rows: t, width: c, into: s.normed, mean: saved?.ffnNorm.mean, rstd: saved?.ffnNorm.rstd)
        layer.ffnIn(s.normed, rows: t, into: s.ffn)
        saved?.ffnPreActivation.update(from: s.ffn, count: t * ff)
        Kernels.gelu(x: s.ffn, y: s.ffn, count: t * ff)
        layer.ffnOut(s.ffn, rows: t, into: x, accumulate: true)
    }

    /// Greedy decoding from `prompt` over the encoder output `[T, C]`: at each step the most likely token that is
    /// not suppressed (`suppress` always, `suppressAtBegin` on the first step) until `endOfText` or
    /// `maxNewTokens`. Returns the generated ids (prompt and end-of-text excluded).
    ///
    /// Self-attention keys and values are cached per layer (`[U, 2C]`), cross-attention keys and values of the
    /// encoder output computed once (`[T, 2C]` per layer), so each step costs one token's worth of work.
    public func greedyDecode(encoded: [Float], prompt: [Int], endOfText: Int, suppress: Set<Int>,
                             suppressAtBegin: Set<Int>, maxNewTokens: Int) throws -> [Int] {
        let c = width, t = encoderFrames, layers = decoderLayers.count
        guard encoded.count == t * c else {
            throw TextEncoderError.invalidOption(message: "encoder output must be [\(t), \(c)], found \(encoded.count) values")
        }
        guard !prompt.isEmpty, prompt.count < maxTargetPositions else {
            throw TextEncoderError.invalidOption(message: "the decoder prompt must hold 1..<\(maxTargetPositions) tokens")
        }
        if let bad = prompt.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw TextEncoderError.tokenOutOfRange(id: bad, vocabularySize: vocabularySize)
        }
        let maxLength = min(maxTargetPositions, prompt.count + max(0, maxNewTokens))
        let ff = decoderLayers[0].ffnIn.outFeatures
        let crossKV = UnsafeMutablePointer<Float>.allocate(capacity: layers * t * 2 * c)   // [L, T, 2C]
        let selfKV = UnsafeMutablePointer<Float>.allocate(capacity: layers * maxLength * 2 * c)  // [L, U, 2C]
        let x = UnsafeMutablePointer<Float>.allocate(capacity: c)          // [1, C] residual stream
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: c)     // [1, C]
        let qkv = UnsafeMutablePointer<Float>.allocate(capacity: 3 * c)    // [1, 3C]
        let context = UnsafeMutablePointer<Float>.allocate(capacity: c)    // [1, C]
        let ffn = UnsafeMutablePointer<Float>.allocate(capacity: ff)       // [1, F]
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(t, maxLength))
        var logits = [Float](repeating: 0, count: vocabularySize)         // [V]
        defer { for p in [crossKV, selfKV, x, normed, qkv, context, ffn, scores] { p.deallocate() } }

        encoded.withUnsafeBufferPointer { enc in
            guard let enc = enc.baseAddress else { return }
            for (l, layer) in decoderLayers.enumerated() { layer.crossKV(enc, rows: t, into: crossKV + l * t * 2 * c) }
        }

        /// Runs token `token` at position `pos` through the decoder and writes the next-token logits.
        func step(_ token: Int, _ pos: Int) {
            let emb = tokenEmbeddings.readOnly + token * c, p = decoderPositions.readOnly + pos * c
            for i in 0..<c { x[i] = emb[i] + p[i] }
            for (l, layer) in decoderLayers.enumerated() {
                let cache = selfKV + l * maxLength * 2 * c
                layer.selfNorm(x, rows: 1, width: c, into: normed)
                layer.selfQKV(normed, rows: 1, into: qkv)
                (cache + pos * 2 * c).update(from: qkv + c, count: 2 * c)  // k | v of this position
                Kernels.attention(AttentionGeometry(batch: 1, heads: heads, headDim: c / heads, queryLength: 1, keyLength: pos + 1),
                                  strides: AttentionStrides(query: 3 * c, key: 2 * c, value: 2 * c, output: c),
                                  q: qkv, k: cache, v: cache + c, keyMask: nil, positionBias: nil, biasBatchStride: 0,
                                  output: context, probabilities: nil, workspace: scores)
                layer.selfOut(context, rows: 1, into: x, accumulate: true)
                layer.crossNorm(x, rows: 1, width: c, into: normed)
                layer.crossQ(normed, rows: 1, into: qkv)
                let kv = crossKV + l * t * 2 * c
                Kernels.attention(AttentionGeometry(batch: 1, heads: heads, headDim: c / heads, queryLength: 1, keyLength: t),
                                  strides: AttentionStrides(query: c, key: 2 * c, value: 2 * c, output: c),
                                  q: qkv, k: kv, v: kv + c, keyMask: nil, positionBias: nil, biasBatchStride: 0,
                                  output: context, probabilities: nil, workspace: scores)
                layer.crossOut(context, rows: 1, into: x, accumulate: true)
                layer.ffnNorm(x, rows: 1, width: c, into: normed)
                layer.ffnIn(normed, rows: 1, into: ffn)
                Kernels.gelu(x: ffn, y: ffn, count: ff)
                layer.ffnOut(ffn, rows: 1, into: x, accumulate: true)
            }
            decoderNorm(x, rows: 1, width: c, into: normed)
            logits.withUnsafeMutableBufferPointer { out in
                guard let out = out.baseAddress else { return }
                // logits [1, V] = normed [1, C] · embeddingsᵀ (tied output projection)
                Kernels.sgemm(transB: true, m: 1, n: vocabularySize, k: c, a: normed, lda: c,
                              b: tokenEmbeddings.readOnly, ldb: c, c: out, ldc: vocabularySize)
            }
        }

        for (i, token) in prompt.enumerated() { step(token, i) }
        var generated: [Int] = []
        var pos = prompt.count
        while pos < maxLength {
            var best = -1
            var bestScore = -Float.infinity
            for v in 0..<vocabularySize where logits[v] > bestScore {
                if suppress.contains(v) || (generated.isEmpty && suppressAtBegin.contains(v)) { continue }
                best = v
                bestScore = logits[v]
            }
            guard best >= 0, best != endOfText else { break }
            generated.append(best)
            step(best, pos)
            pos += 1
        }
        return generated
    }
}
