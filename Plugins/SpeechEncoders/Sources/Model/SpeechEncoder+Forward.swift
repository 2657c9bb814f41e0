import EmoModels
import EmoTensor
import Foundation

/// What one forward pass returns: every hidden state, layer-indexed (s3prl's convention).
public struct SpeechEncoderOutput: Sendable {
    /// B.
    public var batch: Int
    /// T (frames of the longest clip).
    public var frames: Int
    /// C.
    public var channels: Int
    /// L + 1: index 0 is the transformer's input (after the positional conv), index i the output of layer i
    /// (before the final layer norm of pre-LN layouts), as Hugging Face's `hidden_states`.
    public var layers: Int
    /// Real frames of each clip (T for unpadded input).
    public var frameLengths: [Int]
    /// `[L+1, B, T, C]` (empty when the forward ran without `keepHiddenStates`).
    public var hiddenStates: [Float]
    /// `[B, T, C]`: Hugging Face's `last_hidden_state` (layer L, after `encoder.layer_norm` for pre-LN layouts).
    public var lastHiddenState: [Float]
    /// `[B, T, C']`: the conv feature encoder's output (before the feature projection), when requested.
    public var convFeatures: [Float]?

    /// Mean over each clip's real frames of hidden state `layer` (`-1`, or `layers`, means `lastHiddenState`): `[B, C]`.
    public func meanPooled(layer: Int = -1) -> [Float] {
        var out = [Float](repeating: 0, count: batch * channels)
        hiddenStates.withUnsafeBufferPointer { hs in
            lastHiddenState.withUnsafeBufferPointer { last in
                let useLast = layer < 0 || layer >= layers
                guard let base = useLast ? last.baseAddress : hs.baseAddress.map({ $0 + layer * batch * frames * channels }) else { return }
                for b in 0..<batch {
                    let n = max(frameLengths[b], 1)
                    for t in 0..<min(frameLengths[b], frames) {
                        let row = base + (b * frames + t) * channels
                        for c in 0..<channels { out[b * channels + c] += row[c] }
                    }
                    for c in 0..<channels { out[b * channels + c] /= Float(n) }
                }
            }
        }
        return out
    }

    /// Mean over real frames of `sum_l w_l * h_l`, with `weights` (L + 1 values, index 0 the transformer input)
    /// normalised by a softmax as s3prl's weighted-sum featurizer does: `[B, C]`.
    public func weightedSumPooled(weights: [Float]) throws -> [Float] {
        guard weights.count == layers else {
            throw CheckpointError.invalidConfig(path: "pooling", message: "\(weights.count) layer weights for \(layers) hidden states")
        }
        let mx = weights.max() ?? 0
        let e = weights.map { expf($0 - mx) }
        let s = e.reduce(0, +)
        var out = [Float](repeating: 0, count: batch * channels)
        for l in 0..<layers {
            let pooled = meanPooled(layer: l)
            for i in 0..<out.count { out[i] += e[l] / s * pooled[i] }
        }
        return out
    }
}

/// What a `SpeechWorkspace` buffer holds: every scratch array of the forward, the backward and the tape has a
/// name here, checked by the compiler (no string keys). Shapes are at the use sites.
enum Scratch: Hashable {
    /// Forward: the residual stream when the input is not reused, the fused projection, attention scores,
    /// attention context, FFN output, WavLM gates, the conv features and their normalised copy, the relative
    /// position bias.
    case x, qkv, scores, ctx, ff, gate, feat, featNorm, posBias
    /// Positional conv: its output (pre-activation) and the kernel's scratch (`Kernels.conv1dSame`'s padded copy and
    /// im2col, or `Kernels.conv1dSameFFT`'s spectra and FFT planes).
    case posOut, posScratch
    /// The conv feature encoder's scratch for chunk `chunk` (`backward`: the backward pass's own set).
    case conv(ConvScratchPart, chunk: Int, backward: Bool)
    /// Backward: gradients of the hidden state, the recomputed hidden state (checkpointing), the conv output, the
    /// conv features, the positional conv's direct-path scratch, the attention/FFN branch, the residual,
    /// the FFN hidden, the fused projection, the gates and the probabilities.
    case bH, ckH, bZ, bFeat, bPosScratch, bA, bT, bG, bQKV, bGate, bP
    /// Tape: transformer layer `layer`'s saved activations.
    case layer(Int, LayerTapePart)
    /// Tape: conv layer `layer`'s output and its norm's `rstd`; the projection norm, positional conv input and
    /// encoder norm.
    case tapeConv(Int), tapeConvRstd(Int), projXhat, projRstd, posPre, encXhat, encRstd
    /// Tape of a training forward: the input samples, the feature projection's and the positional conv's inputs.
    case tapeSamples, projIn, posIn
    /// Weight gradients: a GELU output or norm output rebuilt from the tape, a conv layer's rebuilt input (per
    /// chunk), the conv stack's per-chunk gradient sums, the positional conv's packed weight gradient and im2col.
    case wAct, wIn, wConvIn(Int), wConvGrad(Int), wPos, wPosCol
    /// Dropout: the masks of the front end (tape), the dropped attention probabilities and a dropped block output
    /// (forward), their backward twins.
    case projMask, encMask, dropProbs, dropOut, bDropProbs, bDropOut, timeMask

