import EmoTensor
import Foundation

/// What a recording Whisper encoder forward keeps for `WhisperModel.encoderBackward`: the conv stack's inputs and
/// pre-activations, and per layer the layer norms' inputs with their row statistics, the fused q|k|v projection,
/// the attention probabilities and the feed-forward pre-activation. Sized by `begin` (about 75 MB per layer for
/// tiny's 30 s window, mostly the `[H, T, T]` probabilities).
final class WhisperEncoderTape {
    /// A layer norm's input `[T, C]` and each row's mean and 1/σ.
    final class NormRecord {
        let input: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>
        init(rows: Int, width: Int) {
            input = .allocate(capacity: rows * width)
            mean = .allocate(capacity: rows)
            rstd = .allocate(capacity: rows)
        }
        deinit { input.deallocate(); mean.deallocate(); rstd.deallocate() }

        /// The norm's output `[T, C]` again, from the saved input and statistics (what a weight gradient needs).
        func output(of norm: WhisperModel.Norm, rows: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
            Kernels.layerNormOutput(x: input, rows: rows, features: width, mean: mean, rstd: rstd,
                                    gamma: norm.gamma.readOnly, beta: norm.beta.readOnly, y: y)
        }
    }

    /// One layer's saved tensors.
    final class LayerRecord {
        /// self_attention/layer_norm and ffn/layer_norm.
        let attnNorm: NormRecord, ffnNorm: NormRecord
        /// `[T, 3C]` q | k | v.
        let qkv: UnsafeMutablePointer<Float>
        /// `[H, T, T]` softmax probabilities.
        let probabilities: UnsafeMutablePointer<Float>
        /// `[T, F]` input of GELU.
        let ffnPreActivation: UnsafeMutablePointer<Float>
        init(frames t: Int, width c: Int, heads h: Int, ffn f: Int) {
            attnNorm = NormRecord(rows: t, width: c)
            ffnNorm = NormRecord(rows: t, width: c)
            qkv = .allocate(capacity: t * 3 * c)
            probabilities = .allocate(capacity: h * t * t)
            ffnPreActivation = .allocate(capacity: t * f)
        }
        deinit { qkv.deallocate(); probabilities.deallocate(); ffnPreActivation.deallocate() }

        /// The attention context `[T, C]` again (head h: columns `h·D..<(h+1)·D` = P_h `[T, T]` · V_h `[T, D]`),
        /// from the saved probabilities and the v third of q|k|v.
        func context(heads h: Int, frames t: Int, width c: Int, into y: UnsafeMutablePointer<Float>) {
            let d = c / h
            for head in 0..<h {
                Kernels.sgemm(m: t, n: d, k: t, a: probabilities + head * t * t, lda: t, b: qkv + 2 * c + head * d,
                              ldb: 3 * c, c: y + head * d, ldc: c)
            }
        }
    }

    /// 2T mel frames, T encoder frames, C width.
    private(set) var melFrames = 0, frames = 0, width = 0
    /// `[2T, M]` conv1 input.
    var melT: [Float] = []
    /// `[2T, C]` conv1 output before GELU; `[2T, C]` conv2 input (after GELU); `[T, C]` conv2 output before GELU.
    private(set) var conv1Out = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var conv2In = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var conv2Out = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// Per layer; with `checkpointed`, one record the forward fills layer after layer and drops at its end (the
    /// backward re-runs each layer into a record of its own).
    private(set) var layers: [LayerRecord] = []
    /// encoder/layer_norm.
    private(set) var finalNorm = NormRecord(rows: 0, width: 0)
    /// Activation checkpointing: keep each layer's input `[L, T, C]` instead of its activations (about a quarter of a
    /// layer's record at T = 1500, where the attention probabilities `[H, T, T]` dominate).
    let checkpointed: Bool
    /// `[L, T, C]` each layer's input (checkpointed tapes only).
    private var inputs = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// H, F of the last `begin` (what a re-run's record needs).
    private(set) var heads = 0, ffn = 0

    /// A tape; `checkpointed` keeps layer inputs only (see `checkpointed`).
    init(checkpointed: Bool = false) { self.checkpointed = checkpointed }

    /// Sizes the buffers for one forward.
    func begin(melFrames f2: Int, frames t: Int, width c: Int, heads h: Int, ffn f: Int, layers count: Int) {
        for p in [conv1Out, conv2In, conv2Out, inputs] { p.deallocate() }
        conv1Out = .allocate(capacity: f2 * c)
        conv2In = .allocate(capacity: f2 * c)
        conv2Out = .allocate(capacity: t * c)
        inputs = .allocate(capacity: checkpointed ? count * t * c : 1)
        layers = (0..<(checkpointed ? 1 : count)).map { _ in LayerRecord(frames: t, width: c, heads: h, ffn: f) }
        finalNorm = NormRecord(rows: t, width: c)
        (melFrames, frames, width, heads, ffn) = (f2, t, c, h, f)
    }

