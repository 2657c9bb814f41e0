import EmoPluginSDK
import EmoCore
import EmoModels
import EmoTensor
import Foundation

/// What the wav2vec2, HuBERT and WavLM components share: config parsing, checkpoint loading, batching, pooling.
///
/// Input `[.array([B, S])]` 16 kHz samples (or `[.array([S])]` for one clip), optionally `[.array([B])]` real
/// lengths; output `[.array([B, C])]` pooled embedding, then with `"hidden_states": true` `[.array([L+1, B, T, C])]`.
///
/// Differentiable: `backward([d embedding [B, C]])` returns d audio `[B, S]` (mean pooling; weights untouched).
///
/// Trainable (`fine_tune` other than `frozen`, mean pooling): `parameters` are the weights in scope under Hugging
/// Face's names with their gradients; in training mode (`setTraining(true)`) a forward records a training tape and
/// `backward` adds d loss / d weight into the gradients and returns no input gradient (`[]`). The kernels' own
/// copies of the weights (taps-major convs, Winograd, the positional conv with weight norm applied, its spectra)
/// are re-derived at the start of every training forward and when training ends, so an optimiser may write the
/// parameters in place between steps. Training forwards apply the checkpoint's dropouts and SpecAugment time
/// masking and LayerDrop (`dropout: true`, all drawn from `seed`). The state is a safetensors file of every weight
/// under the checkpoint's names.
final class SpeechEncoderCore: @unchecked Sendable {
    /// How frames and layers become one vector per clip.
    enum Pooling: String, CaseIterable { case mean, layer, weighted }

    let id: String
    let family: SpeechEncoderConfig.Family
    let encoder: SpeechEncoder
    let pooling: Pooling
    let layer: Int
    let layerWeights: [Float]?
    let returnHidden: Bool
    /// Keep each forward's activations so backward recomputes nothing (config `keep_activations`).
    let keepActivations: Bool
    /// Longest clip in samples (config `max_seconds` at 16 kHz).
    let maxSamples: Int
    let resolvedConfig: JSONValue
    private let lock = NSLock()
    /// The last forward's normalised input `[B, S]`, its lengths (nil = unpadded), and shape: what backward needs.
    private var last: (x: [Float], batch: Int, samples: Int, lengths: [Int]?, hadLengths: Bool, taped: Bool)?
    /// Per clip `1 / sqrt(var + 1e-7)` of the last forward's raw audio (the normalisation's scale).
    private var lastScales: [Double] = []
    /// What fine-tuning updates (nil: frozen).
    let scope: SpeechEncoder.TrainableScope?
    /// d loss / d weight for `scope` (nil: frozen).
    let gradients: SpeechEncoder.Gradients?
    /// `fine_tune`, `seed`, `dropout`, `freeze_feature_encoder`, `gradient_checkpointing` as configured.
    let fineTune: String, seed: Int, dropout: Bool, freezeFeatureEncoder: Bool, checkpointed: Bool
    /// Training mode (forwards record a training tape; backward fills the weight gradients).
    private(set) var training = false
    /// Whether the last forward was a training forward (what `backward` differentiates then).
    private var lastWasTraining = false
    /// Set once weight gradients were handed out: an optimiser may have changed the weights since the kernels'
    /// copies were derived, so the next inference forward re-derives them.
    private var derivedMayBeStale = false

    /// The manifest every family shares (its description names the family's checkpoints; `modelTypes` are the
    /// `config.json` `model_type`s it loads, which `emo models import` reads to pick the component).
    static func manifest(_ description: String, modelTypes: [String]) -> JSONValue {
        .object([
            "description": .string(description),
            "model_types": .array(modelTypes.map { .string($0) }),
            "inputs": .array([
                .object(["name": "audio", "dims": .array(["B", "S"]), "dtype": "float32", "description": "16 kHz mono samples, zero-padded to the longest clip"]),
                .object(["name": "lengths", "dims": .array(["B"]), "dtype": "float32", "optional": true, "description": "real samples per clip (padding masked as Hugging Face does with attention_mask)"]),
                .object(["name": "clip_exact", "dims": .array([1]), "dtype": "float32", "optional": true, "description": "1: each clip's conv feature encoder runs on its own real samples, so every clip gets the embedding it gets alone (group-normed checkpoints otherwise take their first layer's statistics over the padding, as Hugging Face does); inference only, every clip at least one frame long. Batched extraction sends it"]),
            ]),
            "outputs": .array([
                .object(["name": "embedding", "dims": .array(["B", "C"]), "dtype": "float32", "description": "pooled over real frames"]),
                .object(["name": "hidden_states", "dims": .array(["L+1", "B", "T", "C"]), "dtype": "float32", "optional": true, "description": "every hidden state, index 0 = transformer input (with hidden_states: true)"]),
            ]),
            "trainable": true, "differentiable": true,
            "config": Config.schema,
        ])
    }