    /// The buffers of one conv scratch set.
    enum ConvScratchPart: Hashable { case ping, pong, col, rstd, norm, winograd }
    /// The saved activations of one transformer layer.
    enum LayerTapePart: Hashable {
        case qkv, probs, normAXhat, normARstd, ffPre, normBXhat, normBRstd, gateA, gateB, attnIn, ctx
        case attnMask, attnOutMask, actMask, ffOutMask
    }
}

/// Scratch memory for one forward pass, sized once per (B, T) and reused by every layer.
final class SpeechWorkspace {
    private(set) var capacity: [Scratch: Int] = [:]
    private var buffers: [Scratch: UnsafeMutablePointer<Float>] = [:]

    /// A buffer of at least `count` floats (contents undefined), grown only when too small.
    func buffer(_ name: Scratch, _ count: Int) -> UnsafeMutablePointer<Float> {
        if let b = buffers[name], let cap = capacity[name], cap >= count { return b }
        buffers[name]?.deallocate()
        let b = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        buffers[name] = b
        capacity[name] = max(count, 1)
        return b
    }

    deinit { for b in buffers.values { b.deallocate() } }
}

extension SpeechEncoder {
    /// Runs the encoder on `input` `[B, S]` (already normalised; see `prepare`).
    ///
    /// With `lengths` (real samples per clip), padded frames are zeroed before the positional conv and masked as
    /// attention keys, exactly as Hugging Face does when given an `attention_mask`. Without, every sample is real.
    /// With `recordTape`, the pass also keeps what `inputGradientOfLastForward` needs (see `tapeFloats`; about
    /// 120 MB per 3 s clip for a base model), so the backward pass recomputes nothing. Without
    /// `keepHiddenStates`, the output's `hiddenStates` is empty (only `lastHiddenState` is kept, and the layers
    /// run in place: less memory traffic when only the last layer is pooled).
    /// Not safe to call concurrently on one instance (the workspace is shared); allocates only its outputs.
    ///
    /// With `clipExact` (inference only: no tape), each clip's conv feature encoder runs on its own real samples
    /// instead of the padded row, so a clip's outputs do not depend on its batch-mates: for checkpoints whose
    /// first conv layer is group-normed (`feat_extract_norm` "group": wav2vec2-base, HuBERT-base, WavLM-base), whose
    /// statistics Hugging Face takes over the padding too, this is what makes a padded batch give each clip the
    /// features of a forward on that clip alone (up to float rounding). Every clip must then yield at least one frame.
    public func forward(_ input: [Float], batch: Int, samples: Int, lengths: [Int]? = nil,
                        keepConvFeatures: Bool = false, recordTape: Bool = false,
                        keepHiddenStates: Bool = true, clipExact: Bool = false) throws -> SpeechEncoderOutput {
        try forward(input, batch: batch, samples: samples, lengths: lengths, keepConvFeatures: keepConvFeatures,
                    depth: recordTape ? .full : .none, keepHiddenStates: keepHiddenStates, clipExact: clipExact)
    }

    /// The forward pass, keeping `depth` of the tape (`clipExact`: see the public `forward`; only without a tape).
    func forward(_ input: [Float], batch: Int, samples: Int, lengths: [Int]?, keepConvFeatures: Bool,
                 depth: TapeDepth, keepHiddenStates: Bool = true, clipExact: Bool = false) throws -> SpeechEncoderOutput {
        guard batch > 0, samples > 0, input.count == batch * samples else {
            throw CheckpointError.invalidConfig(path: "forward", message: "input has \(input.count) samples, expected B × N = \(batch) × \(samples)")
        }
        if let lengths, lengths.count != batch || lengths.contains(where: { $0 < 0 || $0 > samples }) {
            throw CheckpointError.invalidConfig(path: "forward", message: "lengths \(lengths) must hold \(batch) values in 0...\(samples)")
        }
        let t = config.frameCount(samples: samples)
        guard t > 0 else {
            throw CheckpointError.invalidConfig(path: "forward", message: "\(samples) samples are too few for one frame of this encoder (pad short clips)")
        }
        let exact = clipExact && lengths != nil
        if exact {
            guard depth == .none, !recordsWeightInputs else {
                throw CheckpointError.invalidConfig(path: "forward", message: "a clip-exact forward keeps no tape (inference only)")
            }
            if let short = lengths?.firstIndex(where: { config.frameCount(samples: $0) < 1 }), let n = lengths?[short] {
                throw CheckpointError.invalidConfig(path: "forward", message: "clip \(short) has \(n) samples, too few for one frame of this encoder")
            }
        }
        tapeShape = nil
        splitRanges = nil
        if depth != .frontEnd, !recordsWeightInputs, batch >= 2, Dense.threads >= 2, !Dense.isSerial {
            return try forwardSplittingBatch(input, batch: batch, samples: samples, lengths: lengths,
                                             keepConvFeatures: keepConvFeatures, keepHiddenStates: keepHiddenStates,
                                             taped: depth == .full, clipExact: exact)
        }
        return forwardPass(input, batch: batch, samples: samples, lengths: lengths, keepConvFeatures: keepConvFeatures,
                           depth: depth, keepHiddenStates: keepHiddenStates, ws: workspace, clipExact: exact)
    }

