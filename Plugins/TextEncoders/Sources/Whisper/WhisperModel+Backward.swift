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
    }

    /// 2T mel frames, T encoder frames, C width.
    private(set) var melFrames = 0, frames = 0, width = 0
    /// `[2T, M]` conv1 input.
    var melT: [Float] = []
    /// `[2T, C]` conv1 output before GELU; `[2T, C]` conv2 input (after GELU); `[T, C]` conv2 output before GELU.
    private(set) var conv1Out = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var conv2In = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var conv2Out = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// Per layer.
    private(set) var layers: [LayerRecord] = []
    /// encoder/layer_norm.
    private(set) var finalNorm = NormRecord(rows: 0, width: 0)

    /// Sizes the buffers for one forward.
    func begin(melFrames f2: Int, frames t: Int, width c: Int, heads h: Int, ffn f: Int, layers count: Int) {
        for p in [conv1Out, conv2In, conv2Out] { p.deallocate() }
        conv1Out = .allocate(capacity: f2 * c)
        conv2In = .allocate(capacity: f2 * c)
        conv2Out = .allocate(capacity: t * c)
        layers = (0..<count).map { _ in LayerRecord(frames: t, width: c, heads: h, ffn: f) }
        finalNorm = NormRecord(rows: t, width: c)
        (melFrames, frames, width) = (f2, t, c)
    }

    deinit { for p in [conv1Out, conv2In, conv2Out] { p.deallocate() } }
}

