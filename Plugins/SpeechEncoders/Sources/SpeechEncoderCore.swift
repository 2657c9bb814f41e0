import EmoCore
import EmoModels
import Foundation

/// What the wav2vec2, HuBERT and WavLM components share: config parsing, checkpoint loading, batching, pooling.
///
/// Input `[.array([B, N])]` 16 kHz samples (or `[.array([N])]` for one clip), optionally `[.array([B])]` real
/// lengths; output `[.array([B, C])]` pooled embedding, then with `"hidden_states": true` `[.array([L+1, B, T, C])]`.
final class SpeechEncoderCore: @unchecked Sendable {
    /// How frames and layers become one vector per clip.
    enum Pooling: String { case mean, layer, weighted }

    let id: String
    let family: SpeechEncoderConfig.Family
    let encoder: SpeechEncoder
    let pooling: Pooling
    let layer: Int
    let layerWeights: [Float]?
    let returnHidden: Bool
    let resolvedConfig: JSONValue
    private let lock = NSLock()

    /// The manifest every family shares (its description names the family's checkpoints).
    static func manifest(_ description: String) -> JSONValue {
        func opt(_ type: String, _ d: JSONValue, _ text: String) -> JSONValue {
            .object(["type": .string(type), "default": d, "description": .string(text)])
        }
        return .object([
            "description": .string(description),
            "inputs": .array([
                .object(["name": "audio", "dims": .array(["B", "N"]), "dtype": "float32", "description": "16 kHz mono samples, zero-padded to the longest clip"]),
                .object(["name": "lengths", "dims": .array(["B"]), "dtype": "float32", "optional": true, "description": "real samples per clip (padding masked as Hugging Face does with attention_mask)"]),
            ]),
            "outputs": .array([
                .object(["name": "embedding", "dims": .array(["B", "C"]), "dtype": "float32", "description": "pooled over real frames"]),
                .object(["name": "hidden_states", "dims": .array(["L+1", "B", "T", "C"]), "dtype": "float32", "optional": true, "description": "every hidden state, index 0 = transformer input (with hidden_states: true)"]),
            ]),
            "trainable": false, "differentiable": false,
            "config": .object([
                "model": opt("string", "", "name imported with `emo models import`, or a checkpoint folder (config.json + model.safetensors)"),
                "pooling": opt("string", "mean", "mean (last_hidden_state over frames) | layer (mean of hidden state `layer`) | weighted (softmax(layer_weights)-weighted sum of all hidden states, then mean)"),
                "layer": opt("integer", -1, "hidden state for pooling = layer (0 = transformer input, L = last layer, -1 = last_hidden_state)"),
                "layer_weights": opt("array|null", .null, "L+1 weights for pooling = weighted (null = equal)"),
                "hidden_states": opt("boolean", false, "also output all hidden states [L+1, B, T, C]"),
            ]),
        ])
    }

    init(id: String, family: SpeechEncoderConfig.Family, config: JSONValue, defaults: JSONValue) throws {
        let cfg = defaults.merging(config)
        func bad(_ m: String) -> ComponentError { .invalidConfig(component: id, message: m) }
        self.id = id
        self.family = family
        guard let model = cfg["model"]?.stringValue, !model.isEmpty else {
            throw bad("\"model\" is required: a name from `emo models list` or a Hugging Face checkpoint folder")
        }
        do {
            let folder = try ModelRegistry.standard().resolve(model)
            encoder = try SpeechEncoder(directory: folder)
        } catch let e as CheckpointError {
            throw ComponentError.io(component: id, path: model, message: e.description)
        }
        guard encoder.config.family == family else {
            throw bad("model '\(model)' is a \(encoder.config.family.rawValue) checkpoint; use the \(encoder.config.family.rawValue) component")
        }
        guard let p = Pooling(rawValue: cfg["pooling"]?.stringValue ?? "mean") else {
            throw bad("\"pooling\" must be mean, layer or weighted")
        }
        pooling = p
        layer = cfg["layer"]?.intValue ?? -1
        let nLayers = encoder.config.numLayers + 1
        guard layer >= -1, layer < nLayers else { throw bad("\"layer\" must be -1 or in 0...\(nLayers - 1)") }
        if let w = cfg["layer_weights"]?.arrayValue {
            let ws = w.compactMap(\.doubleValue).map(Float.init)
            guard ws.count == nLayers, w.count == nLayers else { throw bad("\"layer_weights\" needs \(nLayers) numbers") }
            layerWeights = ws
        } else {
            layerWeights = nil
        }
        returnHidden = cfg["hidden_states"]?.boolValue ?? false
        resolvedConfig = cfg
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
        var x = audio.data
        encoder.preprocessor.apply(&x, batch: b, samples: n, lengths: lengths)
        let padded = lengths.contains { $0 < n }
        let out: SpeechEncoderOutput
        do {
            lock.lock()
            defer { lock.unlock() }
            out = try encoder.forward(x, batch: b, samples: n, lengths: padded ? lengths : nil)
        } catch {
            throw ComponentError.invalidInput(component: id, message: "\(error)")
        }
        let pooled: [Float]
        switch pooling {
        case .mean: pooled = out.meanPooled()
        case .layer: pooled = out.meanPooled(layer: layer)
        case .weighted: pooled = out.weightedSumPooled(weights: layerWeights ?? Array(repeating: 0, count: out.layers))
        }
        var result: [Value] = [.array(try NDArray(shape: [b, out.channels], data: pooled))]
        if returnHidden {
            result.append(.array(try NDArray(shape: [out.layers, b, out.frames, out.channels], data: out.hiddenStates)))
        }
        return result
    }
}