    /// The clips split into one sub-batch per thread, each run start to end on its own thread with single-threaded
    /// GEMMs and its own workspace: no fork-join per layer, no BLAS threads spinning while the elementwise kernels
    /// run (about 10 % less CPU time than threading each GEMM: 34.7–34.9 against 38.4–39.0 CPU-s for
    /// `emo bench explain`'s 60 occlusion forwards). Every stage is per clip, so the outputs are those of one pass
    /// over the whole batch up to float rounding (the GEMMs' blocking; `testBatchSplitForwardEqualsOnePass`).
    /// With `taped`, each sub-batch runs on one of `splitClones` (same weights, own tape), and the backward
    /// (`backward(pooledGrad:hiddenStates:)`) splits the same way.
    func forwardSplittingBatch(_ input: [Float], batch: Int, samples: Int, lengths: [Int]?, keepConvFeatures: Bool,
                               keepHiddenStates: Bool, taped: Bool = false, clipExact: Bool = false) throws -> SpeechEncoderOutput {
        let chunks = Dense.chunkCount(batch)
        while chunkWorkspaces.count < chunks { chunkWorkspaces.append(SpeechWorkspace()) }
        while taped && splitClones.count < chunks { splitClones.append(SpeechEncoder(sharingWeightsOf: self)) }
        let spaces = chunkWorkspaces, clones = taped ? Array(splitClones.prefix(chunks)) : []
        var results = [SpeechEncoderOutput?](repeating: nil, count: chunks)
        var ranges = [Range<Int>](repeating: 0..<0, count: chunks)
        results.withUnsafeMutableBufferPointer { res in
            ranges.withUnsafeMutableBufferPointer { rangeOf in
                Dense.parallelChunksWithSerialBLAS(batch) { k, r in
                    rangeOf[k] = r
                    let sub = Array(input[(r.lowerBound * samples)..<(r.upperBound * samples)])
                    let subLengths = lengths.map { Array($0[r]) }
                    res[k] = Dense.serially {
                        if taped {
                            let clone = clones[k]
                            return clone.forwardPass(sub, batch: r.count, samples: samples, lengths: subLengths,
                                                     keepConvFeatures: keepConvFeatures, depth: .full,
                                                     keepHiddenStates: keepHiddenStates, ws: clone.workspace)
                        }
                        return forwardPass(sub, batch: r.count, samples: samples, lengths: subLengths,
                                           keepConvFeatures: keepConvFeatures, depth: .none,
                                           keepHiddenStates: keepHiddenStates, ws: spaces[k], clipExact: clipExact)
                    }
                }
            }
        }
        let parts = results.compactMap { $0 }
        guard let first = parts.first, parts.count == chunks else {
            throw CheckpointError.invalidConfig(path: "forward", message: "a sub-batch returned nothing")
        }
        let (t, c) = (first.frames, first.channels)
        var hidden: [Float] = []
        if !first.hiddenStates.isEmpty {
            hidden.reserveCapacity(first.layers * batch * t * c)
            for layer in 0..<first.layers {
                for p in parts {
                    let n = p.batch * t * c
                    hidden.append(contentsOf: p.hiddenStates[(layer * n)..<((layer + 1) * n)])
                }
            }
        }
        if taped {
            splitRanges = ranges
            tapeShape = TapeShape(batch: batch, samples: samples, frames: t, lengths: lengths,
                                  frameLengths: parts.flatMap(\.frameLengths), depth: .full)
        }
        return SpeechEncoderOutput(batch: batch, frames: t, channels: c, layers: first.layers,
                                   frameLengths: parts.flatMap(\.frameLengths), hiddenStates: hidden,
                                   lastHiddenState: parts.flatMap(\.lastHiddenState),
                                   convFeatures: keepConvFeatures ? parts.flatMap { $0.convFeatures ?? [] } : nil)
    }

