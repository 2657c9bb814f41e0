import EmoModels
import EmoTensor
import Foundation

/// Fine-tuning: a training forward that keeps what weight gradients need, and the weight terms of the backward.
///
/// Dimension legend: docs/numerics.md. Used here: `B` batch, `S` samples, `T` frames (`T_i` at conv layer `i`),
/// `C` hidden width, `C'` conv channels (`C_in`/`C_out`), `H` heads, `D` head width, `F` feed-forward width,
/// `K` taps, `G` groups.
///
/// ```swift
/// let scope = SpeechEncoder.TrainableScope.all(encoder.config)          // conv feature encoder frozen
/// let grads = encoder.makeGradients(for: scope)
/// let out = try encoder.trainingForward(x, batch: 2, samples: n, lengths: lengths, scope: scope)
/// try encoder.weightGradientsOfLastForward(pooledGrad: dPooled, into: grads)   // adds d loss / d weight
/// // optimiser step on encoder.parameters(in: scope) with grads.parameters; the next trainingForward
/// // re-derives the kernels' copies of the weights.
/// ```
///
/// Each linear layer's gradient is `Kernels.linearBackward` on the saved input; norms' `γ`/`β` gradients are
/// `Kernels.normAffineBackward` on the saved `xhat`; the conv layers' and the positional conv's are
/// `Kernels.conv1dChannelsLastWeightGradient`, the latter taken through weight norm to `g` and `v`. WavLM's gate
/// (`gru_rel_pos_linear`, `gru_rel_pos_const`) and its shared `rel_attn_embed` table are differentiated by hand.
extension SpeechEncoder {
    /// A forward pass in training mode: the derived weights the `scope` can change are re-derived first (an
    /// optimiser may have stepped), the whole tape is kept with the weight inputs, and the batch runs as one pass
    /// (not split across threads). With `dropoutRates` set, the dropouts are applied with masks from
    /// `dropoutGenerator` (`SpeechEncoder+Dropout.swift`), and so are LayerDrop and (with `specAugment`) time
    /// masking. Follow with `weightGradientsOfLastForward`. When the scope freezes the conv feature encoder its
    /// layers are not taped, so that backward cannot reach the input. `keepHiddenStates` as for `forward` (off by
    /// default: only `lastHiddenState` is returned).
    ///
    /// With `checkpointed` (activation checkpointing, `gradient_checkpointing` in `transformers`), only the front
    /// end's tape and the hidden states between layers are kept: every transformer layer runs through one layer's
    /// tape slot and is re-run from its saved input during backward, with the same dropout masks (the stream is
    /// saved per layer). The tape then holds one layer instead of all of them, for one more forward through the
    /// transformer; the re-run repeats the forward's arithmetic, so the gradients are the full tape's.
    public func trainingForward(_ input: [Float], batch: Int, samples: Int, lengths: [Int]? = nil,
                                scope: TrainableScope, keepHiddenStates: Bool = false,
                                checkpointed: Bool = false) throws -> SpeechEncoderOutput {
        refreshDerivedWeights(convLayers: scope.featureEncoder, positional: scope.frontEnd)
        recordsWeightInputs = true
        tapesConvLayers = scope.featureEncoder
        defer { recordsWeightInputs = false; tapesConvLayers = true }
        var out = try forward(input, batch: batch, samples: samples, lengths: lengths, keepConvFeatures: false,
                              depth: checkpointed ? .frontEnd : .full, keepHiddenStates: keepHiddenStates || checkpointed)
        checkpointHidden = checkpointed ? out.hiddenStates : []  // shared storage, not a copy
        if checkpointed && !keepHiddenStates { out.hiddenStates = [] }
        return out
    }

    /// Adds d(Σ_{b,c} pooledGrad[b, c] · meanPooled[b, c]) / d weight into `gradients` for the last forward, which
    /// must have been a `trainingForward`; returns d / d input `[B, S]` when `inputGradient`, else `[]` (and then
    /// the layers below the scope are not visited).
    @discardableResult
    public func weightGradientsOfLastForward(pooledGrad: [Float], into gradients: Gradients,
                                             inputGradient: Bool = false) throws -> [Float] {
        guard tapeShape?.depth == .frontEnd else {
            return try backward(pooledGrad: pooledGrad, hiddenStates: nil, gradients: gradients, inputGradient: inputGradient)
        }
        return try checkpointHidden.withUnsafeBufferPointer { hs in
            try backward(pooledGrad: pooledGrad, hiddenStates: hs.baseAddress, gradients: gradients, inputGradient: inputGradient)
        }
    }