    /// Layer `l`'s input `[T, C]` (checkpointed tapes).
    func layerInput(_ l: Int) -> UnsafeMutablePointer<Float> { inputs + l * frames * width }

    /// The forward is done: a checkpointed tape drops its one layer record.
    func endForward() { if checkpointed { layers = [] } }

    deinit { for p in [conv1Out, conv2In, conv2Out, inputs] { p.deallocate() } }
}

extension WhisperModel {
    /// d mel features `[M, 2T]` of a recorded encoder forward, given the gradient of each hidden state
    /// (`gradHidden[l]` `[T, C]` or nil; index L is the final output, l < L the input of layer l). Weights frozen.
    func encoderBackward(tape: WhisperEncoderTape, gradHidden: [[Float]?]) throws -> [Float] {
        try encoderBackward(tape: tape, gradHidden: gradHidden, gradients: nil, inputGradient: true) ?? []
    }

    /// Backward of a recorded encoder forward, given the gradient of each hidden state (`gradHidden[l]` `[T, C]` or
    /// nil; index L is the final output, l < L the input of layer l).
    ///
    /// Runs the final layer norm, then each pre-norm layer in reverse (feed-forward, then attention, each adding its
    /// residual), then GELU, conv2, GELU and conv1. What the weight gradients need and the tape does not keep is
    /// recomputed: the layer norms' outputs from their inputs and statistics, GELU's output from its input, the
    /// attention context from the probabilities and V.
    ///
    /// - Parameters:
    ///   - gradients: when given, d loss / d weight is added into it for every weight of its scope; layers below
    ///     the scope (and the convolutions, unless trained) are not visited unless `inputGradient` is true.
    ///   - inputGradient: whether d mel features `[M, 2T]` is wanted; when false the result is nil.
    func encoderBackward(tape: WhisperEncoderTape, gradHidden: [[Float]?], gradients: WhisperEncoderGradients?,
                         inputGradient: Bool) throws -> [Float]? {
        let t = tape.frames, c = width, f2 = tape.melFrames, count = encoderLayers.count
        guard t > 0, tape.checkpointed || tape.layers.count == count, gradHidden.count == count + 1 else {
            throw TextEncoderError.invalidOption(message: "encoderBackward needs a tape recorded by this model's encoder and \(count + 1) hidden-state gradients")
        }
        let trainsConv = gradients?.scope.convolutions == true
        let firstTrained = gradients?.firstLayer ?? count
        let lowest = inputGradient || trainsConv ? 0 : firstTrained
        let ff = encoderLayers[0].ffnIn.outFeatures, d = c / heads
        var dx = [Float](repeating: 0, count: t * c)                           // [T, C] d residual stream
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: t * c)        // [T, C]
        let dffn = UnsafeMutablePointer<Float>.allocate(capacity: t * ff)      // [T, F]
        let dqkv = UnsafeMutablePointer<Float>.allocate(capacity: t * 3 * c)   // [T, 3C]
        let dP = UnsafeMutablePointer<Float>.allocate(capacity: t * t)         // [T, T]
        let recomputes = gradients != nil  // the frozen path reads neither of the next two
        let act = UnsafeMutablePointer<Float>.allocate(capacity: recomputes ? t * ff : 1)  // [T, F] GELU output, recomputed
        let input = UnsafeMutablePointer<Float>.allocate(capacity: recomputes ? t * c : 1)  // [T, C] a linear's input, recomputed
        defer { for p in [tmp, dffn, dqkv, dP, act, input] { p.deallocate() } }
        // A checkpointed tape: each layer is re-run from its input into one record, with the forward's own code.
        let rerun = tape.checkpointed ? WhisperEncoderTape.LayerRecord(frames: t, width: c, heads: heads, ffn: ff) : nil
        let rerunX = UnsafeMutablePointer<Float>.allocate(capacity: rerun == nil ? 1 : t * c)
        let rerunScratch = rerun == nil ? nil : LayerScratch(
            normed: .allocate(capacity: t * c), qkv: .allocate(capacity: t * 3 * c), context: .allocate(capacity: t * c),
            ffn: .allocate(capacity: t * ff), workspace: .allocate(capacity: max(t * t, 1)))
        defer {
            rerunX.deallocate()
            if let s = rerunScratch { for p in [s.normed, s.qkv, s.context, s.ffn, s.workspace] { p.deallocate() } }
        }
        let geometry = AttentionGeometry(batch: 1, heads: heads, headDim: d, queryLength: t, keyLength: t)
        let strides = AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c)
        func add(_ g: [Float]?, into dx: UnsafeMutablePointer<Float>) {
            guard let g else { return }
            for i in 0..<(t * c) { dx[i] += g[i] }
        }
        dx.withUnsafeMutableBufferPointer { buffer in
            guard let dx = buffer.baseAddress else { return }
            if let g = gradHidden[count] {
                let gn = firstTrained < count ? gradients?.norm : nil
                g.withUnsafeBufferPointer { gp in
                    guard let gp = gp.baseAddress else { return }
                    Kernels.layerNormBackward(x: tape.finalNorm.input, gradOutput: gp, rows: t, features: c,
                                              gamma: encoderNorm.gamma.readOnly, mean: tape.finalNorm.mean,
                                              rstd: tape.finalNorm.rstd, gradInput: dx, gradGamma: gn?.gamma.pointer,
                                              gradBeta: gn?.beta.pointer, accumulateParameterGradients: true)
                }
            }
            for l in stride(from: count - 1, through: lowest, by: -1) {
                let w = encoderLayers[l], s: WhisperEncoderTape.LayerRecord
                if let rerun, let rerunScratch {
                    rerunX.update(from: tape.layerInput(l), count: t * c)
                    encoderLayer(w, x: rerunX, frames: t, scratch: rerunScratch, saved: rerun)
                    s = rerun
                } else {
                    s = tape.layers[l]
                }
                let g = l >= firstTrained ? gradients?.layers[l] : nil  // nil: frozen layer
                // x2 = x1 + GELU(LN(x1) W1ᵀ + b1) W2ᵀ + b2
                if g != nil { Kernels.gelu(x: s.ffnPreActivation, y: act, count: t * ff) }
                Kernels.linearBackward(x: act, gradOutput: dx, rows: t, inFeatures: ff, outFeatures: c,
                                       weight: w.ffnOut.weight.readOnly, gradWeight: g?.ffnOut.weight.pointer,
                                       gradBias: g?.ffnOut.bias.pointer, gradInput: dffn)
                Kernels.geluBackward(x: s.ffnPreActivation, gradOutput: dffn, gradInput: dffn, count: t * ff)
                if g != nil { s.ffnNorm.output(of: w.ffnNorm, rows: t, width: c, into: input) }
                Kernels.linearBackward(x: input, gradOutput: dffn, rows: t, inFeatures: c, outFeatures: ff,
                                       weight: w.ffnIn.weight.readOnly, gradWeight: g?.ffnIn.weight.pointer,
                                       gradBias: g?.ffnIn.bias.pointer, gradInput: tmp)
                Kernels.layerNormBackward(x: s.ffnNorm.input, gradOutput: tmp, rows: t, features: c,
                                          gamma: w.ffnNorm.gamma.readOnly, mean: s.ffnNorm.mean, rstd: s.ffnNorm.rstd,
                                          gradInput: tmp, gradGamma: g?.ffnNorm.gamma.pointer,
                                          gradBeta: g?.ffnNorm.beta.pointer, accumulateParameterGradients: true)
                for i in 0..<(t * c) { dx[i] += tmp[i] }
                // x1 = x0 + Attention(LN(x0) Wqkvᵀ + bqkv) Woᵀ + bo
                if g != nil { s.context(heads: heads, frames: t, width: c, into: input) }
                Kernels.linearBackward(x: input, gradOutput: dx, rows: t, inFeatures: c, outFeatures: c,
                                       weight: w.attnOut.weight.readOnly, gradWeight: g?.attnOut.weight.pointer,
                                       gradBias: g?.attnOut.bias.pointer, gradInput: tmp)
                Kernels.attentionBackward(geometry, strides: strides, q: s.qkv, k: s.qkv + c, v: s.qkv + 2 * c,
                                          probabilities: s.probabilities, gradOutput: tmp, gradQuery: dqkv,
                                          gradKey: dqkv + c, gradValue: dqkv + 2 * c, gradBias: nil,
                                          biasBatchStride: 0, workspace: dP)
                if g != nil { s.attnNorm.output(of: w.attnNorm, rows: t, width: c, into: input) }
                Kernels.linearBackward(x: input, gradOutput: dqkv, rows: t, inFeatures: c, outFeatures: 3 * c,
                                       weight: w.qkv.weight.readOnly, gradWeight: g?.qkv.weight.pointer,
                                       gradBias: g?.qkv.bias.pointer, gradInput: tmp)
                Kernels.layerNormBackward(x: s.attnNorm.input, gradOutput: tmp, rows: t, features: c,
                                          gamma: w.attnNorm.gamma.readOnly, mean: s.attnNorm.mean, rstd: s.attnNorm.rstd,
                                          gradInput: tmp, gradGamma: g?.attnNorm.gamma.pointer,
                                          gradBeta: g?.attnNorm.beta.pointer, accumulateParameterGradients: true)
                for i in 0..<(t * c) { dx[i] += tmp[i] }
                add(gradHidden[l], into: dx)
            }
            guard lowest == 0 else { return }
            // x0 = GELU(conv2(GELU(conv1(mel)))) + positions
            Kernels.geluBackward(x: tape.conv2Out, gradOutput: dx, gradInput: dx, count: t * c)
        }
        guard lowest == 0 else { return nil }
        let gc = trainsConv ? gradients : nil
        let g1 = Self.conv1Geometry(mels: melCount, width: c), g2 = Self.conv2Geometry(width: c)
        let ws = max(Kernels.conv1dChannelsLastBackwardWorkspaceCount(g1, inputLength: f2),
                     Kernels.conv1dChannelsLastBackwardWorkspaceCount(g2, inputLength: f2))
        let workspace = UnsafeMutablePointer<Float>.allocate(capacity: ws)
        let dh1 = UnsafeMutablePointer<Float>.allocate(capacity: f2 * c)      // [2T, C]
        // The conv kernels overwrite their weight gradients: [C, 3, max(M, C)] and [C] scratch, added to `gc`.
        let dW = UnsafeMutablePointer<Float>.allocate(capacity: gc == nil ? 1 : c * 3 * max(melCount, c))
        let dB = UnsafeMutablePointer<Float>.allocate(capacity: c)
        defer { for p in [workspace, dh1, dW, dB] { p.deallocate() } }
        /// Adds the scratch weight and bias gradients into `weight` and `bias`.
        func accumulate(into weight: FloatBuffer, _ bias: FloatBuffer) {
            for i in 0..<weight.count { weight.pointer[i] += dW[i] }
            for i in 0..<c { bias.pointer[i] += dB[i] }
        }
        dx.withUnsafeBufferPointer { d in
            guard let d = d.baseAddress else { return }
            Kernels.conv1dChannelsLastBackward(g2, batch: 1, inputLength: f2, x: tape.conv2In, packedWeight: conv2.readOnly,
                                               gradOutput: d, gradInput: dh1, gradPackedWeight: gc == nil ? nil : dW,
                                               gradBias: gc == nil ? nil : dB, workspace: workspace)
        }
        if let gc { accumulate(into: gc.conv2, gc.conv2Bias) }
        Kernels.geluBackward(x: tape.conv1Out, gradOutput: dh1, gradInput: dh1, count: f2 * c)
        var dMelT = [Float](repeating: 0, count: inputGradient ? f2 * melCount : 0)  // [2T, M]
        tape.melT.withUnsafeBufferPointer { x in
            dMelT.withUnsafeMutableBufferPointer { out in
                guard let x = x.baseAddress else { return }
                Kernels.conv1dChannelsLastBackward(g1, batch: 1, inputLength: f2, x: x, packedWeight: conv1.readOnly,
                                                   gradOutput: dh1, gradInput: inputGradient ? out.baseAddress : nil,
                                                   gradPackedWeight: gc == nil ? nil : dW,
                                                   gradBias: gc == nil ? nil : dB, workspace: workspace)
            }
        }
        if let gc { accumulate(into: gc.conv1, gc.conv1Bias) }
        guard inputGradient else { return nil }
        var dMel = [Float](repeating: 0, count: melCount * f2)                // [M, 2T]
        for m in 0..<melCount { for j in 0..<f2 { dMel[m * f2 + j] = dMelT[j * melCount + m] } }
        return dMel
    }

    /// d samples `[S]` of one clip: re-runs the front end and encoder recording a tape, then backward from the
    /// hidden-state gradients `[L + 1]` (each `[T, C]` or nil) through the encoder and the log-mel front end.
    func encoderInputGradient(samples: [Float], melFrames: Int, gradHidden: (WhisperEncoding) -> [[Float]?]) throws -> [Float] {
        let record = WhisperLogMel.Record()
        let tape = WhisperEncoderTape()
        let mel = frontEnd.features(samples, frames: melFrames, record: record)
        let encoding = try encode(mel: mel, melFrames: melFrames, keepHiddenStates: true, tape: tape)
        let dMel = try encoderBackward(tape: tape, gradHidden: gradHidden(encoding))
        var dx = frontEnd.featuresBackward(record, gradFeatures: dMel)
        if dx.count < samples.count { dx += [Float](repeating: 0, count: samples.count - dx.count) }  // past 30 s
        return dx
    }
}
