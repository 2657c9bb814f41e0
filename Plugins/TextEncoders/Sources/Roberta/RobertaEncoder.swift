import EmoPluginSDK
import EmoCore
import EmoModels
import Foundation

/// The `roberta` encoder component: texts → one RoBERTa embedding per text (CLS or masked mean of a layer).
///
/// Inputs: one or more `.text` values (B = their count), or `.ids(shape: [B, T], values:)` already tokenised
/// (`<pad>` = padding), or — to differentiate — `[.array(word embeddings [B, T, C]), .ids([B, T])]`.
/// Outputs: `[.array([B, C])]`, then with `hidden_states: true` also `[.array([L + 1, B, T, C])]` (embeddings
/// output first, as Hugging Face's `output_hidden_states`), then with `token_embeddings: true` the token ids
/// `.ids([B, T])` and their word embeddings `.array([B, T, C])` (the input Integrated Gradients scales).
///
/// Differentiable: after a forward from word embeddings, `backward([d embedding [B, C]])` returns
/// `[d word embeddings [B, T, C]]` through the pooling, every layer and the embeddings LayerNorm (weights frozen).
///
/// Config: `model` (folder with config.json, model.safetensors, vocab.json, merges.txt), `max_tokens` (64 as in
/// Study B; `<s>` and `</s>` included), `pooling` (`cls` or `mean` over the attention mask), `layer` (which hidden
/// state to pool: −1 = last, 0 = embeddings), `padding` (`longest` or `max_length`: only T of the hidden states
/// differs; the pooled vectors do not depend on it), `hidden_states`.
public final class RobertaEncoder: EmbeddingEncoder, DifferentiableComponent {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .encoder, id: "roberta", version: "1.0.0", displayName: "RoBERTa text encoder",
        manifest: [
            "description": "RoBERTa (Hugging Face RobertaModel checkpoint) embedding of a transcript: CLS or masked-mean pooled hidden state, with RoBERTa's byte-level BPE tokenizer.",
            "model_types": ["roberta", "xlm-roberta"],
            "inputs": [["name": "text", "modality": "text", "dims": ["B"]]],
            "outputs": [["name": "embedding", "modality": "text", "dims": ["B", "C"]],
                        ["name": "hidden_states", "modality": "text", "dims": ["L+1", "B", "T", "C"], "optional": true]],
            "config": [
                "model": ["type": "string", "default": "", "required": true, "description": "a name from `emo models list`, or a folder with config.json, model.safetensors, vocab.json, merges.txt (as Hugging Face publishes roberta-base)"],
                "max_tokens": ["type": "integer", "default": 64, "minimum": 3, "maximum": 8_192, "description": "tokens per text after truncation, <s> and </s> included"],
                "pooling": ["type": "string", "default": "cls", "enum": ["cls", "mean"], "description": "first token (<s>) or mean over non-padding tokens"],
                "layer": ["type": "integer", "default": -1, "description": "hidden state to pool: 0 = embeddings, L or -1 = last layer"],
                "padding": ["type": "string", "default": "longest", "enum": ["longest", "max_length"], "description": "pad the batch to its longest row or to max_tokens"],
                "hidden_states": ["type": "boolean", "default": false, "description": "also return all hidden states [L+1, B, T, C]"],
                "token_embeddings": ["type": "boolean", "default": false, "description": "also return the token ids [B, T] and their word embeddings [B, T, C] (for Integrated Gradients over tokens)"],
            ],
            "trainable": false,
            "differentiable": true,
        ])

    /// How the per-token states become one vector.
    public enum Pooling: String, Sendable { case cls, mean }

    /// The network.
    public let model: RobertaModel
    /// The tokenizer read from the model folder.
    public let tokenizer: RobertaTokenizer
    /// Tokens per text after truncation.
    public let maxTokens: Int
    /// CLS or masked mean.
    public let pooling: Pooling
    /// Hidden-state index pooled (0 = embeddings ... L = last layer).
    public let layer: Int
    /// Batch padding.
    public let padding: PaddingStrategy
    /// Whether the hidden states are returned.
    public let returnsHiddenStates: Bool
    /// Whether token ids and word embeddings are returned.
    public let returnsTokenEmbeddings: Bool
    /// The last forward from word embeddings (what `backward` differentiates), or nil.
    private var lastDifferentiable: (tape: RobertaTape, mask: [[Int]])?

    /// Loads the model folder named by `config["model"]`.
    public init(config: JSONValue) throws {
        let id = Self.componentInfo.id
        func bad(_ m: String) -> ComponentError { .invalidConfig(component: id, message: m) }
        let read = ConfigReader(config, info: Self.componentInfo)
        let folder = try read.string("model")
        guard !folder.isEmpty else {
            throw bad("\"model\" must name a model from `emo models list` or a folder with config.json, model.safetensors, vocab.json and merges.txt")
        }
        do {
            let folder = try ModelRegistry.standard().resolve(folder)
            model = try RobertaModel(folder: folder)
            tokenizer = try RobertaTokenizer(folder: folder)
        } catch {
            throw ComponentError.io(component: id, path: folder, message: "\(error)")
        }
        let maxTokens = try read.int("max_tokens")
        guard maxTokens >= 2 else {
            throw bad("\"max_tokens\" must be an integer ≥ 2 (room for <s> and </s>)")
        }
        guard maxTokens <= model.config.maxTokens else {
            throw bad("\"max_tokens\" \(maxTokens) exceeds the checkpoint's \(model.config.maxTokens) positions")
        }
        self.maxTokens = maxTokens
        let poolingName = try read.string("pooling")
        guard let pooling = Pooling(rawValue: poolingName) else { throw bad("\"pooling\" must be \"cls\" or \"mean\", found \"\(poolingName)\"") }
        self.pooling = pooling
        let layers = model.config.numLayers
        let layer = try read.int("layer")
        guard layer >= -(layers + 1), layer <= layers else {
            throw bad("\"layer\" must be an integer in -\(layers + 1)...\(layers) (0 = embeddings, -1 = last)")
        }
        self.layer = layer < 0 ? layers + 1 + layer : layer
        let paddingName = try read.string("padding")
        guard let padding = PaddingStrategy(rawValue: paddingName), padding != .none else {
            throw bad("\"padding\" must be \"longest\" or \"max_length\", found \"\(paddingName)\"")
        }
        self.padding = padding
        returnsHiddenStates = try read.bool("hidden_states")
        returnsTokenEmbeddings = try read.bool("token_embeddings")
    }

    /// The resolved config and output widths.
    public var resolvedDescription: JSONValue {
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
                           "layer": .number(Double(layer)), "padding": .string(padding.rawValue),
                           "hidden_states": .bool(returnsHiddenStates),
                           "token_embeddings": .bool(returnsTokenEmbeddings)],
                "outputs": .array(outputs)]
    }

    /// Tokenises (or takes the given ids, or the given word embeddings), runs the encoder, pools.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        let id = Self.componentInfo.id
        let keep = returnsHiddenStates || layer != model.config.numLayers
        let batch: TokenBatch
        let acts: RobertaActivations
        lastDifferentiable = nil
        do {
            if inputs.count == 2, let words = inputs[0].array, case .ids = inputs[1] {
                batch = try tokens(of: [inputs[1]])
                let shape = [batch.ids.count, batch.ids.first?.count ?? 0, model.config.hiddenSize]
                guard words.shape == shape else {
                    throw ComponentError.invalidInput(component: id, message: "word embeddings must be \(shape) to match the ids, found \(words.shape)")
                }
                let tape = RobertaTape()
                acts = try model.forward(wordEmbeddings: words.data, ids: batch.ids, mask: batch.attentionMask,
                                         keepHiddenStates: keep, tape: tape)
                lastDifferentiable = (tape, batch.attentionMask)
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
        var outputs: [Value] = [.array(try NDArray(shape: [b, c], data: pooled))]
        if returnsHiddenStates, let all = acts.hiddenStates {
            outputs.append(.array(try NDArray(shape: [model.config.numLayers + 1, b, t, c], data: all)))
        }
        if returnsTokenEmbeddings {
            outputs.append(.ids(shape: [b, t], values: batch.ids.joined().map { Int64($0) }))
            outputs.append(.array(try NDArray(shape: [b, t, c], data: try model.wordEmbeddings(ids: batch.ids))))
        }
        return outputs
    }

    /// d embedding `[B, C]` → d word embeddings `[B, T, C]` of the last forward from word embeddings.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        let id = Self.componentInfo.id
        guard let (tape, mask) = lastDifferentiable else {
            throw ComponentError.invalidInput(component: id, message: "backward needs a forward from [.array(word embeddings [B, T, C]), .ids([B, T])] first (text input is not differentiable; get the embeddings with token_embeddings: true)")
        }
        let b = tape.batch, t = tape.tokens, c = model.config.hiddenSize
        guard gradOutputs.count == 1, gradOutputs[0].shape == [b, c] else {
            throw ComponentError.invalidInput(component: id, message: "backward takes one gradient [\(b), \(c)] of the pooled embedding (not of the hidden states)")
        }
        // Pooling's transpose: CLS puts the gradient on token 0, mean spreads it over the attended tokens.
        var grad = [Float](repeating: 0, count: b * t * c)  // [B, T, C]
        let g = gradOutputs[0].data
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
            let dWords = try model.backward(tape: tape, gradHidden: grad, layer: layer)
            return [try NDArray(shape: [b, t, c], data: dWords)]
        } catch {
            throw ComponentError.failed(component: id, message: "\(error)")
        }
    }

    /// The token batch for the inputs: texts are tokenised; an `.ids` `[B, T]` input is used as given.
    func tokens(of inputs: [Value]) throws -> TokenBatch {
        let id = Self.componentInfo.id
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
            return try tokenizer.encode(batch: texts, maxLength: maxTokens, padding: padding)
        } catch {
            throw ComponentError.invalidInput(component: id, message: "\(error)")
        }
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
}