    /// The settings every family shares.
    struct Config: ComponentConfig {
        var model = "", pooling = Pooling.mean, layer = -1, layerWeights: [Double]?, hiddenStates = false, keepActivations = false
        var maxSeconds = 60.0
        var fineTune = "frozen", seed = 0, dropout = true, freezeFeatureEncoder = true, gradientCheckpointing = false
        static var fields: [ConfigField<Config>] {
            [.string("model", \.model, required: true, "name imported with `emo models import`, or a checkpoint folder (config.json + model.safetensors)"),
             .choice("pooling", \.pooling, "mean (last_hidden_state over frames) | layer (mean of hidden state `layer`) | weighted (softmax(layer_weights)-weighted sum of all hidden states, then mean)"),
             .int("layer", \.layer, "hidden state for pooling = layer (0 = transformer input, L = last layer, -1 = last_hidden_state)"),
             .numbers("layer_weights", \.layerWeights, "L+1 weights for pooling = weighted (null = equal)"),
             .bool("hidden_states", \.hiddenStates, "also output all hidden states [L+1, B, T, C]"),
             .bool("keep_activations", \.keepActivations, "keep what backward needs from every forward (about 40 MB per second of audio per clip for a base model), so backward after forward recomputes nothing: about twice as fast for gradient explainers; off, backward re-runs the forward and recomputes each layer (activation checkpointing)"),
             .number("max_seconds", \.maxSeconds, in: 1...3_600, "longest clip it runs, in seconds; a longer one is refused with an error rather than exhausting memory, which grows faster than the length (attention over all frames: peak about 1.2 GB at 30 s, 2.1 GB at 60 s, 4.5 GB at 120 s for a base model). Cut long recordings with the pipeline's audio.duration, or raise this where memory allows"),
             .string("fine_tune", \.fineTune, "what training updates: frozen (nothing; the embeddings can be cached), all (every weight above the conv feature encoder, and the conv feature encoder too when freeze_feature_encoder is false), or top-K (the top K transformer layers, e.g. top-2, and a pre-LN model's final encoder.layer_norm). Needs pooling mean"),
             .int("seed", \.seed, in: 0...Int.max, "seed of the dropout masks in training (fine_tune other than frozen)"),
             .bool("dropout", \.dropout, "while fine-tuning, apply the checkpoint's training-time regularisation: its dropouts (hidden_dropout, attention_dropout, activation_dropout, feat_proj_dropout), LayerDrop (layerdrop) and SpecAugment time masking (mask_time_prob, mask_time_length, mask_time_min_masks; needs masked_spec_embed in the checkpoint); false trains without any of them. Feature-axis masking (mask_feature_prob) is not applied"),
             .bool("freeze_feature_encoder", \.freezeFeatureEncoder, "with fine_tune all, keep the convolutional feature encoder frozen (Hugging Face's freeze_feature_encoder(), the usual choice); false trains it too"),
             .bool("gradient_checkpointing", \.gradientCheckpointing, "while fine-tuning, keep only the hidden states between transformer layers and re-run each layer during backward (Hugging Face's gradient_checkpointing): the training tape holds one layer instead of all of them (about 70 MB less per 3 s clip for a base model), for one more forward through the transformer; the gradients are the same")]
        }
    }

    /// The keys a frozen encoder leaves out of its resolved config, so features cached before fine-tuning existed
    /// keep their cache key.
    static let fineTuneKeys = ["fine_tune", "seed", "dropout", "freeze_feature_encoder", "gradient_checkpointing"]

