import EmoPluginSDK
import EmoCore
import EmoModels
import Foundation

/// What the `roberta` and `bert` components share: config, checkpoint and tokenizer loading, the forward from text,
/// ids or word embeddings, pooling, and backward to the word embeddings.
///
/// Inputs: one or more `.text` values (B = their count), or `.ids(shape: [B, T], values:)` already tokenised
/// (padding id = padding), or — to differentiate — `[.array(word embeddings [B, T, C]), .ids([B, T])]`.
/// Outputs: `[.array([B, C])]`, then with `hidden_states: true` also `[.array([L + 1, B, T, C])]` (embeddings
/// output first, as Hugging Face's `output_hidden_states`), then with `token_embeddings: true` the token ids
/// `.ids([B, T])` and their word embeddings `.array([B, T, C])` (the input Integrated Gradients scales).
///
/// Differentiable: after a forward from word embeddings, `backward([d embedding [B, C]])` returns
/// `[d word embeddings [B, T, C]]` through the normalisation, the pooling, every layer and the embeddings
/// LayerNorm (weights frozen).
///
/// Trainable (`fine_tune` other than `frozen`): `parameters` are the weights in scope with their gradients; in
/// training mode a text forward records a tape and draws the checkpoint's dropouts from `seed`, and `backward`
/// adds d loss / d weight into the gradients (it returns no input gradient: text has none). The state is a
/// safetensors file of every weight under Hugging Face's names.
final class TextEncoderCore: @unchecked Sendable {
    /// How the per-token states become one vector.
    enum Pooling: String, Sendable, CaseIterable { case cls, mean }

    /// The component id, for errors.
    let id: String
    /// The network.
    let model: TextTransformer
    /// The tokenizer read from the model folder.
    let tokenizer: any TextTokenizer
    /// Tokens per text after truncation.
    let maxTokens: Int
    /// CLS or masked mean.
    let pooling: Pooling
    /// L2-normalise the pooled vector (sentence-transformers' `Normalize` module).
    let normalize: Bool
    /// Hidden-state index pooled (0 = embeddings ... L = last layer).
    let layer: Int
    /// Batch padding.
    let padding: PaddingStrategy
    /// Whether the hidden states are returned.
    let returnsHiddenStates: Bool
    /// Whether token ids and word embeddings are returned.
    let returnsTokenEmbeddings: Bool
    /// The model folder's content hash (`CheckpointFingerprint`), part of the resolved config.
    let checkpoint: String
    /// The last forward from word embeddings, or the last training forward (recorded on `trainingTape`): what
    /// `backward` differentiates, with its pooled vectors before normalisation `[B, C]`; nil when neither.
    private var lastDifferentiable: (tape: TextTransformerTape, mask: [[Int]], pooled: [Float])?
    /// What fine-tuning updates (nil: frozen).
    let scope: TextTransformer.TrainableScope?
    /// d loss / d weight for `scope` (nil: frozen).
    let gradients: TextTransformer.Gradients?
    /// The tape training forwards record on (reused across steps), its dropout stream seeded from `seed`.
    private let trainingTape = TextTransformerTape()
    /// Dropout seed.
    private let seed: UInt64
    /// Whether training applies the checkpoint's dropouts.
    private let dropout: Bool
    /// Training mode (dropout on, forwards recorded).
    private(set) var training = false

    /// The manifest both families share; `description`, `modelTypes` and the family's defaults differ.
    static func manifest<Family: TextEncoderFamily>(_ description: String, modelTypes: [String], family _: Family.Type) -> JSONValue {
        [
            "description": .string(description),
            "model_types": .array(modelTypes.map { .string($0) }),
            "inputs": [["name": "text", "modality": "text", "dims": ["B"]]],
            "outputs": [["name": "embedding", "modality": "text", "dims": ["B", "C"]],
                        ["name": "hidden_states", "modality": "text", "dims": ["L+1", "B", "T", "C"], "optional": true]],
            "config": TextEncoderConfig<Family>.schema,
            "trainable": true,
            "differentiable": true,
        ]
    }

