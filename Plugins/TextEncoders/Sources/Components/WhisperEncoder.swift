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
/// Differentiable: `backward([d embedding])` after a forward returns `[d audio [B, S]]` through the pooling, every
/// layer, the convolutions and the log-mel front end (STFT power, mel filters, log10 and its floor), re-running each
/// clip's forward with a tape (weights frozen), so Integrated Gradients and Occlusion work through it as through
/// wav2vec2.
///
/// Trainable (`fine_tune` other than `frozen`: `all` — every encoder weight, or with `freeze_conv` all but the two
/// convolutions — or `top-K`, the top K layers and the final layer norm; the sinusoidal positions are never
/// trained): `parameters` are the weights in scope under Hugging Face's names with their gradients. In training
/// mode (`setTraining(true)`) a forward over `[.array([B, S]), .array([B]) lengths]` records one tape per clip,
/// and `backward([d embedding [B, C]])` adds d loss / d weight, summed over the clips, into the gradients and
/// returns no input gradient. The state is a safetensors file of the encoder under Hugging Face's
/// `WhisperForConditionalGeneration` names (`model.encoder.…`, also for a CTranslate2 source). Whisper checkpoints
/// train without dropout (their configs set 0.0), so `seed` changes nothing yet. A frozen component behaves and
/// resolves exactly as before fine-tuning existed.
///
/// Inputs `[.array([B, S])]` (or `[.array([S])]`) 16 kHz samples, optionally `[.array([B])]` real lengths.
/// Outputs `[.array([B, C])]` (`[B, 2C]` with `mean-std` pooling), then with `hidden_states: true` `[.array([L + 1, B, T, C])]` (Hugging Face's
/// `hidden_states`: each layer's input, then the final-layer-norm output; frames past a clip's own length are 0
/// in `clip` mode).
public final class WhisperEncoder: EmbeddingEncoder, TrainableComponent, @unchecked Sendable {
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
            "config": Config.schema,
            "trainable": true,
            "differentiable": true,
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

    /// The settings.
    struct Config: ComponentConfig {
        var model = "", window = Window.thirtySeconds, pooling = Pooling.mean, layer = -1
        var layerWeights: [Double]?, hiddenStates = false
        var fineTune = "frozen", seed = 0, freezeConv = false, gradientCheckpointing = false
        static var fields: [ConfigField<Config>] {
            [.string("model", \.model, required: true, "a name from `emo models list`, a CTranslate2 Whisper folder (model.bin, config.json, vocabulary.txt) or a Hugging Face one (config.json, model.safetensors)"),
             .choice("window", \.window, "30s: pad to Whisper's 30 s window (1500 frames; as Whisper, CTranslate2 and transformers run it). clip: the clip's own frames only, position table sliced (about 10x faster on 3 s clips; different values)"),
             .choice("pooling", \.pooling, "mean (final output over the real frames) | mean-std (its mean, then its standard deviation over the real frames: [B, 2C]) | layer (mean of hidden state `layer`) | weighted (softmax(layer_weights)-weighted sum of all hidden states, then mean)"),
             .int("layer", \.layer, "hidden state for pooling = layer: 0 = first layer's input, L or -1 = final output"),
             .numbers("layer_weights", \.layerWeights, "L+1 weights for pooling = weighted (null = equal)"),
             .bool("hidden_states", \.hiddenStates, "also output all hidden states [L+1, B, T, C]"),
             .string("fine_tune", \.fineTune, "what training updates: frozen (nothing; the embeddings can be cached), all (every encoder weight but the sinusoidal positions), or top-K (the top K layers and the final layer norm, e.g. top-2)"),
             .int("seed", \.seed, in: 0...Int.max, "seed of training's random draws (Whisper trains without dropout, so none are drawn yet)"),
             .bool("freeze_conv", \.freezeConv, "with fine_tune all: keep the two convolutions frozen"),
             .bool("gradient_checkpointing", \.gradientCheckpointing, "while fine-tuning, keep only each layer's input and re-run the layer during backward (Hugging Face's gradient_checkpointing): one layer's activations in memory instead of all of them (in the 30 s window about 70 MB per layer and clip for tiny, whose attention probabilities dominate), one more forward through the layers per step; the gradients are the same")]
        }
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
    /// The model folder's content hash (`CheckpointFingerprint`), part of the resolved config.
    public let checkpoint: String
    /// Samples per encoder frame (hop 160 × conv2 stride 2).
    public static let samplesPerFrame = 320
    /// The last forward's audio `[B, S]`, shape and real lengths (what `backward` differentiates).
    private var last: (audio: [Float], batch: Int, samples: Int, lengths: [Int])?
    /// What fine-tuning updates (nil: frozen).
    public let scope: WhisperModel.TrainableScope?
    /// d loss / d weight for `scope` (nil: frozen).
    public let gradients: WhisperEncoderGradients?
    /// The `seed`, `fine_tune`, `freeze_conv` and `gradient_checkpointing` config values (in the resolved config of a
    /// trainable encoder).
    private let seed: Int, fineTune: String, freezeConv: Bool, checkpointed: Bool
    /// Training mode: forwards recorded for a weight backward (only when fine-tuning).
    public private(set) var training = false
    /// The last training forward: per clip its tape, encoding and real frames (what `backward` differentiates).
    private var recorded: [(tape: WhisperEncoderTape, encoding: WhisperEncoding, real: Int)]?
    private let lock = NSLock()