    init(id: String, family: SpeechEncoderConfig.Family, config: JSONValue) throws {
        let c = try Config.read(config, component: id)
        func bad(_ m: String) -> ComponentError { .invalidConfig(component: id, message: m) }
        self.id = id
        self.family = family
        let model = c.model
        let checkpoint: String
        do {
            let folder = try ModelRegistry.standard().resolve(model)
            encoder = try SpeechEncoder(directory: folder)
            checkpoint = try CheckpointFingerprint.of(folder: folder)
        } catch let e as CheckpointError {
            throw ComponentError.io(component: id, path: model, message: e.description)
        }
        guard encoder.config.family == family else {
            throw bad("model '\(model)' is a \(encoder.config.family.rawValue) checkpoint; use the \(encoder.config.family.rawValue) component")
        }
        pooling = c.pooling
        layer = c.layer
        let nLayers = encoder.config.numLayers + 1
        guard layer >= -1, layer < nLayers else { throw bad("\"layer\" must be -1 or in 0...\(nLayers - 1)") }
        if let given = c.layerWeights, given.count != nLayers {
            throw bad("'layer_weights' must list \(nLayers) numbers (one per hidden state), got \(given.count)")
        }
        layerWeights = c.layerWeights?.map { Float($0) }
        returnHidden = c.hiddenStates
        keepActivations = c.keepActivations
        maxSamples = Int(c.maxSeconds * 16_000)
        fineTune = c.fineTune
        seed = c.seed
        dropout = c.dropout
        freezeFeatureEncoder = c.freezeFeatureEncoder
        checkpointed = c.gradientCheckpointing
        let scope = try Self.scope(c.fineTune, config: encoder.config, freezeFeatureEncoder: c.freezeFeatureEncoder, component: id)
        if scope != nil && c.pooling != .mean {
            throw bad("fine_tune \(c.fineTune) needs pooling mean (the training backward starts from the mean-pooled last_hidden_state)")
        }
        self.scope = scope
        let network = encoder
        network.dropoutGenerator = SeededGenerator(seed: UInt64(c.seed))
        gradients = scope.map { network.makeGradients(for: $0) }
        // The checkpoint's content hash joins the resolved config, so cached features follow the weights, not the name;
        // `max_seconds` changes no output, so it stays out (features cached before it existed stay valid), and so do
        // the fine-tuning keys of a frozen encoder (its features are what they were before fine-tuning existed).
        var resolved = c.json.merging(["checkpoint_sha256": .string(checkpoint)]).objectValue ?? [:]
        resolved["max_seconds"] = nil
        if scope == nil { for key in Self.fineTuneKeys { resolved[key] = nil } }
        resolvedConfig = .object(resolved)
    }

    /// `frozen` → nil, `all` → everything above the conv feature encoder (and it too unless
    /// `freezeFeatureEncoder`), `top-K` → the top K layers (1 ≤ K ≤ L).
    static func scope(_ text: String, config: SpeechEncoderConfig, freezeFeatureEncoder: Bool,
                      component: String) throws -> SpeechEncoder.TrainableScope? {
        switch text {
        case "frozen": return nil
        case "all": return .all(config, freezeFeatureEncoder: freezeFeatureEncoder)
        default:
            guard text.hasPrefix("top-"), let k = Int(text.dropFirst(4)), (1...config.numLayers).contains(k) else {
                throw ComponentError.invalidConfig(component: component, message: "\"fine_tune\" must be frozen, all or top-K with K in 1...\(config.numLayers) (this checkpoint's layers), found \"\(text)\"")
            }
            return .top(k)
        }
    }

    /// The weights in the fine-tuning scope with their gradient buffers (none when frozen).
    var parameters: [ParameterBuffer] {
        guard let scope, let gradients else { return [] }
        return zip(encoder.parameters(in: scope), gradients.parameters).map { w, g in
            ParameterBuffer(name: w.name, shape: w.shape, value: w.value, grad: g.value)
        }
    }

    /// Training mode: forwards record a training tape and backward fills the weight gradients (only when
    /// fine-tuning). Leaving it re-derives the kernels' copies of the (possibly updated) weights.
    func setTraining(_ on: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let was = training
        training = on && scope != nil
        encoder.dropoutRates = training && dropout ? SpeechEncoder.DropoutRates(encoder.config) : nil
        encoder.specAugment = training && dropout
        if was && !training {
            encoder.refreshDerivedWeights()
            derivedMayBeStale = false
        }
    }

    /// Every weight as a safetensors file under the checkpoint's names.
    /// A fine-tuned encoder also notes where its dropout / SpecAugment / LayerDrop stream stands (`EncoderState`), so
    /// training resumed from this state draws what the uninterrupted run would have.
    func saveState() -> [UInt8] { encoder.safetensors(randomState: scope == nil ? nil : encoder.dropoutGenerator.state) }