    /// Loads the folder named by `config["model"]`; `family` is the checkpoint family the component runs.
    init<Family: TextEncoderFamily>(_: Family.Type, id: String, family: TextTransformerConfig.Family, config: JSONValue) throws {
        self.id = id
        func bad(_ m: String) -> ComponentError { .invalidConfig(component: id, message: m) }
        let c = try TextEncoderConfig<Family>.read(config, component: id)
        let folder = c.model
        do {
            let folder = try ModelRegistry.standard().resolve(folder)
            model = try TextTransformer(folder: folder)
            guard model.config.family == family else {
                throw TextEncoderError.invalidOption(message: "\(folder) holds a \(model.config.family.rawValue) checkpoint; use the `\(model.config.family.rawValue)` component for it")
            }
            switch family {
            case .roberta: tokenizer = try RobertaTokenizer(folder: folder)
            case .bert: tokenizer = try WordPieceTokenizer(folder: folder)
            }
            checkpoint = try CheckpointFingerprint.of(folder: folder)
        } catch {
            throw ComponentError.io(component: id, path: folder, message: "\(error)")
        }
        if let words = tokenizer as? WordPieceTokenizer, words.idToToken.count > model.config.vocabSize {
            throw ComponentError.io(component: id, path: folder, message: "the vocabulary has \(words.idToToken.count) tokens but the model's embedding table only \(model.config.vocabSize) rows (vocab_size): the tokenizer does not belong to these weights")
        }
        // The default (the family's usual length) is capped by the checkpoint's positions; another value beyond them
        // is an error. (The SDK fills defaults in before the component sees the config, so compare with it.)
        var maxTokens = c.maxTokens
        if maxTokens == Family.maxTokens { maxTokens = min(maxTokens, model.config.maxTokens) }
        guard maxTokens <= model.config.maxTokens else {
            throw bad("\"max_tokens\" \(maxTokens) exceeds the checkpoint's \(model.config.maxTokens) positions")
        }
        self.maxTokens = maxTokens
        pooling = c.pooling
        normalize = c.normalize
        let layers = model.config.numLayers
        let layer = c.layer
        guard layer >= -(layers + 1), layer <= layers else {
            throw bad("\"layer\" must be an integer in -\(layers + 1)...\(layers) (0 = embeddings, -1 = last)")
        }
        self.layer = layer < 0 ? layers + 1 + layer : layer
        padding = c.padding
        returnsHiddenStates = c.hiddenStates
        returnsTokenEmbeddings = c.tokenEmbeddings
        seed = UInt64(c.seed)
        dropout = c.dropout
        let network = model
        let scope = try Self.scope(c.fineTune, config: network.config, component: id)
        self.scope = scope
        gradients = scope.map { network.makeGradients(for: $0) }
        trainingTape.enableDropout(nil, seed: seed)
    }