extension WhisperModel {
    /// d mel features `[M, 2T]` of a recorded encoder forward, given the gradient of each hidden state
    /// (`gradHidden[l]` `[T, C]` or nil; index L is the final output, l < L the input of layer l).
    ///
    /// Runs the final layer norm, then each pre-norm layer in reverse (feed-forward, then attention, each adding its
    /// residual), then GELU, conv2, GELU and conv1. Weights are frozen: no weight gradients are formed.
    func encoderBackward(tape: WhisperEncoderTape, gradHidden: [[Float]?]) throws -> [Float] {
        let t = tape.frames, c = width, f2 = tape.melFrames, count = encoderLayers.count
        guard t > 0, tape.layers.count == count, gradHidden.count == count + 1 else {
            throw TextEncoderError.invalidOption(message: "encoderBackward needs a tape recorded by this model's encoder and \(count + 1) hidden-state gradients")
        }
        let ff = encoderLayers[0].ffnIn.outFeatures
        var dx = [Float](repeating: 0, count: t * c)                           // [T, C] d residual stream
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: t * c)        // [T, C]
        let dffn = UnsafeMutablePointer<Float>.allocate(capacity: t * ff)      // [T, F]
        let dqkv = UnsafeMutablePointer<Float>.allocate(capacity: t * 3 * c)   // [T, 3C]
        let dP = UnsafeMutablePointer<Float>.allocate(capacity: t * t)         // [T, T]
        defer { for p in [tmp, dffn, dqkv, dP] { p.deallocate() } }
        let geometry = AttentionGeometry(batch: 1, heads: heads, headDim: c / heads, queryLength: t, keyLength: t)
        let strides = AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c)
        func add(_ g: [Float]?, into dx: UnsafeMutablePointer<Float>) {
            guard let g else { return }
            for i in 0..<(t * c) { dx[i] += g[i] }
        }
        dx.withUnsafeMutableBufferPointer { buffer in
            guard let dx = buffer.baseAddress else { return }
            if let g = gradHidden[count] {
                g.withUnsafeBufferPointer { gp in
                    guard let gp = gp.baseAddress else { return }
                    Kernels.layerNormBackward(x: tape.finalNorm.input, gradOutput: gp, rows: t, features: c,
                                              gamma: encoderNorm.gamma.readOnly, mean: tape.finalNorm.mean,
                                              rstd: tape.finalNorm.rstd, gradInput: dx, gradGamma: nil, gradBeta: nil)
                }
            }
            for l in stride(from: count - 1, through: 0, by: -1) {
                let w = encoderLayers[l], s = tape.layers[l]
                // x2 = x1 + GELU(LN(x1) W1ᵀ + b1) W2ᵀ + b2
                Kernels.sgemm(m: t, n: ff, k: c, a: dx, lda: c, b: w.ffnOut.weight.readOnly, ldb: ff, c: dffn, ldc: ff)
                Kernels.geluBackward(x: s.ffnPreActivation, gradOutput: dffn, gradInput: dffn, count: t * ff)
                Kernels.sgemm(m: t, n: c, k: ff, a: dffn, lda: ff, b: w.ffnIn.weight.readOnly, ldb: c, c: tmp, ldc: c)
                Kernels.layerNormBackward(x: s.ffnNorm.input, gradOutput: tmp, rows: t, features: c,
                                          gamma: w.ffnNorm.gamma.readOnly, mean: s.ffnNorm.mean, rstd: s.ffnNorm.rstd,
                                          gradInput: tmp, gradGamma: nil, gradBeta: nil)
                for i in 0..<(t * c) { dx[i] += tmp[i] }
                // x1 = x0 + Attention(LN(x0) Wqkvᵀ + bqkv) Woᵀ + bo
                Kernels.sgemm(m: t, n: c, k: c, a: dx, lda: c, b: w.attnOut.weight.readOnly, ldb: c, c: tmp, ldc: c)
                Kernels.attentionBackward(geometry, strides: strides, q: s.qkv, k: s.qkv + c, v: s.qkv + 2 * c,
                                          probabilities: s.probabilities, gradOutput: tmp, gradQuery: dqkv,
                                          gradKey: dqkv + c, gradValue: dqkv + 2 * c, gradBias: nil,
                                          biasBatchStride: 0, workspace: dP)
                Kernels.sgemm(m: t, n: c, k: 3 * c, a: dqkv, lda: 3 * c, b: w.qkv.weight.readOnly, ldb: c, c: tmp, ldc: c)
                Kernels.layerNormBackward(x: s.attnNorm.input, gradOutput: tmp, rows: t, features: c,
                                          gamma: w.attnNorm.gamma.readOnly, mean: s.attnNorm.mean, rstd: s.attnNorm.rstd,
                                          gradInput: tmp, gradGamma: nil, gradBeta: nil)
                for i in 0..<(t * c) { dx[i] += tmp[i] }
                add(gradHidden[l], into: dx)
            }
            // x0 = GELU(conv2(GELU(conv1(mel)))) + positions
            Kernels.geluBackward(x: tape.conv2Out, gradOutput: dx, gradInput: dx, count: t * c)
        }
        let g1 = Self.conv1Geometry(mels: melCount, width: c), g2 = Self.conv2Geometry(width: c)
        let ws = max(Kernels.conv1dChannelsLastBackwardWorkspaceCount(g1, inputLength: f2),
                     Kernels.conv1dChannelsLastBackwardWorkspaceCount(g2, inputLength: f2))
        let workspace = UnsafeMutablePointer<Float>.allocate(capacity: ws)
        let dh1 = UnsafeMutablePointer<Float>.allocate(capacity: f2 * c)      // [2T, C]
        defer { workspace.deallocate(); dh1.deallocate() }
        var dMelT = [Float](repeating: 0, count: f2 * melCount)               // [2T, M]
        dx.withUnsafeBufferPointer { d in
            guard let d = d.baseAddress else { return }
            Kernels.conv1dChannelsLastBackward(g2, batch: 1, inputLength: f2, x: tape.conv2In, packedWeight: conv2.readOnly,
                                               gradOutput: d, gradInput: dh1, gradPackedWeight: nil, gradBias: nil,
                                               workspace: workspace)
        }
        Kernels.geluBackward(x: tape.conv1Out, gradOutput: dh1, gradInput: dh1, count: f2 * c)
        tape.melT.withUnsafeBufferPointer { x in
            dMelT.withUnsafeMutableBufferPointer { out in
                guard let x = x.baseAddress, let out = out.baseAddress else { return }
                Kernels.conv1dChannelsLastBackward(g1, batch: 1, inputLength: f2, x: x, packedWeight: conv1.readOnly,
                                                   gradOutput: dh1, gradInput: out, gradPackedWeight: nil, gradBias: nil,
                                                   workspace: workspace)
            }
        }
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