    /// `saveState`'s file laid out for writing in place (`DirectStateSaving`).
    func statePlan() -> SafeTensorsWriter.F32Plan {
        encoder.safetensorsPlan(randomState: scope == nil ? nil : encoder.dropoutGenerator.state)
    }

    /// Writes `saveState`'s bytes into `buffer` (`statePlan().byteCount` bytes).
    func writeState(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard statePlan().write(into: buffer) else {
            throw ComponentError.failed(component: id, message: "state buffer of \(buffer.count) bytes, the state has \(statePlan().byteCount)")
        }
    }

    /// Restores weights `saveState` wrote (or any safetensors checkpoint of the same architecture and storage).
    func loadState(_ bytes: [UInt8]) throws {
        lock.lock()
        defer { lock.unlock() }
        do {
            let state = try EncoderState.read(bytes)
            try encoder.load(weights: state.file)
            if let words = state.randomState { encoder.dropoutGenerator.state = words }
        } catch {
            throw ComponentError.invalidInput(component: id, message: "saved state is not this encoder's weights: \(error)")
        }
    }

    /// What fine-tuning costs in memory, for a host to estimate before training (null when frozen):
    /// `fixed_bytes` (weights, their gradients and an Adam-style optimiser's two moments for the trained ones), and per
    /// clip of T frames `bytes_per_token · T + bytes_per_token_squared · T²`: what a training forward's tape keeps
    /// (`trainingTapeFloats`, whose attention probabilities grow with T²; the two coefficients are solved from the
    /// tape at `max_seconds` and at half of it) plus the backward's scratch. `tokens_per_second` turns a clip length
    /// into T; `max_tokens` is T at `max_seconds`.
    var trainingMemory: JSONValue {
        guard let scope else { return .null }
        let all = encoder.parameters.reduce(0) { $0 + $1.count }
        let trained = encoder.parameters(in: scope).reduce(0) { $0 + $1.count }
        let (c, f, h) = (encoder.config.hiddenSize, encoder.config.intermediateSize, encoder.config.numHeads)
        func tape(_ samples: Int) -> (t: Double, floats: Double) {
            (Double(max(1, encoder.config.frameCount(samples: samples))),
             Double(encoder.trainingTapeFloats(batch: 1, samples: samples, convLayers: scope.featureEncoder,
                                               checkpointed: checkpointed)))
        }
        let (t1, f1) = tape(maxSamples), (t2, f2) = tape(maxSamples / 2)
        let squared = t1 == t2 ? 0 : max(0, (f1 / t1 - f2 / t2) / (t1 - t2))
        let linear = max(0, f1 / t1 - squared * t1)
        return ["fixed_bytes": .number(Double(4 * (all + 3 * trained))),
                "bytes_per_token": .number(4 * (linear + Double(4 * c + 2 * f))),  // + the backward's per-row buffers
                "bytes_per_token_squared": .number(4 * (squared + Double(2 * h))),
                "max_tokens": .number(t1), "tokens_per_second": .number(t1 * 16_000 / Double(maxSamples)),
                "token": "frame of 20 ms"]
    }

    /// What an inference forward costs in memory beyond the weights, for a host sizing batches: per clip of T frames
    /// `bytes_per_token · T + bytes_per_token_squared · T²` (the residual stream, fused QKV, context, FFN and conv
    /// features per frame; the attention scores per frame pair; every hidden state too with `hidden_states: true`),
    /// `bytes_per_thread_per_token` for the conv feature encoder's per-thread scratch at the longest clip's T, and
    /// `tokens_per_second` to turn seconds into T.
    var inferenceMemory: JSONValue {
        let cfg = encoder.config
        let (c, f, h, cc) = (cfg.hiddenSize, cfg.intermediateSize, cfg.numHeads, cfg.convOutputDim)
        let keptLayers = returnHidden || pooling != .mean ? cfg.numLayers + 1 : 1
        let perToken = Double(c * (keptLayers + 5) + f + 2 * cc + h)
        // The widest conv layer's output and its im2col, per final frame (its stride product over the first stride).
        let stride = cfg.convStride.reduce(1, *), first = cfg.convStride.first ?? 1
        let widest = cfg.convDim.max() ?? cc, k0 = cfg.convKernel.dropFirst().max() ?? 1
        let convPerToken = Double(stride / max(first, 1)) * Double(widest) * Double(2 + k0)
        return ["bytes_per_token": .number(4 * perToken), "bytes_per_token_squared": .number(Double(4 * 2 * h)),
                "bytes_per_thread_per_token": .number(4 * convPerToken),
                "tokens_per_second": .number(16_000 / Double(max(stride, 1))), "token": "frame of 20 ms"]
    }