    /// One pass over the whole batch in workspace `ws` (`forward`'s arguments checked; `clipExact` only without a
    /// tape: each clip's conv feature encoder then runs on its real samples, its padded frames zeroed).
    func forwardPass(_ input: [Float], batch: Int, samples: Int, lengths: [Int]?, keepConvFeatures: Bool,
                     depth: TapeDepth, keepHiddenStates: Bool, ws: SpeechWorkspace,
                     clipExact: Bool = false) -> SpeechEncoderOutput {
        let t = config.frameCount(samples: samples)
        let frameLengths = lengths.map { $0.map { config.frameCount(samples: $0) } } ?? Array(repeating: t, count: batch)
        let (c, l, cc) = (config.hiddenSize, config.numLayers, config.convOutputDim)
        let weightInputs = recordsWeightInputs && depth != .none
        let dropout = weightInputs ? dropoutRates.flatMap { $0.isActive ? $0 : nil } : nil  // training forwards only
        let timeMasking = weightInputs && usesTimeMasking
        let convTaped = !weightInputs || tapesConvLayers
        let front = depth == .none ? nil : frontTape(batch: batch, samples: samples, frames: t, weightInputs: weightInputs,
                                                     dropout: dropout, timeMasking: timeMasking, convLayers: convTaped)
        if let front, dropout != nil { drawDropoutMasks(front, rows: batch * t) }
        let skipped = dropout.map { drawLayerDrop($0) } ?? []  // LayerDrop's skipped layers (training only)
        var streams = [SeededGenerator](repeating: dropoutGenerator, count: weightInputs && depth == .frontEnd ? l : 0)
        // Checkpointed backward re-runs layers from their inputs, so it needs every hidden state.
        let keepAll = keepHiddenStates || depth == .frontEnd
        var hidden = [Float](repeating: 0, count: (keepAll ? l + 1 : 1) * batch * t * c)  // [L+1 or 1, B, T, C]
        var last = [Float](repeating: 0, count: config.stableLayerNorm || keepAll ? batch * t * c : 0)
        var conv = [Float](repeating: 0, count: keepConvFeatures ? batch * t * cc : 0)
        input.withUnsafeBufferPointer { x in
            hidden.withUnsafeMutableBufferPointer { hs in
                guard let x = x.baseAddress, let hs = hs.baseAddress else { return }
                front?.samples?.update(from: x, count: batch * samples)
                // [B, T, C'] conv features, then [B, T, C] projected.
                let feat = ws.buffer(.feat, batch * t * cc)
                // Clips in parallel, one chunk per thread with its own scratch (single-threaded GEMMs inside).
                let scratch = (0..<Dense.chunkCount(batch)).map { convScratch(samples: samples, chunk: $0, backward: false, ws: ws, forward: true) }
                Dense.parallelChunksWithSerialBLAS(batch) { chunk, clips in
                    for b in clips {
                        guard clipExact, front == nil, let real = lengths?[b], real < samples else {
                            featureEncoder(x + b * samples, samples: samples, out: feat + b * t * cc, scratch: scratch[chunk],
                                           tape: convTaped ? front : nil, clip: b)
                            continue
                        }
                        // The clip alone: its real samples through the conv stack, the frames past them zero.
                        let realFrames = min(frameLengths[b], t)
                        featureEncoder(x + b * samples, samples: real, out: feat + b * t * cc, scratch: scratch[chunk],
                                       tape: nil, clip: b)
                        (feat + (b * t + realFrames) * cc).update(repeating: 0, count: (t - realFrames) * cc)
                    }
                }
                if keepConvFeatures { conv.withUnsafeMutableBufferPointer { $0.baseAddress?.update(from: feat, count: $0.count) } }
                featureProjection(feat, rows: batch * t, out: hs, ws: ws, tape: front)
                if lengths != nil {
                    for b in 0..<batch where frameLengths[b] < t {
                        (hs + (b * t + frameLengths[b]) * c).update(repeating: 0, count: (t - frameLengths[b]) * c)
                    }
                }
                if let mask = front?.timeMask { applyTimeMask(mask, to: hs, batch: batch, frames: t, frameLengths: frameLengths) }
                front?.posIn?.update(from: hs, count: batch * t * c)
                positionalConv(hs, batch: batch, frames: t, ws: ws, pre: front?.posPre)
                if !config.stableLayerNorm {
                    layerNorm(rows: batch * t, x: hs, norm: encoderNorm, y: hs, xhat: front?.encXhat, rstd: front?.encRstd)
                }
                if let mask = front?.encMask { Kernels.multiply(hs, by: mask, into: hs, count: batch * t * c) }
                let bias = relativePositionBias(frames: t, ws: ws)
                let keys = lengths == nil ? Array(repeating: t, count: batch) : frameLengths
                for i in 0..<l {
                    let h = keepAll ? hs + (i + 1) * batch * t * c : hs
                    if keepAll { h.update(from: hs + i * batch * t * c, count: batch * t * c) }
                    if skipped.indices.contains(i) && skipped[i] { continue }
                    // A checkpointed training forward runs every layer through slot 0, as its backward's re-run will.
                    let tape = depth == .full || weightInputs
                        ? layerTape(depth == .full ? i : 0, batch: batch, frames: t, weightInputs: weightInputs, dropout: dropout) : nil
                    if weightInputs && depth == .frontEnd { streams[i] = dropoutGenerator }
                    if let tape, dropout != nil { drawDropoutMasks(tape, batch: batch, frames: t) }
                    transformerLayer(layers[i], h: h, batch: batch, frames: t, keys: keys, positionBias: bias, ws: ws,
                                     tape: tape)
                }
                last.withUnsafeMutableBufferPointer { buf in
                    guard buf.count > 0, let out = buf.baseAddress else { return }  // empty: post-LN in place
                    let top = keepAll ? hs + l * batch * t * c : hs
                    if config.stableLayerNorm {
                        layerNorm(rows: batch * t, x: top, norm: encoderNorm, y: out, xhat: front?.encXhat, rstd: front?.encRstd)
                    } else {
                        out.update(from: top, count: batch * t * c)
                    }
                }
            }
        }
        if !keepAll {
            // Post-LN: the top layer's output is last_hidden_state itself.
            if !config.stableLayerNorm { last = hidden }
            hidden = []
        }
        checkpointStreams = streams
        if depth != .none {
            tapeShape = TapeShape(batch: batch, samples: samples, frames: t, lengths: lengths,
                                  frameLengths: frameLengths, depth: depth, weightInputs: weightInputs, convLayers: convTaped,
                                  dropout: dropout, timeMasked: timeMasking, skippedLayers: skipped)
        }
        return SpeechEncoderOutput(batch: batch, frames: t, channels: c, layers: l + 1, frameLengths: frameLengths,
                                   hiddenStates: hidden, lastHiddenState: last,
                                   convFeatures: keepConvFeatures ? conv : nil)
    }