    /// `refreshDerivedWeights`, limited to the parts that may have changed.
    func refreshDerivedWeights(convLayers: Bool, positional: Bool) {
        if convLayers { for i in convs.indices { Self.refresh(&convs[i]) } }
        if positional {
            posConvWeight = Self.positionalWeightTapsMajor(positionalWeight, channels: config.hiddenSize,
                                                           groupWidth: config.hiddenSize / config.posConvGroups,
                                                           kernel: config.posConvKernel)
        }
        if convLayers || positional { splitClones = [] }
    }

    // MARK: - Transformer layer

    /// `feed_forward.output_dense`: dW += dOutᵀ · gelu(pre), db += Σ dOut (the GELU output rebuilt from the tape).
    func ffnOutputWeightGradient(_ p: Layer, tape: LayerTape, dFfOut: UnsafePointer<Float>, rows: Int, into g: Gradients) {
        let (c, f) = (config.hiddenSize, config.intermediateSize)
        let act = workspace.buffer(.wAct, rows * f)  // [B·T, F]
        Kernels.gelu(x: tape.ffPre, y: act, count: rows * f)
        if let mask = tape.actMask { Kernels.multiply(act, by: mask, into: act, count: rows * f) }
        Kernels.linearBackward(x: act, gradOutput: dFfOut, rows: rows, inFeatures: f, outFeatures: c, weight: p.ffOutWeight,
                               gradWeight: g.of(p.ffOutWeight), gradBias: g.of(p.ffOutBias), gradInput: nil)
    }

    /// `feed_forward.intermediate_dense`: dW += dPreᵀ · u, db += Σ dPre, with u the FFN input rebuilt from its
    /// norm's `xhat` (pre-LN: `final_layer_norm`, post-LN: `layer_norm`).
    func ffnInputWeightGradient(_ p: Layer, tape: LayerTape, dPre: UnsafePointer<Float>, rows: Int, into g: Gradients) {
        let (c, f) = (config.hiddenSize, config.intermediateSize)
        let u = workspace.buffer(.wIn, rows * c)  // [B·T, C]
        let (xhat, norm) = config.stableLayerNorm ? (tape.normBXhat, p.norm2) : (tape.normAXhat, p.norm1)
        Self.affine(xhat, norm, rows: rows, into: u)
        Kernels.linearBackward(x: u, gradOutput: dPre, rows: rows, inFeatures: c, outFeatures: f, weight: p.ffInWeight,
                               gradWeight: g.of(p.ffInWeight), gradBias: g.of(p.ffInBias), gradInput: nil)
    }

    /// `y = xhat · γ + β` over `[rows, norm.count]`: a norm's output rebuilt from its saved `xhat`.
    static func affine(_ xhat: UnsafePointer<Float>, _ norm: Affine, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let n = norm.count
        for r in 0..<rows {
            let h = xhat + r * n, o = y + r * n
            for j in 0..<n { o[j] = h[j] * norm.weight[j] + norm.bias[j] }
        }
    }

    /// The attention block's weight terms, given d q|k|v `[B, T, 3C]`, the score gradients `dScores [B, H, T, T]`
    /// (rows past a clip's keys unset) and the gate gradients `dGate [B, T, H]`:
    /// - q|k|v (`trained` layers): dW += dqkvᵀ · x, db += Σ dqkv, x the saved attention input;
    /// - WavLM gate (`trained` layers): gate = a (b·const − 1) + 2 with a = σ(s0), b = σ(s1), s0/s1 the sums of
    ///   `gru_rel_pos_linear`'s rows 0–3 / 4–7 on the head's slice of x;
    /// - WavLM `rel_attn_embed` (when trained, from every layer): d table[bucket(k − q), h] += Σ_b gate · dS.
    func attentionWeightGradients(_ p: Layer, tape: LayerTape, dqkv: UnsafePointer<Float>, dScores: UnsafePointer<Float>,
                                  dGate: UnsafePointer<Float>, batch: Int, frames t: Int, keys: [Int],
                                  into grads: Gradients, trained: Bool) {
        let (c, nh, d) = (config.hiddenSize, config.numHeads, config.headDim)
        let rows = batch * t
        guard let x = tape.attnIn else { return }
        if trained {
            Kernels.linearBackward(x: x, gradOutput: dqkv, rows: rows, inFeatures: c, outFeatures: 3 * c, weight: p.qkvWeight,
                                   gradWeight: grads.of(p.qkvWeight), gradBias: grads.of(p.qkvBias), gradInput: nil)
        }
        guard let gate = p.gate else { return }
        if trained, let dW = grads.of(gate.weight), let dB = grads.of(gate.bias), let dConst = grads.of(gate.const) {
            for r in 0..<rows {
                for hh in 0..<nh {
                    let ga = tape.gateA[r * nh + hh], gb = tape.gateB[r * nh + hh], dg = dGate[r * nh + hh]
                    let ds0 = dg * (gb * gate.const[hh] - 1) * ga * (1 - ga)
                    let ds1 = dg * ga * gate.const[hh] * gb * (1 - gb)
                    dConst[hh] += dg * ga * gb
                    let xr = x + r * c + hh * d
                    for o in 0..<8 {
                        let ds = o < 4 ? ds0 : ds1
                        dB[o] += ds
                        let row = dW + o * d
                        for i in 0..<d { row[i] += ds * xr[i] }
                    }
                }
            }
        }
        if let dTable = grads.of(relativeEmbedding) {
            let half = config.numBuckets / 2, maxExact = half / 2
            let logRange = Float(log(Double(config.maxBucketDistance) / Double(maxExact)))
            var bucket = [Int](repeating: 0, count: t * t)  // [T, T] bucket of (query, key)
            for q in 0..<t { for k in 0..<t { bucket[q * t + k] = Self.relativeBucket(k - q, half: half, maxExact: maxExact, logRange: logRange) } }
            for b in 0..<batch {
                for hh in 0..<nh {
                    let ds = dScores + (b * nh + hh) * t * t
                    for q in 0..<t {
                        let r = b * t + q
                        let gq = tape.gateA[r * nh + hh] * (tape.gateB[r * nh + hh] * gate.const[hh] - 1) + 2
                        for k in 0..<keys[b] { dTable[bucket[q * t + k] * nh + hh] += gq * ds[q * t + k] }
                    }
                }
            }
        }
    }

