import EmoCore
import EmoModels
import EmoTensor
import Foundation

/// The architecture of a BERT-family checkpoint (RoBERTa, XLM-RoBERTa, BERT, MiniLM), read from its Hugging Face
/// `config.json`.
///
/// The families share one post-LN transformer encoder; they differ only in where positions start (`Family`), in the
/// tokenizer, and in their defaults: a missing key takes `transformers.RobertaConfig`'s value (roberta-base: 768
/// wide, 12 layers, 12 heads, 514 positions) or `transformers.BertConfig`'s (bert-base-uncased: 30522 tokens, 512
/// positions, layer-norm eps 1e-12).
public struct TextTransformerConfig: Sendable, Equatable {
    /// Which checkpoint family: decides position ids, the tokenizer and the defaults.
    public enum Family: String, Sendable, CaseIterable {
        /// `model_type` "roberta" / "xlm-roberta": positions count non-pad tokens from `padID + 1`; byte-level BPE.
        case roberta
        /// `model_type` "bert": positions are 0, 1, 2 … for every row; WordPiece; `[CLS] … [SEP]`.
        case bert
    }

    /// The family, from `model_type`.
    public var family: Family
    /// `vocab_size` (V).
    public var vocabSize: Int
    /// `hidden_size` (C).
    public var hiddenSize: Int
    /// `num_hidden_layers` (L).
    public var numLayers: Int
    /// `num_attention_heads` (H).
    public var numHeads: Int
    /// `intermediate_size` (feed-forward width F).
    public var intermediateSize: Int
    /// `max_position_embeddings` (rows of the position table, padding offset included: 514 for roberta-base).
    public var maxPositions: Int
    /// `type_vocab_size`.
    public var typeVocabSize: Int
    /// `layer_norm_eps`.
    public var layerNormEps: Float
    /// `pad_token_id`: the padding token; for RoBERTa also `padding_idx`, so its real positions start at `padID + 1`.
    public var padID: Int
    /// `hidden_act`: exact GELU (`"gelu"`) or the tanh form (`"gelu_new"`, `"gelu_pytorch_tanh"`).
    public var activation: GELUApproximation
    /// `hidden_dropout_prob`: dropout on the embeddings output and on both sublayer outputs, in training only.
    public var hiddenDropout: Float
    /// `attention_probs_dropout_prob`: dropout on the attention probabilities, in training only.
    public var attentionDropout: Float
    /// `model_type` "distilbert": BERT's network without token types, stored under DistilBERT's tensor names
    /// (`transformer.layer.{i}.attention.q_lin`, `sa_layer_norm`, `ffn.lin1`, ...) and config keys (`dim`,
    /// `n_layers`, `n_heads`, `hidden_dim`, `activation`, `dropout`, `attention_dropout`).
    public var distil = false

    /// Per-head width (C / H).
    public var headDim: Int { hiddenSize / numHeads }
    /// Longest token row the position table allows: RoBERTa `maxPositions − padID − 1` (512 for roberta-base),
    /// BERT `maxPositions` (512).
    public var maxTokens: Int { family == .roberta ? maxPositions - padID - 1 : maxPositions }

    /// Parses config.json's object; `path` is used in errors.
    public init(json: JSONValue, path: String) throws {
        func bad(_ m: String) -> CheckpointError { .invalidConfig(path: path, message: m) }
        switch json["model_type"]?.stringValue ?? "roberta" {
        case "roberta", "xlm-roberta": family = .roberta
        case "bert": family = .bert
        case "distilbert":
            family = .bert
            distil = true
        case let other:
            throw bad("model_type \"\(other)\" is not a BERT-family encoder (roberta, xlm-roberta, bert, distilbert)")
        }
        let distil = distil
        /// DistilBERT names several keys its own way.
        func key(_ bertName: String) -> String {
            guard distil else { return bertName }
            return ["hidden_size": "dim", "num_hidden_layers": "n_layers", "num_attention_heads": "n_heads",
                    "intermediate_size": "hidden_dim", "hidden_act": "activation", "hidden_dropout_prob": "dropout",
                    "attention_probs_dropout_prob": "attention_dropout"][bertName] ?? bertName
        }
        let bert = family == .bert
        func int(_ key: String, _ def: Int, min: Int = 1) throws -> Int {
            guard let v = json[key], v != .null else { return def }
            guard let i = v.intValue, i >= min else { throw bad("\"\(key)\" must be an integer ≥ \(min), found \(v.serialized())") }
            return i
        }
        vocabSize = try int("vocab_size", bert ? 30522 : 50265)
        hiddenSize = try int(key("hidden_size"), 768)
        numLayers = try int(key("num_hidden_layers"), distil ? 6 : 12)
        numHeads = try int(key("num_attention_heads"), 12)
        intermediateSize = try int(key("intermediate_size"), 3072)
        maxPositions = try int("max_position_embeddings", bert ? 512 : 514)
        typeVocabSize = distil ? 1 : try int("type_vocab_size", bert ? 2 : 1)  // DistilBERT: one all-zero row, not a weight
        padID = try int("pad_token_id", bert ? 0 : 1, min: 0)
        layerNormEps = Float(json["layer_norm_eps"]?.doubleValue ?? (bert ? 1e-12 : 1e-5))
        func probability(_ key: String) throws -> Float {
            guard let v = json[key], v != .null else { return 0.1 }  // both families' default
            guard let p = v.doubleValue, p >= 0, p < 1 else { throw bad("\"\(key)\" must be a number in [0, 1), found \(v.serialized())") }
            return Float(p)
        }
        hiddenDropout = try probability(key("hidden_dropout_prob"))
        attentionDropout = try probability(key("attention_probs_dropout_prob"))
        switch json[key("hidden_act")]?.stringValue ?? "gelu" {
        case "gelu": activation = .none
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": activation = .tanh
        case let other: throw bad("hidden_act \"\(other)\" is not supported (gelu, gelu_new, gelu_pytorch_tanh)")
        }
        guard hiddenSize % numHeads == 0 else {
            throw bad("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numHeads)")
        }
        guard bert || maxPositions > padID + 1 else {
            throw bad("max_position_embeddings \(maxPositions) leaves no positions after padding_idx \(padID)")
        }
        guard let emb = json["position_embedding_type"]?.stringValue, emb != "absolute" else { return }
        throw bad("position_embedding_type \"\(emb)\" is not supported (only \"absolute\")")
    }

    /// Reads `config.json` from a file.
    public init(path: String) throws {
        try self.init(json: CheckpointFolder.config(at: path), path: path)
    }
}