    /// Pads clips to one length `[B, S]`, normalises them per `preprocessor`, and returns the lengths.
    public func prepare(_ clips: [[Float]]) -> (input: [Float], samples: Int, lengths: [Int]) {
        let n = clips.map(\.count).max() ?? 0
        var x = [Float](repeating: 0, count: clips.count * n)
        for (b, clip) in clips.enumerated() { for i in 0..<clip.count { x[b * n + i] = clip[i] } }
        let lengths = clips.map(\.count)
        preprocessor.apply(&x, batch: clips.count, samples: n, lengths: lengths)
        return (x, n, lengths)
    }

    // MARK: - Stages

    /// Layer norm of `rows` rows of width C, recording `xhat`/`rstd` when given (the same arithmetic either way).
    func layerNorm(rows: Int, x: UnsafePointer<Float>, norm: Affine, y: UnsafeMutablePointer<Float>,
                   xhat: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?) {
        Kernels.layerNorm(x: x, rows: rows, features: norm.count, gamma: norm.weight, beta: norm.bias,
                          eps: config.layerNormEps, y: y, rstd: xhat == nil ? nil : rstd, xhat: rstd == nil ? nil : xhat)
    }

    /// Per-thread scratch of the conv feature encoder (forward or backward).
    struct ConvScratch {
        /// Two buffers of the largest layer output `[T_i, C']` (also the input samples for backward).
        var ping: UnsafeMutablePointer<Float>, pong: UnsafeMutablePointer<Float>
        /// im2col (forward) or col2im (backward) of the small-receptive-field layers `[T_i, K·C_in]`.
        var col: UnsafeMutablePointer<Float>
        /// Norm statistics without a tape (`[C']` or `[T_i]`), and norm scratch (`2·C'`).
        var rstd: UnsafeMutablePointer<Float>, norm: UnsafeMutablePointer<Float>
        /// The Winograd layers' transformed inputs and products (forward only; nil for backward).
        var winograd: UnsafeMutablePointer<Float>?
    }

    /// Scratch for chunk `chunk` for clips of `samples` samples (`backward`: the backward pass's own set; allocate
    /// before any parallel region: the workspace is not thread-safe).
    func convScratch(samples: Int, chunk: Int, backward: Bool, ws: SpeechWorkspace? = nil, forward: Bool = false) -> ConvScratch {
        let frames = convs.indices.map { config.frameCount(samples: samples, layers: $0 + 1) }
        let size = max(samples, convs.indices.map { frames[$0] * convs[$0].cout }.max() ?? 0)
        // The forward's convolution asks for its own im2col workspace; the backward's col2im of the layers with a
        // small receptive field (cin·K ≤ 64) shares the buffer.
        let im2col = convs.indices.map {
            Kernels.conv1dChannelsLastWorkspaceCount(convs[$0].geometry, inputLength: convs[$0].inputLength(frames: frames[$0]))
        }
        let col2im = convs.indices.filter { convs[$0].cin * convs[$0].kernel <= 64 }
            .map { frames[$0] * convs[$0].cin * convs[$0].kernel }
        let col = max(1, (im2col + col2im).max() ?? 1)
        let widest = convs.map(\.cout).max() ?? 1
        let wino = convs.indices.filter { convs[$0].winograd != nil }
            .map { Self.winogradScratchCount(frames: frames[$0], cin: convs[$0].cin, cout: convs[$0].cout) }.max()
        let ws = ws ?? workspace
        func part(_ p: Scratch.ConvScratchPart) -> Scratch { .conv(p, chunk: chunk, backward: backward) }
        return ConvScratch(ping: ws.buffer(part(.ping), size), pong: ws.buffer(part(.pong), size), col: ws.buffer(part(.col), col),
                           rstd: ws.buffer(part(.rstd), max(widest, frames.max() ?? 1)), norm: ws.buffer(part(.norm), 2 * widest),
                           winograd: forward ? wino.map { ws.buffer(part(.winograd), $0) } : nil)
    }