    // MARK: - Positional convolution

    /// `encoder.pos_conv_embed.conv`'s gradients from `dz [B, T, C]` (d pre-activation) and its input
    /// `[B, T, C]`: the bias, then the weight (output frames 0 ..< T of the "same"-padded grouped conv; an even
    /// kernel's extra frame is dropped by the model and takes no gradient), taken through weight norm when the
    /// checkpoint stores `g` and `v`: with `n_k = ‖v[:, :, k]‖`, `dg_k = Σ dW·v / n_k` and
    /// `dv = (g_k / n_k)(dW − (dg_k / n_k) v)`.
    func positionalConvWeightGradient(_ dz: UnsafePointer<Float>, input: UnsafePointer<Float>, batch: Int, frames t: Int,
                                      into grads: Gradients) {
        let (c, kp, groups) = (config.hiddenSize, config.posConvKernel, config.posConvGroups)
        let cg = c / groups
        if let db = grads.of(posConvBias) {
            for r in 0..<(batch * t) { for o in 0..<c { db[o] += dz[r * c + o] } }
        }
        let geometry = Conv1dGeometry(inChannels: c, outChannels: c, kernelSize: kp, stride: 1, padding: kp / 2, groups: groups)
        let count = c * kp * cg
        let dw = workspace.buffer(.wPos, count)  // [C, K, C/G] taps-major
        dw.update(repeating: 0, count: count)
        let col = workspace.buffer(.wPosCol, Kernels.conv1dChannelsLastWeightGradientWorkspaceCount(geometry, outputFrames: t))
        for b in 0..<batch {
            Kernels.conv1dChannelsLastWeightGradient(geometry, inputLength: t, outputFrames: t, x: input + b * t * c,
                                                     gradOutput: dz + b * t * c, gradPackedWeight: dw, gradBias: nil,
                                                     workspace: col)
        }
        // dW[o, i, k] (checkpoint layout) = dw[(o·K + k)·C/G + i].
        switch positionalWeight {
        case .plain(let w):
            guard let gw = grads.of(w) else { return }
            for o in 0..<c { for i in 0..<cg { for k in 0..<kp { gw[(o * cg + i) * kp + k] += dw[(o * kp + k) * cg + i] } } }
        case .normalized(let g, let v):
            guard let gg = grads.of(g), let gv = grads.of(v) else { return }
            for k in 0..<kp {
                var ss = 0.0, dot = 0.0
                for o in 0..<c {
                    for i in 0..<cg {
                        let vv = Double(v[(o * cg + i) * kp + k])
                        ss += vv * vv
                        dot += Double(dw[(o * kp + k) * cg + i]) * vv
                    }
                }
                let n = ss.squareRoot()
                guard n > 0 else { continue }
                let dgk = dot / n
                gg[k] += Float(dgk)
                let scale = Double(g[k]) / n, shift = Double(g[k]) * dgk / (n * n)
                for o in 0..<c {
                    for i in 0..<cg {
                        let idx = (o * cg + i) * kp + k
                        gv[idx] += Float(scale * Double(dw[(o * kp + k) * cg + i]) - shift * Double(v[idx]))
                    }
                }
            }
        }
    }