    /// `frozen` → nil, `all` → every weight, `top-K` → the top K layers (1 ≤ K ≤ L).
    static func scope(_ text: String, config: TextTransformerConfig, component: String) throws -> TextTransformer.TrainableScope? {
        switch text {
        case "frozen": return nil
        case "all": return .all(config)
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
        return zip(model.parameters(in: scope), gradients.parameters).map { w, g in
            ParameterBuffer(name: w.name, shape: w.shape, value: w.value, grad: g.value)
        }
    }

    /// Training mode: dropout on and text forwards recorded for `backward` (only when fine-tuning).
    func setTraining(_ on: Bool) {
        training = on && scope != nil
        let rates = TextTransformerTape.DropoutRates(hidden: model.config.hiddenDropout, attention: model.config.attentionDropout)
        trainingTape.enableDropout(training && dropout ? rates : nil)
    }

    /// Every weight as a safetensors file under Hugging Face's names; a fine-tuned encoder also notes where its
    /// dropout stream stands (`EncoderState`), so training resumed from the state draws the masks the uninterrupted
    /// run would have.
    func saveState() -> [UInt8] { model.safetensors(randomState: scope == nil ? nil : trainingTape.generator.state) }

    /// `saveState`'s file laid out for writing in place (`DirectStateSaving`).
    func statePlan() -> SafeTensorsWriter.F32Plan {
        model.safetensorsPlan(randomState: scope == nil ? nil : trainingTape.generator.state)
    }

    /// Writes `saveState`'s bytes into `buffer` (`statePlan().byteCount` bytes).
    func writeState(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard statePlan().write(into: buffer) else {
            throw ComponentError.failed(component: id, message: "state buffer of \(buffer.count) bytes, the state has \(statePlan().byteCount)")
        }
    }

    /// Restores weights `saveState` wrote (or any safetensors checkpoint of the same architecture).
    func loadState(_ bytes: [UInt8]) throws {
        do {
            let state = try EncoderState.read(bytes)
            try model.load(weights: state.file)
            if let words = state.randomState { trainingTape.generator.state = words }
        } catch {
            throw ComponentError.invalidInput(component: id, message: "saved state is not this encoder's weights: \(error)")
        }
    }

    /// The resolved config and output widths.
    var resolvedDescription: JSONValue {
        let c = JSONValue.number(Double(model.config.hiddenSize))
        var outputs: [JSONValue] = [["name": "embedding", "dims": ["B", c]]]
        if returnsHiddenStates {
            outputs.append(["name": "hidden_states", "dims": [.number(Double(model.config.numLayers + 1)), "B", "T", c]])
        }
        if returnsTokenEmbeddings {
            outputs.append(["name": "token_ids", "dims": ["B", "T"]])
            outputs.append(["name": "word_embeddings", "dims": ["B", "T", c]])
        }
        return ["config": ["max_tokens": .number(Double(maxTokens)), "pooling": .string(pooling.rawValue),
                           "normalize": .bool(normalize),
                           "layer": .number(Double(layer)), "padding": .string(padding.rawValue),
                           "hidden_states": .bool(returnsHiddenStates),
                           "token_embeddings": .bool(returnsTokenEmbeddings), "checkpoint_sha256": .string(checkpoint),
                           "fine_tune": .string(fineTuneName), "seed": .number(Double(seed)), "dropout": .bool(dropout)],
                "outputs": .array(outputs), "training_memory": trainingMemory]
    }

    /// What fine-tuning costs in memory, for a host to estimate before training: `fixed_bytes` (weights, their
    /// gradients and an Adam-style optimiser's two moments for the trained ones) and `bytes_per_token` (what one
    /// token of a batch padded to `max_tokens` keeps on the tape: per layer q|k|v, context, feed-forward input,
    /// two norms' inputs and statistics, a `max_tokens`-long row of attention probabilities per head, the dropout
    /// masks; plus the backward's scratch). Null when frozen.
    var trainingMemory: JSONValue {
        guard let scope else { return .null }
        let c = model.config.hiddenSize, f = model.config.intermediateSize, h = model.config.numHeads, t = maxTokens
        let all = model.parameters.reduce(0) { $0 + $1.count }, trained = model.parameters(in: scope).reduce(0) { $0 + $1.count }
        let drop = dropout && (model.config.hiddenDropout > 0 || model.config.attentionDropout > 0)
        let perLayer = 3 * c + c + f + 2 * (c + 2) + h * t + (drop ? h * t + 2 * c : 0)
        let scratch = 2 * f + 7 * c + 2 * h * t  // the backward's buffers, one layer at a time
        let perToken = model.config.numLayers * perLayer + (c + 2) + (drop ? c : 0) + scratch
        return ["fixed_bytes": .number(Double(4 * (all + 3 * trained))), "bytes_per_token": .number(Double(4 * perToken)),
                "max_tokens": .number(Double(t))]
    }

    /// `fine_tune` as given.
    var fineTuneName: String {
        guard let scope else { return "frozen" }
        return scope.embeddings ? "all" : "top-\(scope.layers)"
    }

    /// Tokenises (or takes the given ids, or the given word embeddings), runs the encoder, pools.
    func forward(_ inputs: [Value]) throws -> [Value] {
        let keep = returnsHiddenStates || layer != model.config.numLayers
        let batch: TokenBatch
        let acts: TextTransformerActivations
        lastDifferentiable = nil
        do {
            if inputs.count == 2, let words = inputs[0].array, case .ids = inputs[1] {
                batch = try tokens(of: [inputs[1]])
                let shape = [batch.ids.count, batch.ids.first?.count ?? 0, model.config.hiddenSize]
                guard words.shape == shape else {
                    throw ComponentError.invalidInput(component: id, message: "word embeddings must be \(shape) to match the ids, found \(words.shape)")
                }
                let tape = TextTransformerTape()
                acts = try model.forward(wordEmbeddings: words.data, ids: batch.ids, mask: batch.attentionMask,
                                         keepHiddenStates: keep, tape: tape)
                lastDifferentiable = (tape, batch.attentionMask, [])
            } else if training {
                batch = try tokens(of: inputs)
                acts = try model.forward(ids: batch.ids, mask: batch.attentionMask, keepHiddenStates: keep, tape: trainingTape)
                lastDifferentiable = (trainingTape, batch.attentionMask, [])
            } else {
                batch = try tokens(of: inputs)
                acts = try model.forward(ids: batch.ids, mask: batch.attentionMask, keepHiddenStates: keep)
            }
        } catch let error as ComponentError {
            throw error
        } catch {
            throw ComponentError.invalidInput(component: id, message: "\(error)")
        }
        let b = acts.batch, t = acts.tokens, c = acts.channels
        let states: ArraySlice<Float>  // [B, T, C] of the pooled layer
        if let all = acts.hiddenStates {
            states = all[(layer * b * t * c)..<((layer + 1) * b * t * c)]
        } else {
            states = acts.lastHiddenState[...]
        }
        let pooled = Self.pool(states, mask: batch.attentionMask, channels: c, pooling: pooling)
        if lastDifferentiable != nil { lastDifferentiable?.pooled = pooled }
        var outputs: [Value] = [.array(try NDArray(shape: [b, c], data: normalize ? Self.l2Normalized(pooled, channels: c) : pooled))]
        if returnsHiddenStates, let all = acts.hiddenStates {
            outputs.append(.array(try NDArray(shape: [model.config.numLayers + 1, b, t, c], data: all)))
        }
        if returnsTokenEmbeddings {
            outputs.append(.ids(shape: [b, t], values: batch.ids.joined().map { Int64($0) }))
            outputs.append(.array(try NDArray(shape: [b, t, c], data: try model.wordEmbeddings(ids: batch.ids))))
        }
        return outputs
    }

    /// d embedding `[B, C]` → d word embeddings `[B, T, C]` of the last forward from word embeddings; after a
    /// training forward, d loss / d weight into the gradients and no input gradient.
    func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        guard let (tape, mask, pooled) = lastDifferentiable else {
            let hint = scope == nil ? "" : " or, to fine-tune, a text forward in training mode"
            throw ComponentError.invalidInput(component: id, message: "backward needs a forward from [.array(word embeddings [B, T, C]), .ids([B, T])] first\(hint) (text input is not differentiable; get the embeddings with token_embeddings: true)")
        }
        let b = tape.batch, t = tape.tokens, c = model.config.hiddenSize
        guard gradOutputs.count == 1, gradOutputs[0].shape == [b, c] else {
            throw ComponentError.invalidInput(component: id, message: "backward takes one gradient [\(b), \(c)] of the pooled embedding (not of the hidden states)")
        }
        // Pooling's transpose: CLS puts the gradient on token 0, mean spreads it over the attended tokens.
        var grad = [Float](repeating: 0, count: b * t * c)  // [B, T, C]
        let g = normalize ? Self.l2NormalizeBackward(pooled, gradOutput: gradOutputs[0].data, channels: c) : gradOutputs[0].data
        for r in 0..<b {
            switch pooling {
            case .cls:
                for k in 0..<c { grad[r * t * c + k] = g[r * c + k] }
            case .mean:
                let count = Float(max(1, mask[r].reduce(0) { $0 + ($1 != 0 ? 1 : 0) }))
                for j in 0..<t where mask[r][j] != 0 {
                    for k in 0..<c { grad[(r * t + j) * c + k] = g[r * c + k] / count }
                }
            }
        }
        do {
            if tape === trainingTape {  // a training forward: weight gradients, no input gradient
                try model.backward(tape: tape, gradHidden: grad, layer: layer, gradients: gradients, inputGradient: false)
                return []
            }
            guard let dWords = try model.backward(tape: tape, gradHidden: grad, layer: layer) else { return [] }
            return [try NDArray(shape: [b, t, c], data: dWords)]
        } catch {
            throw ComponentError.failed(component: id, message: "\(error)")
        }
    }

