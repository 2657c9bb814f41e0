import EmoCore
import Foundation

/// The `roberta` encoder component: texts → one RoBERTa embedding per text (CLS or masked mean of a layer).
///
/// Inputs: one or more `.text` values (B = their count), or `.ids(shape: [B, T], values:)` already tokenised
/// (`<pad>` = padding). Outputs: `[.array([B, C])]`, then with `hidden_states: true` also
/// `[.array([L + 1, B, T, C])]` (embeddings output first, as Hugging Face's `output_hidden_states`).
///
/// Config: `model` (folder with config.json, model.safetensors, vocab.json, merges.txt), `max_tokens` (64 as in
/// Study B; `<s>` and `</s>` included), `pooling` (`cls` or `mean` over the attention mask), `layer` (which hidden
/// state to pool: −1 = last, 0 = embeddings), `padding` (`longest` or `max_length`: only T of the hidden states
/// differs; the pooled vectors do not depend on it), `hidden_states`.
public final class RobertaEncoder: EmbeddingEncoder {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .encoder, id: "roberta", version: "1.0.0", displayName: "RoBERTa text encoder",
        manifest: [
            "description": "RoBERTa (Hugging Face RobertaModel checkpoint) embedding of a transcript: CLS or masked-mean pooled hidden state, with RoBERTa's byte-level BPE tokenizer.",
            "inputs": [["name": "text", "modality": "text", "dims": ["B"]]],
            "outputs": [["name": "embedding", "modality": "text", "dims": ["B", "C"]],
                        ["name": "hidden_states", "modality": "text", "dims": ["L+1", "B", "T", "C"], "optional": true]],
            "config": [
                "model": ["type": "string", "default": "", "description": "folder with config.json, model.safetensors, vocab.json, merges.txt (as Hugging Face publishes roberta-base)"],
                "max_tokens": ["type": "integer", "default": 64, "description": "tokens per text after truncation, <s> and </s> included"],
                "pooling": ["type": "string", "default": "cls", "enum": ["cls", "mean"], "description": "first token (<s>) or mean over non-padding tokens"],
                "layer": ["type": "integer", "default": -1, "description": "hidden state to pool: 0 = embeddings, L or -1 = last layer"],
                "padding": ["type": "string", "default": "longest", "enum": ["longest", "max_length"], "description": "pad the batch to its longest row or to max_tokens"],
                "hidden_states": ["type": "boolean", "default": false, "description": "also return all hidden states [L+1, B, T, C]"],
            ],
            "trainable": false,
            "differentiable": false,
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

    /// Loads the model folder named by `config["model"]`.
    public init(config: JSONValue) throws {
        let id = Self.componentInfo.id
        func bad(_ m: String) -> ComponentError { .invalidConfig(component: id, message: m) }
        guard let folder = config["model"]?.stringValue, !folder.isEmpty else {
            throw bad("\"model\" must name a folder with config.json, model.safetensors, vocab.json and merges.txt")
        }
        do {
            model = try RobertaModel(folder: folder)
            tokenizer = try RobertaTokenizer(folder: folder)
        } catch {
            throw ComponentError.io(component: id, path: folder, message: "\(error)")
        }
        guard let maxTokens = config["max_tokens"]?.intValue ?? Optional(64), maxTokens >= 2 else {
            throw bad("\"max_tokens\" must be an integer ≥ 2 (room for <s> and </s>)")
        }
        guard maxTokens <= model.config.maxTokens else {
            throw bad("\"max_tokens\" \(maxTokens) exceeds the checkpoint's \(model.config.maxTokens) positions")
        }
        self.maxTokens = maxTokens
        let poolingName = config["pooling"]?.stringValue ?? "cls"
        guard let pooling = Pooling(rawValue: poolingName) else { throw bad("\"pooling\" must be \"cls\" or \"mean\", found \"\(poolingName)\"") }
        self.pooling = pooling
        let layers = model.config.numLayers
        guard let layer = config["layer"]?.intValue ?? Optional(-1), layer >= -(layers + 1), layer <= layers else {
            throw bad("\"layer\" must be an integer in -\(layers + 1)...\(layers) (0 = embeddings, -1 = last)")
        }
        self.layer = layer < 0 ? layers + 1 + layer : layer
        let paddingName = config["padding"]?.stringValue ?? "longest"
        guard let padding = PaddingStrategy(rawValue: paddingName), padding != .none else {
            throw bad("\"padding\" must be \"longest\" or \"max_length\", found \"\(paddingName)\"")
        }
        self.padding = padding
        returnsHiddenStates = config["hidden_states"]?.boolValue ?? false
    }

    /// The resolved config and output widths.
    public var resolvedDescription: JSONValue {
        let c = JSONValue.number(Double(model.config.hiddenSize))
        var outputs: [JSONValue] = [["name": "embedding", "dims": ["B", c]]]
        if returnsHiddenStates {
            outputs.append(["name": "hidden_states", "dims": [.number(Double(model.config.numLayers + 1)), "B", "T", c]])
        }
        return ["config": ["max_tokens": .number(Double(maxTokens)), "pooling": .string(pooling.rawValue),
                           "layer": .number(Double(layer)), "padding": .string(padding.rawValue),
                           "hidden_states": .bool(returnsHiddenStates)],
                "outputs": .array(outputs)]
    }

    /// Tokenises (or takes the given ids), runs the encoder, pools.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        let id = Self.componentInfo.id
        let batch = try tokens(of: inputs)
        let acts: RobertaActivations
        do {
            acts = try model.forward(ids: batch.ids, mask: batch.attentionMask,
                                     keepHiddenStates: returnsHiddenStates || layer != model.config.numLayers)
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
        return outputs
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