    /// Conv feature encoder for clip `b`: `x[S]` → `out[T, C']`, frames-major; with a tape, each layer's GELU
    /// input (normalised value for normed layers) and norm statistics are kept.
    func featureEncoder(_ x: UnsafePointer<Float>, samples: Int, out: UnsafeMutablePointer<Float>,
                        scratch: ConvScratch, tape: FrontTape?, clip b: Int) {
        var len = samples
        var src = x
        for (i, cl) in convs.enumerated() {
            let tOut = (len - cl.kernel) / cl.stride + 1
            let dst = i == convs.count - 1 ? out : (i % 2 == 0 ? scratch.ping : scratch.pong)
            // z: the conv output, normalised in place for normed layers, then GELU (out of place with a tape).
            let z = tape.map { $0.conv[i] + b * tOut * cl.cout } ?? dst
            if tape == nil, cl.groupNorm, let norm = cl.norm {
                // Without a tape nothing needs the normalised value: one pass of GELU over the conv output.
                convolveGroupNormGelu(cl, norm: norm, src, frames: tOut, conv: z, into: dst, scratch: scratch)
                src = UnsafePointer(dst)
                len = tOut
                continue
            }
            if let wino = cl.winograd, let buf = scratch.winograd, tOut >= Self.winogradMinFrames {
                convolveWinograd(cl, wino, src, frames: tOut, into: z, scratch: buf)
            } else {
                convolve(cl, src, frames: tOut, into: z, col: scratch.col)
            }
            if let norm = cl.norm {
                let rstd = tape.map { $0.convRstd[i] + b * (cl.groupNorm ? cl.cout : tOut) } ?? scratch.rstd
                if cl.groupNorm {
                    Dense.columnNormalize(rows: tOut, cols: cl.cout, x: z, eps: 1e-5, rstd: rstd, scratch: scratch.norm)
                    Dense.affineGelu(z, rows: tOut, cols: cl.cout, gamma: norm.weight, beta: norm.bias, into: dst)
                } else {
                    Kernels.layerNorm(x: z, rows: tOut, features: cl.cout, gamma: norm.weight, beta: norm.bias, eps: 1e-5,
                                      y: dst, rstd: rstd, xhat: z)
                    Kernels.gelu(x: dst, y: dst, count: tOut * cl.cout)
                }
            } else {
                Kernels.gelu(x: z, y: dst, count: tOut * cl.cout)
            }
            src = UnsafePointer(dst)
            len = tOut
        }
    }

    /// A group-normed conv layer without a tape: `dst = gelu(GroupNorm(conv(src)))`, `src[T_in, C_in]` →
    /// `dst[T_out, C_out]`, with `conv` `[T_out, C_out]` holding the conv output (may alias `dst`).
    ///
    /// The conv runs in blocks of rows small enough to stay in cache while each block's per-channel mean and sum of
    /// squared deviations are taken (two passes over the block); the blocks merge in Double by Chan et al.'s
    /// pairwise update, so no E[z²] − E[z]² cancellation. One more pass applies the norm, its affine step and GELU
    /// as `gelu((z − mean) · γ·rstd + β)`: three passes over the layer's output (about 20 MB for wav2vec2's
    /// first layer on 3 s) instead of six with the tape's `columnNormalize` + `affineGelu`.
    func convolveGroupNormGelu(_ cl: ConvLayer, norm: Affine, _ src: UnsafePointer<Float>,
                               frames tOut: Int, conv z: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>,
                               scratch: ConvScratch) {
        let cout = cl.cout
        let block = max(16, 32_768 / cout)  // rows per block: 64 of 512 channels, 128 KB
        var mean = [Double](repeating: 0, count: cout), m2 = mean
        let bMean = scratch.norm, bM2 = scratch.norm + cout
        var seen = 0
        while seen < tOut {
            let n = min(block, tOut - seen)
            let zb = z + seen * cout
            convolve(cl, src + seen * cl.stride * cl.cin, frames: n, into: zb, col: scratch.col)
            Dense.columnMoments(rows: n, cols: cout, x: zb, mean: bMean, m2: bM2)
            // Chan et al.: merge (seen, mean, m2) with the block's (n, bMean, bM2).
            let (na, nb) = (Double(seen), Double(n))
            let total = na + nb
            for c in 0..<cout {
                let delta = Double(bMean[c]) - mean[c]
                mean[c] += delta * nb / total
                m2[c] += Double(bM2[c]) + delta * delta * na * nb / total
            }
            seen += n
        }
        // (z − mean) first, as GroupNorm does: folding the mean into the shift would cancel digits when a
        // channel's mean is large against its spread (a DC offset).
        let center = scratch.norm, scale = scratch.norm + cout
        for c in 0..<cout {
            center[c] = Float(mean[c])
            scale[c] = Float(Double(norm.weight[c]) / (m2[c] / Double(tOut) + 1e-5).squareRoot())
        }
        Dense.centeredAffineGelu(z, rows: tOut, cols: cout, center: center, scale: scale, shift: norm.bias, into: dst)
    }

