import EmoPluginSDK
import EmoCore
import EmoModels
import Foundation

/// The `whisper-encoder` component: 16 kHz clips → one embedding per clip from Whisper's encoder (any size, tiny …
/// large-v3, from a CTranslate2 folder such as Whisper tiny.en or a Hugging Face `WhisperModel` /
/// `WhisperForConditionalGeneration` folder), pooled over the frames that cover the real audio.
///
/// Two windows:
/// - `30s` (default, parity): the clip is padded to Whisper's 30 s window, as Whisper was trained and as
///   CTranslate2 and transformers run it; 1500 frames whatever the clip's length. Pooling still covers only the
///   `ceil(S / 320)` frames over the real audio, not the padding.
/// - `clip` (fast): the encoder runs on the clip's own `ceil(S / 320)` frames with the position table sliced to
///   them: a 3 s clip costs 150 frames instead of 1500. The frames see only the clip in attention, so the values
///   differ from the 30 s window's (it is not a parity mode).
///
/// Clips longer than 30 s are cut to their first 30 s (one window).
///
/// Inputs `[.array([B, S])]` (or `[.array([S])]`) 16 kHz samples, optionally `[.array([B])]` real lengths.
/// Outputs `[.array([B, C])]` (`[B, 2C]` with `mean-std` pooling), then with `hidden_states: true` `[.array([L + 1, B, T, C])]` (Hugging Face's
/// `hidden_states`: each layer's input, then the final-layer-norm output; frames past a clip's own length are 0
/// in `clip` mode).
public final class WhisperEncoder: EmbeddingEncoder, Sendable {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .encoder, id: "whisper-encoder", version: "1.0.0", displayName: "Whisper encoder",
        manifest: [
            "description": "Whisper's audio encoder (CTranslate2 Whisper folder such as Whisper tiny.en, or a Hugging Face Whisper checkpoint): log-mel front end, two convolutions, pre-norm transformer; pooled over the frames covering the real audio.",
            "model_types": ["whisper", "ctranslate2-whisper"],
            "inputs": [["name": "audio", "modality": "audio", "dims": ["B", "S"], "sample_rate": 16000],
                       ["name": "lengths", "dims": ["B"], "optional": true]],
            "outputs": [["name": "embedding", "modality": "audio", "dims": ["B", "C"]],
                        ["name": "hidden_states", "modality": "audio", "dims": ["L+1", "B", "T", "C"], "optional": true]],
            "config": [
                "model": ["type": "string", "default": "", "required": true, "description": "a name from `emo models list`, a CTranslate2 Whisper folder (model.bin, config.json, vocabulary.txt) or a Hugging Face one (config.json, model.safetensors)"],
                "window": ["type": "string", "default": "30s", "enum": ["30s", "clip"], "description": "30s: pad to Whisper's 30 s window (1500 frames; as Whisper, CTranslate2 and transformers run it). clip: the clip's own frames only, position table sliced (about 10x faster on 3 s clips; different values)"],
                "pooling": ["type": "string", "default": "mean", "enum": ["mean", "mean-std", "layer", "weighted"], "description": "mean (final output over the real frames) | mean-std (its mean, then its standard deviation over the real frames: [B, 2C]) | layer (mean of hidden state `layer`) | weighted (softmax(layer_weights)-weighted sum of all hidden states, then mean)"],
                "layer": ["type": "integer", "default": -1, "description": "hidden state for pooling = layer: 0 = first layer's input, L or -1 = final output"],
                "layer_weights": ["type": "array|null", "default": .null, "description": "L+1 weights for pooling = weighted (null = equal)"],
                "hidden_states": ["type": "boolean", "default": false, "description": "also output all hidden states [L+1, B, T, C]"],
            ],
            "trainable": false,
            "differentiable": false,
        ])

    /// How the window is chosen.
    public enum Window: String, Sendable, CaseIterable {
        /// Whisper's 30 s window (1500 frames).
        case thirtySeconds = "30s"
        /// The clip's own frames.
        case clip
    }

    /// How frames and layers become one vector.
    public enum Pooling: String, Sendable, CaseIterable {
        case mean, layer, weighted
        /// Mean then population standard deviation of the final output over the real frames (`[B, 2C]`).
        case meanStd = "mean-std"
    }

    /// The network (encoder and decoder; only the encoder runs here).
    public let model: WhisperModel
    /// 30 s or the clip's own length.
    public let window: Window
    /// Mean, layer or weighted.
    public let pooling: Pooling
    /// Hidden-state index for `layer` pooling (0 ... L).
    public let layer: Int
    /// Softmax-normalised weights for `weighted` pooling (L + 1).
    public let layerWeights: [Float]
    /// Whether the hidden states are returned.
    public let returnsHiddenStates: Bool
    /// Samples per encoder frame (hop 160 × conv2 stride 2).
    public static let samplesPerFrame = 320

    /// Loads the folder named by `config["model"]`.
    public init(config: JSONValue) throws {
        let id = Self.componentInfo.id
        let read = ConfigReader(config, info: Self.componentInfo)
        let folder = try read.string("model")
        guard !folder.isEmpty else {
            throw ComponentError.invalidConfig(component: id, message: "\"model\" must name a Whisper folder: CTranslate2 (model.bin, config.json, vocabulary.txt) or Hugging Face (config.json, model.safetensors)")
        }
        do {
            model = try WhisperModel(folder: ModelRegistry.standard().resolve(folder))
        } catch {
            throw ComponentError.io(component: id, path: folder, message: "\(error)")
        }
        window = try read.choice("window", as: Window.self)
        pooling = try read.choice("pooling", as: Pooling.self)
        let states = model.encoderLayers.count + 1
        let layer = try read.int("layer")
        guard layer >= -states, layer < states else {
            throw ComponentError.invalidConfig(component: id, message: "\"layer\" must be in -\(states)...\(states - 1) (0 = first layer's input, -1 = final output)")
        }
        self.layer = layer < 0 ? states + layer : layer
        let raw = read.has("layer_weights") ? try read.floats("layer_weights", count: states, in: -1e30...1e30)
                                            : [Float](repeating: 0, count: states)
        let top = raw.max() ?? 0
        let e = raw.map { Foundation.exp($0 - top) }
        let sum = e.reduce(0, +)
        layerWeights = e.map { $0 / sum }
        returnsHiddenStates = try read.bool("hidden_states")
    }

    /// The resolved config and output widths.
    public var resolvedDescription: JSONValue {
        let c = JSONValue.number(Double(model.width))
        let pooledWidth = JSONValue.number(Double(pooling == .meanStd ? 2 * model.width : model.width))
        var outputs: [JSONValue] = [["name": "embedding", "dims": ["B", pooledWidth]]]
        if returnsHiddenStates {
            outputs.append(["name": "hidden_states", "dims": [.number(Double(model.encoderLayers.count + 1)), "B", "T", c]])
        }
        return ["config": ["window": .string(window.rawValue), "pooling": .string(pooling.rawValue),
                           "layer": .number(Double(layer)), "layer_weights": .array(layerWeights.map { .number(Double($0)) }),
                           "hidden_states": .bool(returnsHiddenStates)],
                "outputs": .array(outputs),
                "model": ["layers": .number(Double(model.encoderLayers.count)), "width": c,
                          "mel_bins": .number(Double(model.melCount))]]
    }

    /// Encoder frames covering `samples` real samples (at least 1, at most 1500).
    public static func realFrames(samples: Int) -> Int {
        min(WhisperLogMel.frames / 2, max(1, (samples + samplesPerFrame - 1) / samplesPerFrame))
    }

    /// Encodes each clip, pools over its real frames.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        let id = Self.componentInfo.id
        guard let audio = inputs.first?.array, audio.rank == 1 || audio.rank == 2 else {
            throw ComponentError.invalidInput(component: id, message: "expected audio [B, S] (or [S]) of 16 kHz float32 samples")
        }
        let (b, n) = audio.rank == 1 ? (1, audio.shape[0]) : (audio.shape[0], audio.shape[1])
        var lengths = [Int](repeating: n, count: b)
        if inputs.count > 1, let l = inputs[1].array {
            guard l.count == b else { throw ComponentError.invalidInput(component: id, message: "lengths has \(l.count) values for \(b) clips") }
            lengths = l.data.map { Int($0) }
            guard lengths.allSatisfy({ $0 > 0 && $0 <= n }) else {
                throw ComponentError.invalidInput(component: id, message: "lengths must be in 1...\(n)")
            }
        }
        guard n > 0, b > 0 else {
            throw ComponentError.invalidInput(component: id, message: "the clip is empty (0 samples); Whisper's encoder needs at least one sample")
        }
        if let bad = audio.data.firstIndex(where: { !$0.isFinite }) {
            throw ComponentError.invalidInput(component: id, message: "sample \(bad % n) of clip \(bad / n) is \(audio.data[bad]); the audio must be finite")
        }
        let c = model.width, states = model.encoderLayers.count + 1
        let keep = pooling != .mean || returnsHiddenStates
        var encodings: [WhisperEncoding] = []
        for r in 0..<b {
            let clip = Array(audio.data[(r * n)..<(r * n + lengths[r])])
            let melFrames = window == .clip ? 2 * Self.realFrames(samples: clip.count) : WhisperLogMel.frames
            do {
                let mel = model.frontEnd.features(clip, frames: melFrames)
                encodings.append(try model.encode(mel: mel, melFrames: melFrames, keepHiddenStates: keep))
            } catch {
                throw ComponentError.invalidInput(component: id, message: "clip \(r): \(error)")
            }
        }
        let width = pooling == .meanStd ? 2 * c : c
        var pooled = [Float](repeating: 0, count: b * width)
        for (r, enc) in encodings.enumerated() {
            let real = min(enc.frames, Self.realFrames(samples: lengths[r]))
            /// Adds `weight` × the mean over the real frames of hidden state `index` (`L` = final output).
            func addMean(of rows: ArraySlice<Float>, weight: Float) {
                let base = rows.startIndex
                let scale = weight / Float(real)
                for j in 0..<real { for k in 0..<c { pooled[r * width + k] += scale * rows[base + j * c + k] } }
            }
            let per = enc.frames * c
            switch pooling {
            case .mean: addMean(of: enc.lastHiddenState[...], weight: 1)
            case .meanStd:
                addMean(of: enc.lastHiddenState[...], weight: 1)
                for k in 0..<c {
                    let m = Double(pooled[r * width + k])
                    var ss = 0.0
                    for j in 0..<real { let d = Double(enc.lastHiddenState[j * c + k]) - m; ss += d * d }
                    pooled[r * width + c + k] = Float((ss / Double(real)).squareRoot())
                }
            case .layer:
                guard let all = enc.hiddenStates else { break }
                addMean(of: all[(layer * per)..<((layer + 1) * per)], weight: 1)
            case .weighted:
                guard let all = enc.hiddenStates else { break }
                for l in 0..<states where layerWeights[l] != 0 { addMean(of: all[(l * per)..<((l + 1) * per)], weight: layerWeights[l]) }
            }
        }
        var outputs: [Value] = [.array(try NDArray(shape: [b, width], data: pooled))]
        if returnsHiddenStates {
            let t = encodings.map(\.frames).max() ?? 0
            var all = [Float](repeating: 0, count: states * b * t * c)
            for (r, enc) in encodings.enumerated() {
                guard let h = enc.hiddenStates else { continue }
                for l in 0..<states {
                    for j in 0..<enc.frames {
                        let src = (l * enc.frames + j) * c, dst = ((l * b + r) * t + j) * c
                        for k in 0..<c { all[dst + k] = h[src + k] }
                    }
                }
            }
            outputs.append(.array(try NDArray(shape: [states, b, t, c], data: all)))
        }
        return outputs
    }
}