    /// The token batch for the inputs: texts are tokenised; an `.ids` `[B, T]` input is used as given.
    func tokens(of inputs: [Value]) throws -> TokenBatch {
        if inputs.count == 1, case .ids(let shape, let values) = inputs[0] {
            guard shape.count == 2, shape[0] > 0, shape[1] > 0, shape[1] <= maxTokens else {
                throw ComponentError.invalidInput(component: id, message: "token ids must be [B, T] with 1 ≤ T ≤ max_tokens \(maxTokens), found \(shape)")
            }
            let rows = (0..<shape[0]).map { r in values[(r * shape[1])..<((r + 1) * shape[1])].map { Int($0) } }
            return TokenBatch(ids: rows, attentionMask: rows.map { $0.map { $0 == tokenizer.padID ? 0 : 1 } })
        }
        let texts = inputs.compactMap(\.text)
        guard !texts.isEmpty, texts.count == inputs.count else {
            throw ComponentError.invalidInput(component: id, message: "expected one or more .text values (or one .ids [B, T] value), found \(inputs.count) inputs of which \(texts.count) are text")
        }
        do {
            let batch = try tokenizer.encode(batch: texts, maxLength: maxTokens, padding: padding)
            noteTruncation(texts, batch: batch)
            return batch
        } catch {
            throw ComponentError.invalidInput(component: id, message: "\(error)")
        }
    }