    /// One conv layer without its norm: `src[T_in, C_in]` → `dst[T_out, C_out]` (+ bias), frames-major, by the
    /// kernel library's channels-last convolution (no padding: every frame is interior, so the GEMMs read `src` in
    /// place, ⌈K / s⌉ of them; a layer with few input channels goes through an im2col in `col`).
    func convolve(_ cl: ConvLayer, _ src: UnsafePointer<Float>, frames tOut: Int, into dst: UnsafeMutablePointer<Float>,
                  col: UnsafeMutablePointer<Float>) {
        cl.weight.withUnsafeBufferPointer { w in
            guard let w = w.baseAddress else { return }
            func run(_ bias: UnsafePointer<Float>?) {
                Kernels.conv1dChannelsLast(cl.geometry, batch: 1, inputLength: cl.inputLength(frames: tOut), x: src,
                                           packedWeight: w, bias: bias, y: dst, workspace: col)
            }
            if let bias = cl.bias { bias.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
        }
    }

    /// `feature_projection`: layer norm (optional) then linear, `[N, C']` → `[N, C]`.
    func featureProjection(_ feat: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>, ws: SpeechWorkspace,
                           tape: FrontTape?) {
        let cc = config.convOutputDim
        var src = feat
        if let norm = projectionNorm {
            let normed = ws.buffer(.featNorm, rows * cc)
            layerNorm(rows: rows, x: feat, norm: norm, y: normed, xhat: tape?.projXhat, rstd: tape?.projRstd)
            src = UnsafePointer(normed)
        }
        tape?.projIn?.update(from: src, count: rows * cc)
        Kernels.linear(x: src, rows: rows, inFeatures: cc, weight: projectionWeight, bias: projectionBias,
                       outFeatures: config.hiddenSize, y: out)
        if let mask = tape?.projMask { Kernels.multiply(out, by: mask, into: out, count: rows * config.hiddenSize) }
    }

    /// WavLM's relative position bias `[H, T, T]` from `rel_attn_embed` (nil for other families).
    func relativePositionBias(frames t: Int, ws: SpeechWorkspace) -> UnsafeMutablePointer<Float>? {
        guard let table = relativeEmbedding else { return nil }
        let h = config.numHeads
        let out = ws.buffer(.posBias, h * t * t)
        let half = config.numBuckets / 2
        let maxExact = half / 2
        let logRange = Float(log(Double(config.maxBucketDistance) / Double(maxExact)))
        for q in 0..<t {
            for k in 0..<t {
                let bucket = Self.relativeBucket(k - q, half: half, maxExact: maxExact, logRange: logRange)
                for hh in 0..<h { out[(hh * t + q) * t + k] = table[bucket * h + hh] }
            }
        }
        return out
    }

    /// The `rel_attn_embed` row of relative position `rel` = key − query (WavLM's log-spaced buckets, half of them
    /// for positive offsets).
    static func relativeBucket(_ rel: Int, half: Int, maxExact: Int, logRange: Float) -> Int {
        var bucket = rel > 0 ? half : 0
        let a = abs(rel)
        if a < maxExact {
            bucket += a
        } else {
            var v = logf(Float(a) / Float(maxExact))
            v = v / logRange
            v = v * Float(half - maxExact)
            bucket += min(Int(Float(maxExact) + v), half - 1)
        }
        return bucket
    }

    /// One transformer layer in place on `h[B, T, C]` (post-LN for base layouts, pre-LN for stable ones),
    /// recording into `tape` when given.
    func transformerLayer(_ p: Layer, h: UnsafeMutablePointer<Float>, batch: Int, frames t: Int, keys: [Int],
                          positionBias: UnsafeMutablePointer<Float>?, ws: SpeechWorkspace, tape: LayerTape?) {
        let (c, f, nh, d) = (config.hiddenSize, config.intermediateSize, config.numHeads, config.headDim)
        let rows = batch * t
        let qkv = tape?.qkv ?? ws.buffer(.qkv, rows * 3 * c)  // [B, T, 3C]
        let ctx = tape?.ctx ?? ws.buffer(.ctx, rows * c)       // [B, T, C]
        let ff = ws.buffer(.ff, rows * f)                      // [B, T, F] GELU output
        let ffPre = tape?.ffPre ?? ff                            // [B, T, F] GELU input
        let gate = ws.buffer(.gate, rows * nh)                 // [B, T, H]
        // x: the attention input (the layer input for post-LN, its norm for pre-LN).
        let x: UnsafeMutablePointer<Float>
        if config.stableLayerNorm {
            x = ws.buffer(.x, rows * c)
            layerNorm(rows: rows, x: h, norm: p.norm1, y: x, xhat: tape?.normAXhat, rstd: tape?.normARstd)
        } else {
            x = h
        }
        tape?.attnIn?.update(from: x, count: rows * c)
        Kernels.linear(x: x, rows: rows, inFeatures: c, weight: p.qkvWeight, bias: p.qkvBias, outFeatures: 3 * c,
                       y: qkv)
        if let g = p.gate {
            // WavLM gate per (frame, head) from the attention input: sigmoid of two sums of 4 projections.
            for r in 0..<rows {
                for hh in 0..<nh {
                    let xr = x + r * c + hh * d
                    var s0: Float = 0, s1: Float = 0
                    for o in 0..<8 {
                        var acc = g.bias[o]
                        for i in 0..<d { acc += xr[i] * g.weight[o * d + i] }
                        if o < 4 { s0 += acc } else { s1 += acc }
                    }
                    let ga = 1 / (1 + expf(-s0)), gb = 1 / (1 + expf(-s1))
                    gate[r * nh + hh] = ga * (gb * g.const[hh] - 1) + 2
                    if let tape { tape.gateA[r * nh + hh] = ga; tape.gateB[r * nh + hh] = gb }
                }
            }
        }
        // Attention per (clip, head), the pairs split across threads (single-threaded GEMMs inside).
        let scale = 1 / Float(d).squareRoot()
        let probs = tape?.probs ?? ws.buffer(.scores, batch * nh * t * t)  // [B, H, T, T]
        let gated = p.gate != nil
        let dropped = tape?.attnMask.map { _ in ws.buffer(.dropProbs, batch * nh * t * t) }  // [B, H, T, T] P ⊙ mask
        Dense.parallelWithSerialBLAS(batch * nh) { pairs in
            for bh in pairs {
                let (b, hh) = (bh / nh, bh % nh)
                let nk = keys[b]
                let base = qkv + b * t * 3 * c
                let scores = probs + bh * t * t  // [T, T]
                Kernels.sgemm(transB: true, m: t, n: nk, k: d, alpha: scale, a: base + hh * d, lda: 3 * c,
                              b: base + c + hh * d, ldb: 3 * c, beta: 0, c: scores, ldc: t)
                for q in 0..<t {
                    let row = scores + q * t
                    if let pb = positionBias, gated {
                        let gq = gate[(b * t + q) * nh + hh]
                        let brow = pb + (hh * t + q) * t
                        for k in 0..<nk { row[k] += gq * brow[k] }
                    }
                    Dense.softmax(row, count: nk)
                }
                var weights = UnsafePointer(scores)  // what multiplies V: the probabilities, or their dropout
                if let mask = tape?.attnMask, let dropped {
                    let dst = dropped + bh * t * t, m = mask + bh * t * t
                    for q in 0..<t { for k in 0..<nk { dst[q * t + k] = scores[q * t + k] * m[q * t + k] } }
                    weights = UnsafePointer(dst)
                }
                Kernels.sgemm(m: t, n: d, k: nk, a: weights, lda: t, b: base + 2 * c + hh * d, ldb: 3 * c, beta: 0,
                              c: ctx + b * t * c + hh * d, ldc: c)
            }
        }
        addBranch(into: h, rows: rows, mask: tape?.attnOutMask, ws: ws) { y, accumulate in
            Kernels.linear(x: ctx, rows: rows, inFeatures: c, weight: p.outWeight, bias: p.outBias, outFeatures: c, y: y,
                           accumulate: accumulate)
        }
        // The FFN's input: LN2(h) into x (pre-LN) or LN1(h) in place (post-LN).
        let ffIn: UnsafeMutablePointer<Float>
        if config.stableLayerNorm {
            layerNorm(rows: rows, x: h, norm: p.norm2, y: x, xhat: tape?.normBXhat, rstd: tape?.normBRstd)
            ffIn = x
        } else {
            layerNorm(rows: rows, x: h, norm: p.norm1, y: h, xhat: tape?.normAXhat, rstd: tape?.normARstd)
            ffIn = h
        }
        Kernels.linear(x: ffIn, rows: rows, inFeatures: c, weight: p.ffInWeight, bias: p.ffInBias, outFeatures: f,
                       y: ffPre)
        Kernels.gelu(x: ffPre, y: ff, count: rows * f)
        if let mask = tape?.actMask { Kernels.multiply(ff, by: mask, into: ff, count: rows * f) }
        addBranch(into: h, rows: rows, mask: tape?.ffOutMask, ws: ws) { y, accumulate in
            Kernels.linear(x: ff, rows: rows, inFeatures: f, weight: p.ffOutWeight, bias: p.ffOutBias, outFeatures: c,
                           y: y, accumulate: accumulate)
        }
        if !config.stableLayerNorm {
            layerNorm(rows: rows, x: h, norm: p.norm2, y: h, xhat: tape?.normBXhat, rstd: tape?.normBRstd)
        }
    }
}

extension SpeechEncoderConfig {
    /// Frames after the first `layers` conv layers.
    func frameCount(samples: Int, layers: Int) -> Int {
        var n = samples
        for (k, s) in zip(convKernel.prefix(layers), convStride.prefix(layers)) {
            guard n >= k else { return 0 }
            n = (n - k) / s + 1
        }
        return n
    }
}