    var resolvedDescription: JSONValue {
        var out: [String: JSONValue] = ["config": resolvedConfig, "outputs": .array([
            .object(["name": "embedding", "dims": .array(["B", .number(Double(encoder.config.hiddenSize))])]),
        ]), "model": .object(["family": .string(family.rawValue), "layers": .number(Double(encoder.config.numLayers)),
                              "parameters": .number(Double(encoder.parameterCount))]),
            "inference_memory": inferenceMemory]
        if scope != nil { out["training_memory"] = trainingMemory }
        return .object(out)
    }

    func forward(_ inputs: [Value]) throws -> [Value] {
        guard let audio = inputs.first?.array, audio.rank == 1 || audio.rank == 2 else {
            throw ComponentError.invalidInput(component: id, message: "expected audio [B, N] (or [N]) float32 samples")
        }
        let (b, n) = audio.rank == 1 ? (1, audio.shape[0]) : (audio.shape[0], audio.shape[1])
        var lengths = Array(repeating: n, count: b)
        if inputs.count > 1, let l = inputs[1].array {
            guard l.count == b else { throw ComponentError.invalidInput(component: id, message: "lengths has \(l.count) values for \(b) clips") }
            lengths = l.data.map { Int($0) }
            guard lengths.allSatisfy({ $0 > 0 && $0 <= n }) else {
                throw ComponentError.invalidInput(component: id, message: "lengths must be in 1...\(n)")
            }
        }
        // Optional input 2: clip-exact batching (see the manifest), an inference-only request.
        let clipExact = inputs.count > 2 && (inputs[2].array?.data.first ?? 0) >= 0.5
        if clipExact && training {
            throw ComponentError.invalidInput(component: id, message: "clip_exact is for inference; switch training off first")
        }
        if clipExact, let short = lengths.firstIndex(where: { encoder.config.frameCount(samples: $0) < 1 }) {
            throw ComponentError.invalidInput(component: id, message: "clip \(short) has \(lengths[short]) samples, too few for one frame of this encoder (at least \(Self.minimumSamples(encoder.config)))")
        }
        if let longest = lengths.max(), longest > maxSamples {
            throw ComponentError.invalidInput(component: id, message: String(format: "a clip of %.1f s is longer than max_seconds (%.0f s): memory grows faster than the length (about 4.5 GB at 120 s for a base model). Cut it (the pipeline's audio.duration) or raise max_seconds in the ", Double(longest) / 16_000, Double(maxSamples) / 16_000) + "\(id) config")
        }
        var x = audio.data
        var scales = [Double](repeating: 1, count: b)
        for bi in 0..<b {
            let len = lengths[bi]
            var mean = 0.0, ss = 0.0
            for i in 0..<len { mean += Double(x[bi * n + i]) }
            mean /= Double(max(len, 1))
            for i in 0..<len { let d = Double(x[bi * n + i]) - mean; ss += d * d }
            scales[bi] = 1 / (ss / Double(max(len, 1)) + 1e-7).squareRoot()
        }
        encoder.preprocessor.apply(&x, batch: b, samples: n, lengths: lengths)
        let padded = lengths.contains { $0 < n }
        let out: SpeechEncoderOutput
        // A clip-exact forward keeps no tape: a backward after it re-runs the forward (checkpointing) instead.
        let taped = keepActivations && pooling == .mean && !clipExact
        do {
            // One critical section: the tape backward reads belongs to the `last` recorded beside it.
            lock.lock()
            defer { lock.unlock() }
            if training, let scope {
                out = try encoder.trainingForward(x, batch: b, samples: n, lengths: padded ? lengths : nil, scope: scope,
                                                  keepHiddenStates: returnHidden, checkpointed: checkpointed)
            } else {
                if derivedMayBeStale {
                    encoder.refreshDerivedWeights()
                    derivedMayBeStale = false
                }
                out = try encoder.forward(x, batch: b, samples: n, lengths: padded ? lengths : nil, recordTape: taped,
                                          keepHiddenStates: pooling != .mean || returnHidden, clipExact: clipExact)
            }
            lastWasTraining = training
            // After a clip-exact forward (whose front end differs from the padded one) backward has nothing to use.
            last = clipExact && padded ? nil : (x, b, n, padded ? lengths : nil, inputs.count > 1, taped)
            lastScales = scales
        } catch {
            throw ComponentError.invalidInput(component: id, message: "\(error)")
        }
        let pooled: [Float]
        switch pooling {
        case .mean: pooled = out.meanPooled()
        case .layer: pooled = out.meanPooled(layer: layer)
        case .weighted:
            do { pooled = try out.weightedSumPooled(weights: layerWeights ?? Array(repeating: 0, count: out.layers)) } catch {
                throw ComponentError.invalidConfig(component: id, message: "\(error)")
            }
        }
        var result: [Value] = [.array(try NDArray(shape: audio.rank == 1 ? [out.channels] : [b, out.channels], data: pooled))]
        if returnHidden {
            result.append(.array(try NDArray(shape: [out.layers, b, out.frames, out.channels], data: out.hiddenStates)))
        }
        return result
    }

