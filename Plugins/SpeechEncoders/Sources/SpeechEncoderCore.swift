import EmoPluginSDK
import EmoCore
import EmoModels
import Foundation

/// What the wav2vec2, HuBERT and WavLM components share: config parsing, checkpoint loading, batching, pooling.
///
/// Input `[.array([B, S])]` 16 kHz samples (or `[.array([S])]` for one clip), optionally `[.array([B])]` real
/// lengths; output `[.array([B, C])]` pooled embedding, then with `"hidden_states": true` `[.array([L+1, B, T, C])]`.
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

    /// The manifest every family shares (its description names the family's checkpoints; `modelTypes` are the
    /// `config.json` `model_type`s it loads, which `emo models import` reads to pick the component).
    static func manifest(_ description: String, modelTypes: [String]) -> JSONValue {
        .object([
            "description": .string(description),
            "model_types": .array(modelTypes.map { .string($0) }),
            "inputs": .array([
                .object(["name": "audio", "dims": .array(["B", "S"]), "dtype": "float32", "description": "16 kHz mono samples, zero-padded to the longest clip"]),
                .object(["name": "lengths", "dims": .array(["B"]), "dtype": "float32", "optional": true, "description": "real samples per clip (padding masked as Hugging Face does with attention_mask)"]),
            ]),
            "outputs": .array([
                .object(["name": "embedding", "dims": .array(["B", "C"]), "dtype": "float32", "description": "pooled over real frames"]),
                .object(["name": "hidden_states", "dims": .array(["L+1", "B", "T", "C"]), "dtype": "float32", "optional": true, "description": "every hidden state, index 0 = transformer input (with hidden_states: true)"]),
            ]),
            "trainable": false, "differentiable": true,
            "config": Config.schema,
        ])
    }

    /// The settings every family shares.
    struct Config: ComponentConfig {
        var model = "", pooling = Pooling.mean, layer = -1, layerWeights: [Double]?, hiddenStates = false, keepActivations = false
        var maxSeconds = 60.0
        static var fields: [ConfigField<Config>] {
            [.string("model", \.model, required: true, "name imported with `emo models import`, or a checkpoint folder (config.json + model.safetensors)"),
             .choice("pooling", \.pooling, "mean (last_hidden_state over frames) | layer (mean of hidden state `layer`) | weighted (softmax(layer_weights)-weighted sum of all hidden states, then mean)"),
             .int("layer", \.layer, "hidden state for pooling = layer (0 = transformer input, L = last layer, -1 = last_hidden_state)"),
             .numbers("layer_weights", \.layerWeights, "L+1 weights for pooling = weighted (null = equal)"),
             .bool("hidden_states", \.hiddenStates, "also output all hidden states [L+1, B, T, C]"),
             .bool("keep_activations", \.keepActivations, "keep what backward needs from every forward (about 40 MB per second of audio per clip for a base model), so backward after forward recomputes nothing: about twice as fast for gradient explainers; off, backward re-runs the forward and recomputes each layer (activation checkpointing)"),
             .number("max_seconds", \.maxSeconds, in: 1...3_600, "longest clip it runs, in seconds; a longer one is refused with an error rather than exhausting memory, which grows faster than the length (attention over all frames: peak about 1.2 GB at 30 s, 2.1 GB at 60 s, 4.5 GB at 120 s for a base model). Cut long recordings with the pipeline's audio.duration, or raise this where memory allows")]
        }
    }

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
        // The checkpoint's content hash joins the resolved config, so cached features follow the weights, not the name;
        // `max_seconds` changes no output, so it stays out (features cached before it existed stay valid).
        var resolved = c.json.merging(["checkpoint_sha256": .string(checkpoint)]).objectValue ?? [:]
        resolved["max_seconds"] = nil
        resolvedConfig = .object(resolved)
    }

    var resolvedDescription: JSONValue {
        .object(["config": resolvedConfig, "outputs": .array([
            .object(["name": "embedding", "shape": .array(["B", .number(Double(encoder.config.hiddenSize))])]),
        ]), "model": .object(["family": .string(family.rawValue), "layers": .number(Double(encoder.config.numLayers)),
                              "parameters": .number(Double(encoder.parameterCount))])])
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
        let taped = keepActivations && pooling == .mean
        do {
            // One critical section: the tape backward reads belongs to the `last` recorded beside it.
            lock.lock()
            defer { lock.unlock() }
            out = try encoder.forward(x, batch: b, samples: n, lengths: padded ? lengths : nil, recordTape: taped,
                                      keepHiddenStates: pooling != .mean || returnHidden)
            last = (x, b, n, padded ? lengths : nil, inputs.count > 1, taped)
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