    /// Whether a truncation has been reported (once per component instance, so a corpus does not flood stderr).
    private var truncationReported = false
    private let reportLock = NSLock()

    /// Says on stderr, the first time it happens, which texts were cut to `max_tokens` (their embedding covers only
    /// the start of the text).
    private func noteTruncation(_ texts: [String], batch: TokenBatch) {
        reportLock.lock()
        defer { reportLock.unlock() }
        guard !truncationReported else { return }
        let cut = texts.indices.filter { r in
            batch.attentionMask[r].reduce(0, +) == maxTokens && (try? tokenizer.encode(texts[r], maxLength: nil).count > maxTokens) == true
        }
        guard !cut.isEmpty else { return }
        truncationReported = true
        let which = cut.prefix(5).map { "#\($0 + 1)" }.joined(separator: ", ") + (cut.count > 5 ? ", …" : "")
        FileHandle.standardError.write(Data("\(id): \(cut.count) of \(texts.count) texts (\(which)) are longer than max_tokens \(maxTokens) and were truncated; their embeddings cover only the first \(maxTokens) tokens (said once; raise max_tokens to keep more)\n".utf8))
    }

    /// `[B, C]` from `[B, T, C]`: the first token's row, or the mean over rows whose mask is 1.
    static func pool(_ states: ArraySlice<Float>, mask: [[Int]], channels c: Int, pooling: Pooling) -> [Float] {
        let b = mask.count, t = mask.first?.count ?? 0
        let base = states.startIndex
        var out = [Float](repeating: 0, count: b * c)
        for r in 0..<b {
            switch pooling {
            case .cls:
                for k in 0..<c { out[r * c + k] = states[base + r * t * c + k] }
            case .mean:
                var n = 0
                for j in 0..<t where mask[r][j] != 0 {
                    n += 1
                    for k in 0..<c { out[r * c + k] += states[base + (r * t + j) * c + k] }
                }
                if n > 0 { for k in 0..<c { out[r * c + k] /= Float(n) } }
            }
        }
        return out
    }