    // MARK: - Conv feature encoder

    /// One chunk's running sums of the conv stack's gradients (clips of a chunk run on one thread; chunks are
    /// added together after the parallel region): per layer the packed weight `[C_out, K, C_in]`, the bias and the
    /// norm's `γ`/`β` `[C_out]` (nil where the layer has none).
    struct ConvGradientSums {
        var weight: [UnsafeMutablePointer<Float>]
        var bias: [UnsafeMutablePointer<Float>?]
        var norm: [(weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>)?]
        /// `[T_i, C_in]` scratch for a layer's input rebuilt from the tape.
        var input: UnsafeMutablePointer<Float>
    }

    /// Zeroed sums for `chunks` chunks, in workspace memory (allocate before the parallel region).
    func convGradientSums(_ grads: Gradients, chunks: Int) -> [ConvGradientSums] {
        let perChunk = convs.reduce(0) { $0 + $1.weight.count + 3 * $1.cout }
        let samples = tapeShape?.samples ?? 0
        let widest = convs.indices.map { config.frameCount(samples: samples, layers: $0 + 1) * convs[$0].cout }.max() ?? 1
        return (0..<chunks).map { chunk in
            let base = workspace.buffer(.wConvGrad(chunk), perChunk)
            base.update(repeating: 0, count: perChunk)
            var at = base
            var sums = ConvGradientSums(weight: [], bias: [], norm: [], input: workspace.buffer(.wConvIn(chunk), widest))
            for cl in convs {
                sums.weight.append(at); at += cl.weight.count
                sums.bias.append(cl.bias == nil ? nil : at); at += cl.cout
                sums.norm.append(cl.norm == nil ? nil : (weight: at, bias: at + cl.cout)); at += 2 * cl.cout
            }
            return sums
        }
    }

    /// Adds conv layer `i`'s weight and bias gradient for clip `b` (`dZ [T_i, C_out]`, d conv output) into the
    /// chunk's sums; the layer's input is the saved samples (layer 0) or the layer below's GELU output rebuilt
    /// from its tape.
    func convWeightGradient(_ i: Int, front: FrontTape, clip b: Int, samples: Int, dZ: UnsafePointer<Float>,
                            into sums: ConvGradientSums) {
        let cl = convs[i]
        let tOut = config.frameCount(samples: samples, layers: i + 1)
        let tIn = i == 0 ? samples : config.frameCount(samples: samples, layers: i)
        let x: UnsafePointer<Float>
        if i == 0 {
            guard let s = front.samples else { return }
            x = UnsafePointer(s + b * samples)
        } else {
            let below = convs[i - 1]
            let saved = front.conv[i - 1] + b * tIn * below.cout
            if let norm = below.norm {
                Self.affine(saved, norm, rows: tIn, into: sums.input)
                Kernels.gelu(x: sums.input, y: sums.input, count: tIn * below.cout)
            } else {
                Kernels.gelu(x: saved, y: sums.input, count: tIn * below.cout)
            }
            x = UnsafePointer(sums.input)
        }
        Kernels.conv1dChannelsLastWeightGradient(cl.geometry, inputLength: tIn, outputFrames: tOut, x: x, gradOutput: dZ,
                                                 gradPackedWeight: sums.weight[i], gradBias: sums.bias[i], workspace: nil)
    }

    /// Adds every chunk's sums into the conv stack's gradients (packed `[C_out, K, C_in]` → `[C_out, C_in, K]`).
    func addConvGradientSums(_ all: [ConvGradientSums], into grads: Gradients) {
        for (i, cl) in convs.enumerated() {
            for sums in all {
                if let gw = grads.of(cl.source) {
                    let w = sums.weight[i]
                    for o in 0..<cl.cout {
                        for k in 0..<cl.kernel {
                            for ci in 0..<cl.cin { gw[(o * cl.cin + ci) * cl.kernel + k] += w[(o * cl.kernel + k) * cl.cin + ci] }
                        }
                    }
                }
                if let gb = grads.of(cl.biasSource), let sb = sums.bias[i] { for o in 0..<cl.cout { gb[o] += sb[o] } }
                if let norm = cl.norm, let sn = sums.norm[i] {
                    if let gw = grads.of(norm.weight) { for o in 0..<cl.cout { gw[o] += sn.weight[o] } }
                    if let gb = grads.of(norm.bias) { for o in 0..<cl.cout { gb[o] += sn.bias[o] } }
                }
            }
        }
    }
}