    /// Loads the folder named by `config["model"]`.
    public init(config: JSONValue) throws {
        let id = Self.componentInfo.id
        let c = try Config.read(config, component: id)
        let folder = c.model
        do {
            let resolved = try ModelRegistry.standard().resolve(folder)
            model = try WhisperModel(folder: resolved)
            checkpoint = try CheckpointFingerprint.of(folder: resolved)
        } catch {
            throw ComponentError.io(component: id, path: folder, message: "\(error)")
        }
        window = c.window
        pooling = c.pooling
        let states = model.encoderLayers.count + 1
        let layer = c.layer
        guard layer >= -states, layer < states else {
            throw ComponentError.invalidConfig(component: id, message: "\"layer\" must be in -\(states)...\(states - 1) (0 = first layer's input, -1 = final output)")
        }
        self.layer = layer < 0 ? states + layer : layer
        let given = c.layerWeights ?? [Double](repeating: 0, count: states)
        guard given.count == states else {
            throw ComponentError.invalidConfig(component: id, message: "'layer_weights' must list \(states) numbers (one per hidden state), got \(given.count)")
        }
        let raw = given.map { Float($0) }
        let top = raw.max() ?? 0
        let e = raw.map { Foundation.exp($0 - top) }
        let sum = e.reduce(0, +)
        layerWeights = e.map { $0 / sum }
        returnsHiddenStates = c.hiddenStates
        seed = c.seed
        fineTune = c.fineTune
        freezeConv = c.freezeConv
        checkpointed = c.gradientCheckpointing
        let scope = try Self.scope(c.fineTune, freezeConv: c.freezeConv, layers: model.encoderLayers.count)
        self.scope = scope
        let network = model
        gradients = scope.map { network.makeEncoderGradients(for: $0) }
    }

    /// `frozen` → nil, `all` → every encoder weight (the convolutions unless `freezeConv`), `top-K` → the top K
    /// layers and the final layer norm (1 ≤ K ≤ L).
    static func scope(_ text: String, freezeConv: Bool, layers: Int) throws -> WhisperModel.TrainableScope? {
        switch text {
        case "frozen": return nil
        case "all": return .init(layers: layers, convolutions: !freezeConv)
        default:
            guard text.hasPrefix("top-"), let k = Int(text.dropFirst(4)), (1...layers).contains(k) else {
                throw ComponentError.invalidConfig(component: componentInfo.id, message: "\"fine_tune\" must be frozen, all or top-K with K in 1...\(layers) (this checkpoint's encoder layers), found \"\(text)\"")
            }
            return .init(layers: k, convolutions: false)
        }
    }

    /// The resolved config and output widths.
    public var resolvedDescription: JSONValue {
        let c = JSONValue.number(Double(model.width))
        let pooledWidth = JSONValue.number(Double(pooling == .meanStd ? 2 * model.width : model.width))
        var outputs: [JSONValue] = [["name": "embedding", "dims": ["B", pooledWidth]]]
        if returnsHiddenStates {
            outputs.append(["name": "hidden_states", "dims": [.number(Double(model.encoderLayers.count + 1)), "B", "T", c]])
        }
        var config: [String: JSONValue] = [
            "window": .string(window.rawValue), "pooling": .string(pooling.rawValue),
            "layer": .number(Double(layer)), "layer_weights": .array(layerWeights.map { .number(Double($0)) }),
            "hidden_states": .bool(returnsHiddenStates), "checkpoint_sha256": .string(checkpoint)]
        var description: [String: JSONValue] = [
            "outputs": .array(outputs),
            "model": ["layers": .number(Double(model.encoderLayers.count)), "width": c, "mel_bins": .number(Double(model.melCount))]]
        if scope != nil {  // a frozen encoder's resolved config (the feature cache's key) stays as it always was
            config["fine_tune"] = .string(fineTune)
            config["seed"] = .number(Double(seed))
            config["freeze_conv"] = .bool(freezeConv)
            config["gradient_checkpointing"] = .bool(checkpointed)
            description["training_memory"] = trainingMemory
        }
        description["config"] = .object(config)
        return .object(description)
    }