    /// Each row of `[B, C]` divided by its L2 norm (a zero row stays zero, as `torch.nn.functional.normalize`
    /// with its 1e-12 floor).
    static func l2Normalized(_ x: [Float], channels c: Int) -> [Float] {
        var out = x
        for r in 0..<(x.count / c) {
            var sum: Float = 0
            for k in 0..<c { sum += x[r * c + k] * x[r * c + k] }
            let scale = 1 / max(sum.squareRoot(), 1e-12)
            for k in 0..<c { out[r * c + k] *= scale }
        }
        return out
    }

    /// d pooled from d normalised: `(g − y (y·g)) / ‖p‖` per row, with `y = p / ‖p‖`.
    static func l2NormalizeBackward(_ pooled: [Float], gradOutput g: [Float], channels c: Int) -> [Float] {
        let y = l2Normalized(pooled, channels: c)
        var out = g
        for r in 0..<(pooled.count / c) {
            var norm: Float = 0, dot: Float = 0
            for k in 0..<c { norm += pooled[r * c + k] * pooled[r * c + k]; dot += y[r * c + k] * g[r * c + k] }
            let inv = 1 / max(norm.squareRoot(), 1e-12)
            for k in 0..<c { out[r * c + k] = (g[r * c + k] - y[r * c + k] * dot) * inv }
        }
        return out
    }
}

/// What differs between the BERT and RoBERTa components' configs: the defaults and the files a folder holds.
protocol TextEncoderFamily {
    /// The files a checkpoint folder holds (for the `model` key's description).
    static var files: String { get }
    /// The family's usual `max_tokens`.
    static var maxTokens: Int { get }
    /// The family's usual pooling.
    static var pooling: TextEncoderCore.Pooling { get }
}

/// The `bert` and `roberta` components' settings.
struct TextEncoderConfig<Family: TextEncoderFamily>: ComponentConfig {
    var model = "", maxTokens = Family.maxTokens, pooling = Family.pooling, normalize = false, layer = -1
    var padding = PaddingStrategy.longest, hiddenStates = false, tokenEmbeddings = false
    var fineTune = "frozen", seed = 0, dropout = true

    static var fields: [ConfigField<Self>] {
        [.string("model", \.model, required: true, "a name from `emo models list`, or a folder with \(Family.files)"),
         .int("max_tokens", \.maxTokens, in: 3...8_192, "tokens per text after truncation, the start and end tokens included; longer texts are cut (and a note says so on stderr)"),
         .choice("pooling", \.pooling, "first token or mean over non-padding tokens"),
         .bool("normalize", \.normalize, "L2-normalise the pooled vector (sentence-transformers' Normalize module: mean + normalize reproduces all-MiniLM-L6-v2's sentence embedding)"),
         .int("layer", \.layer, "hidden state to pool: 0 = embeddings, L or -1 = last layer"),
         .choice("padding", \.padding, "pad the batch to its longest row or to max_tokens (none: rows keep their own lengths)"),
         .bool("hidden_states", \.hiddenStates, "also return all hidden states [L+1, B, T, C]"),
         .bool("token_embeddings", \.tokenEmbeddings, "also return the token ids [B, T] and their word embeddings [B, T, C] (for Integrated Gradients over tokens)"),
         .string("fine_tune", \.fineTune, "what training updates: frozen (nothing; the embeddings can be cached), all (every weight, embeddings included), or top-K (the top K transformer layers, e.g. top-2)"),
         .int("seed", \.seed, in: 0...Int.max, "seed of the dropout masks in training (fine_tune other than frozen)"),
         .bool("dropout", \.dropout, "while fine-tuning, apply the checkpoint's dropouts (hidden_dropout_prob, attention_probs_dropout_prob); false trains without dropout")]
    }
}