    /// The fewest samples that give one frame (the conv stack's receptive field).
    static func minimumSamples(_ config: SpeechEncoderConfig) -> Int {
        var n = 1
        for (k, s) in zip(config.convKernel, config.convStride).reversed() { n = (n - 1) * s + k }
        return n
    }

    /// d loss / d audio for the last forward, given d loss / d embedding (`mean` pooling only; the hidden-states
    /// output, if any, takes no gradient). Goes back through the input normalisation too.
    func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        guard pooling == .mean else {
            throw ComponentError.unsupported(component: id, call: "backward with pooling \(pooling.rawValue) (use pooling mean)")
        }
        lock.lock()
        defer { lock.unlock() }
        guard let last else {
            throw ComponentError.invalidInput(component: id, message: "backward called before forward")
        }
        guard let g = gradOutputs.first, g.count == last.batch * encoder.config.hiddenSize else {
            throw ComponentError.invalidInput(component: id, message: "expected one gradient [B, C] = [\(last.batch), \(encoder.config.hiddenSize)]")
        }
        if lastWasTraining, let gradients {
            // A training forward: d loss / d weight into the gradients, no input gradient.
            do {
                try encoder.weightGradientsOfLastForward(pooledGrad: g.data, into: gradients)
            } catch {
                throw ComponentError.failed(component: id, message: "\(error)")
            }
            derivedMayBeStale = true
            return []
        }
        let dx: [Float]
        do {
            if last.taped {
                dx = try encoder.inputGradientOfLastForward(pooledGrad: g.data)
            } else {
                dx = try encoder.inputGradient(last.x, batch: last.batch, samples: last.samples, lengths: last.lengths,
                                               pooledGrad: g.data, checkpointed: true).gradient
            }
        } catch {
            throw ComponentError.failed(component: id, message: "\(error)")
        }
        var grad = dx
        if encoder.preprocessor.normalize {
            // y = (x − μ) s over the real samples, s = (var + 1e-7)^-1/2: dx = s (dy − mean dy − y mean(dy y)).
            let n = last.samples
            for b in 0..<last.batch {
                let len = last.lengths?[b] ?? n
                var mdy: Double = 0, mdyy: Double = 0
                for i in 0..<len { mdy += Double(dx[b * n + i]); mdyy += Double(dx[b * n + i]) * Double(last.x[b * n + i]) }
                mdy /= Double(max(len, 1))
                mdyy /= Double(max(len, 1))
                let s = normalisationScale(batchIndex: b, length: len)
                for i in 0..<len {
                    let yy = Double(last.x[b * n + i])
                    grad[b * n + i] = Float(s * (Double(dx[b * n + i]) - mdy - yy * mdyy))
                }
                for i in len..<n { grad[b * n + i] = 0 }
            }
        }
        let shape = last.batch == 1 && gradOutputs[0].rank == 1 ? [last.samples] : [last.batch, last.samples]
        var result = [try NDArray(shape: shape, data: grad)]
        if last.hadLengths { result.append(NDArray(zeros: [last.batch])) }
        return result
    }

    /// `s = 1 / sqrt(var + 1e-7)` of clip `b`'s raw samples (kept from the last forward).
    private func normalisationScale(batchIndex b: Int, length: Int) -> Double {
        lastScales.indices.contains(b) ? lastScales[b] : 1
    }
}