    /// What fine-tuning costs in memory, for a host to estimate before training (the text encoders' keys):
    /// `fixed_bytes` (every weight, the decoder's included, plus the trained ones' gradients and an Adam-style
    /// optimiser's two moments) and `bytes_per_token` per encoder frame of one clip (`max_tokens` frames: 1500, the
    /// 30 s window, also the bound in `clip` mode): its tape (per layer two norms' inputs and statistics, q|k|v, a
    /// T-long row of attention probabilities per head, the feed-forward input; the conv stack's inputs and
    /// pre-activations), its hidden states, and the backward's scratch; with `gradient_checkpointing`, one layer's
    /// record and each layer's input instead of every layer's record. Null when frozen.
    var trainingMemory: JSONValue {
        guard let scope else { return .null }
        let c = model.width, h = model.heads, m = model.melCount, l = model.encoderLayers.count
        let f = model.encoderLayers.first?.ffnIn.outFeatures ?? 4 * c, t = WhisperLogMel.frames / 2
        let trained = model.encoderParameters(in: scope).reduce(0) { $0 + $1.count }
        let perLayer = 2 * (c + 2) + 3 * c + h * t + f
        let conv = 2 * m + 2 * c + 2 * c + c + (c + 2)
        let scratch = 2 * f + 9 * c + t + 2 * c + max(12 * m, 6 * c)
        // Checkpointed: one layer's record (the backward's re-run) and each layer's input instead of every record.
        let perFrame = (checkpointed ? perLayer + l * c : l * perLayer) + conv + (l + 2) * c + scratch
        return ["fixed_bytes": .number(Double(4 * (model.weightCount + 3 * trained))),
                "bytes_per_token": .number(Double(4 * perFrame)), "max_tokens": .number(Double(t))]
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
        lock.withLock { last = (audio.data, b, n, lengths); recorded = nil }
        let records = lock.withLock { training }
        let c = model.width, states = model.encoderLayers.count + 1
        // Every hidden state is kept only when the pooling or the output reads them (mean and mean-std read the last).
        let keep = pooling == .layer || pooling == .weighted || returnsHiddenStates
        var encodings: [WhisperEncoding] = []
        var tapes: [WhisperEncoderTape] = []
        for r in 0..<b {
            let clip = Array(audio.data[(r * n)..<(r * n + lengths[r])])
            let melFrames = window == .clip ? 2 * Self.realFrames(samples: clip.count) : WhisperLogMel.frames
            do {
                let mel = model.frontEnd.features(clip, frames: melFrames)
                let tape = records ? WhisperEncoderTape(checkpointed: checkpointed) : nil
                encodings.append(try model.encode(mel: mel, melFrames: melFrames, keepHiddenStates: keep, tape: tape))
                if let tape { tapes.append(tape) }
            } catch {
                throw ComponentError.invalidInput(component: id, message: "clip \(r): \(error)")
            }
        }
        if records {
            let clips = zip(tapes, encodings).enumerated().map { r, e in
                (tape: e.0, encoding: e.1, real: min(e.1.frames, Self.realFrames(samples: lengths[r])))
            }
            lock.withLock { recorded = clips }
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

    /// d embedding `[B, C]` (`[B, 2C]` for mean-std) → d audio `[B, S]` of the last forward; after a training
    /// forward, d loss / d weight added into `gradients` (summed over the clips) and no input gradient.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        let id = Self.componentInfo.id
        guard let (audio, b, n, lengths) = lock.withLock({ last }) else {
            throw ComponentError.invalidInput(component: id, message: "backward needs a forward first")
        }
        let c = model.width, width = pooling == .meanStd ? 2 * c : c
        guard gradOutputs.count == 1, gradOutputs[0].shape == [b, width] else {
            throw ComponentError.invalidInput(component: id, message: "backward takes one gradient [\(b), \(width)] of the pooled embedding")
        }
        if let clips = lock.withLock({ recorded }) {  // a training forward: weight gradients, no input gradient
            lock.withLock { recorded = nil }  // the tapes are large: one backward per training forward
            for (r, clip) in clips.enumerated() {
                let g = Array(gradOutputs[0].data[(r * width)..<((r + 1) * width)])
                do {
                    _ = try model.encoderBackward(tape: clip.tape, gradHidden: hiddenGradients(clip.encoding, real: clip.real, g: g),
                                                  gradients: gradients, inputGradient: false)
                } catch {
                    throw ComponentError.failed(component: id, message: "clip \(r): \(error)")
                }
            }
            return []
        }
        var grad = [Float](repeating: 0, count: b * n)
        for r in 0..<b {
            let clip = Array(audio[(r * n)..<(r * n + lengths[r])])
            let melFrames = window == .clip ? 2 * Self.realFrames(samples: clip.count) : WhisperLogMel.frames
            let g = Array(gradOutputs[0].data[(r * width)..<((r + 1) * width)])
            let dx: [Float]
            do {
                dx = try model.encoderInputGradient(samples: clip, melFrames: melFrames) { enc in
                    self.hiddenGradients(enc, real: min(enc.frames, Self.realFrames(samples: clip.count)), g: g)
                }
            } catch {
                throw ComponentError.failed(component: id, message: "clip \(r): \(error)")
            }
            for i in 0..<min(dx.count, lengths[r]) { grad[r * n + i] = dx[i] }
        }
        return [try NDArray(shape: [b, n], data: grad)]
    }

    /// The pooling's transpose for one clip: d hidden states `[L + 1]` (each `[T, C]` or nil) from d embedding `g`
    /// (`[C]`, `[2C]` for mean-std), over its `real` frames.
    func hiddenGradients(_ enc: WhisperEncoding, real: Int, g: [Float]) -> [[Float]?] {
        let t = enc.frames, c = model.width, states = model.encoderLayers.count + 1
        /// The gradient of the mean over the real frames, scaled by `weight`.
        func meanGradient(_ weight: Float) -> [Float] {
            var d = [Float](repeating: 0, count: t * c)
            for j in 0..<real { for k in 0..<c { d[j * c + k] = weight * g[k] / Float(real) } }
            return d
        }
        var out = [[Float]?](repeating: nil, count: states)
        switch pooling {
        case .mean: out[states - 1] = meanGradient(1)
        case .layer: out[layer] = meanGradient(1)
        case .weighted:
            for l in 0..<states where layerWeights[l] != 0 { out[l] = meanGradient(layerWeights[l]) }
        case .meanStd:
            var d = meanGradient(1)
            let h = enc.lastHiddenState
            for k in 0..<c {
                var m: Double = 0
                for j in 0..<real { m += Double(h[j * c + k]) }
                m /= Double(real)
                var ss: Double = 0
                for j in 0..<real { let e = Double(h[j * c + k]) - m; ss += e * e }
                let std = (ss / Double(real)).squareRoot()
                guard std > 0 else { continue }
                for j in 0..<real {
                    d[j * c + k] += g[c + k] * Float((Double(h[j * c + k]) - m) / (Double(real) * std))
                }
            }
            out[states - 1] = d
        }
        return out
    }

    /// The encoder weights `fine_tune` trains (Hugging Face names, `WhisperModel.Parameter`'s layouts) with their
    /// gradients; none when frozen.
    public var parameters: [ParameterBuffer] {
        guard let scope, let gradients else { return [] }
        return zip(model.encoderParameters(in: scope), gradients.parameters).map { w, g in
            ParameterBuffer(name: w.name, shape: w.shape, value: w.value, grad: g.value)
        }
    }

    /// Training mode: forwards record one tape per clip for a weight backward (only when fine-tuning).
    public func setTraining(_ training: Bool) {
        lock.withLock {
            self.training = training && scope != nil
            recorded = nil
        }
    }

    /// The encoder as a safetensors file under Hugging Face's `WhisperForConditionalGeneration` names
    /// (`model.encoder.…`, `embed_positions.weight` included, the decoder not).
    public func saveState() throws -> [UInt8] { model.encoderSafetensors() }

    /// Restores the encoder weights `saveState` wrote (or the encoder of any Hugging Face Whisper checkpoint of the
    /// same size); nothing changes unless every weight is present, of its shape and finite.
    public func loadState(_ bytes: [UInt8]) throws {
        let id = Self.componentInfo.id
        do {
            try model.loadEncoder(weights: try EncoderState.read(bytes).file)
        } catch {
            throw ComponentError.invalidInput(component: id, message: "saved state is not this encoder's weights: \(error)")
        }
    }
}
