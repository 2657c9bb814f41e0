import EmoModels
import Foundation

/// A BERT-family text encoder (Hugging Face `RobertaModel`, `XLMRobertaModel`, `BertModel`): embeddings (word +
/// position + token type, LayerNorm), then L post-LN transformer layers. RoBERTa and BERT differ here only in their
/// position ids (`positionIDs`); their tokenizers are `RobertaTokenizer` and `WordPieceTokenizer`.
///
/// Dimension legend: docs/numerics.md. Used here: `B` batch rows, `T` tokens per row, `N = B·T` rows, `C` hidden
/// width, `H` heads, `D = C / H`, `F` feed-forward width, `V` vocabulary, `P` position-table rows, `L` layers.
///
/// ```swift
/// let model = try TextTransformer(folder: "roberta-base")          // config.json + model.safetensors (or a BERT folder)
/// let out = try model.forward(ids: [[0, 31414, 2]], mask: [[1, 1, 1]], keepHiddenStates: true)
/// // out.lastHiddenState: [B, T, C]; out.hiddenStates: [L + 1, B, T, C]
/// ```
///
/// Every field names the checkpoint tensor it holds (names after the optional `roberta.` / `bert.` prefix of a
/// `RobertaForMaskedLM`, `BertForSequenceClassification`, … checkpoint).
public final class TextTransformer: @unchecked Sendable {
    /// One transformer layer's weights (`encoder.layer.{i}.…`).
    public struct Layer: Sendable {
        /// `attention.self.{query,key,value}.weight` stacked on the output axis: `[3C, C]`.
        let qkvWeight: FloatBuffer
        /// `attention.self.{query,key,value}.bias`: `[3C]`.
        let qkvBias: FloatBuffer
        /// `attention.output.dense.weight` `[C, C]` and `.bias` `[C]`.
        let attnOutWeight: FloatBuffer, attnOutBias: FloatBuffer
        /// `attention.output.LayerNorm.weight` / `.bias` `[C]`.
        let attnNormWeight: FloatBuffer, attnNormBias: FloatBuffer
        /// `intermediate.dense.weight` `[F, C]` and `.bias` `[F]`.
        let ffnInWeight: FloatBuffer, ffnInBias: FloatBuffer
        /// `output.dense.weight` `[C, F]` and `.bias` `[C]`.
        let ffnOutWeight: FloatBuffer, ffnOutBias: FloatBuffer
        /// `output.LayerNorm.weight` / `.bias` `[C]`.
        let outNormWeight: FloatBuffer, outNormBias: FloatBuffer
    }

    /// The architecture.
    public let config: TextTransformerConfig
    /// `embeddings.word_embeddings.weight`: `[V, C]`.
    let wordEmbeddings: FloatBuffer
    /// `embeddings.position_embeddings.weight`: `[P, C]` (RoBERTa: row `padID` is the padding position).
    let positionEmbeddings: FloatBuffer
    /// `embeddings.token_type_embeddings.weight`: `[types, C]` (row 0 is used).
    let tokenTypeEmbeddings: FloatBuffer
    /// `embeddings.LayerNorm.weight` / `.bias`: `[C]`.
    let embNormWeight: FloatBuffer, embNormBias: FloatBuffer
    /// `encoder.layer.{0..<L}`.
    let layers: [Layer]

    /// Loads `config.json` and `model.safetensors` from a folder as Hugging Face publishes it.
    public convenience init(folder: String) throws {
        let configPath = (folder as NSString).appendingPathComponent("config.json")
        let weights = try CheckpointFolder.weights(in: folder, allowPickle: false)  // named first, as before
        try self.init(config: TextTransformerConfig(path: configPath), weights: weights)
    }

    /// Takes every tensor from `weights`, checking names and shapes against `config`.
    ///
    /// A `roberta.` or `bert.` prefix (task checkpoints) is detected; task heads (`lm_head.*`, `cls.*`,
    /// `classifier.*`), the pooler and the `position_ids` buffer are ignored. Any other unused tensor is reported by
    /// name.
    public init(config: TextTransformerConfig, weights file: any TensorArchive) throws {
        self.config = config
        let prefix = ["roberta.", "bert.", "distilbert."].first { file.shape(of: $0 + "embeddings.word_embeddings.weight") != nil } ?? ""
        let r = WeightReader(file: file, prefix: prefix)
        let c = config.hiddenSize, f = config.intermediateSize
        let distil = config.distil
        func take(_ name: String, _ shape: [Int]) throws -> FloatBuffer {
            FloatBuffer(try r.take(Self.checkpointName(name, distil: distil), shape: shape))
        }
        /// LayerNorm weight and bias, under `.weight`/`.bias` or the older `.gamma`/`.beta`.
        func norm(_ name: String) throws -> (FloatBuffer, FloatBuffer) {
            let stored = Self.checkpointName(name + ".weight", distil: distil).dropLast(".weight".count)
            if !r.has(stored + ".weight"), r.has(stored + ".gamma") {
                return (FloatBuffer(try r.take(stored + ".gamma", shape: [c])), FloatBuffer(try r.take(stored + ".beta", shape: [c])))
            }
            return (try take(name + ".weight", [c]), try take(name + ".bias", [c]))
        }
        wordEmbeddings = try take("embeddings.word_embeddings.weight", [config.vocabSize, c])
        positionEmbeddings = try take("embeddings.position_embeddings.weight", [config.maxPositions, c])
        tokenTypeEmbeddings = distil ? FloatBuffer([Float](repeating: 0, count: c))
            : try take("embeddings.token_type_embeddings.weight", [config.typeVocabSize, c])
        (embNormWeight, embNormBias) = try norm("embeddings.LayerNorm")
        var layers: [Layer] = []
        for i in 0..<config.numLayers {
            let p = "encoder.layer.\(i)."
            var qkvW: [Float] = [], qkvB: [Float] = []
            for part in ["query", "key", "value"] {
                qkvW += try r.take(Self.checkpointName(p + "attention.self.\(part).weight", distil: distil), shape: [c, c])
                qkvB += try r.take(Self.checkpointName(p + "attention.self.\(part).bias", distil: distil), shape: [c])
            }
            let attnNorm = try norm(p + "attention.output.LayerNorm")
            let outNorm = try norm(p + "output.LayerNorm")
            layers.append(Layer(
                qkvWeight: FloatBuffer(qkvW), qkvBias: FloatBuffer(qkvB),
                attnOutWeight: try take(p + "attention.output.dense.weight", [c, c]),
                attnOutBias: try take(p + "attention.output.dense.bias", [c]),
                attnNormWeight: attnNorm.0, attnNormBias: attnNorm.1,
                ffnInWeight: try take(p + "intermediate.dense.weight", [f, c]),
                ffnInBias: try take(p + "intermediate.dense.bias", [f]),
                ffnOutWeight: try take(p + "output.dense.weight", [c, f]),
                ffnOutBias: try take(p + "output.dense.bias", [c]),
                outNormWeight: outNorm.0, outNormBias: outNorm.1))
        }
        self.layers = layers
        try r.finish(ignoring: ["pooler.", "embeddings.position_ids"])
    }

    /// Where BERT's tensor `name` (the names this type uses) is stored in the checkpoint: itself, or for DistilBERT
    /// `transformer.layer.{i}.attention.{q,k,v,out}_lin`, `sa_layer_norm`, `ffn.lin{1,2}`, `output_layer_norm`.
    static func checkpointName(_ name: String, distil: Bool) -> String {
        guard distil, name.hasPrefix("encoder.layer.") else { return name }
        let parts = name.split(separator: ".", maxSplits: 3).map(String.init)  // encoder, layer, i, rest
        guard parts.count == 4 else { return name }
        let renames = [("attention.self.query.", "attention.q_lin."), ("attention.self.key.", "attention.k_lin."),
                       ("attention.self.value.", "attention.v_lin."), ("attention.output.dense.", "attention.out_lin."),
                       ("attention.output.LayerNorm.", "sa_layer_norm."), ("intermediate.dense.", "ffn.lin1."),
                       ("output.dense.", "ffn.lin2."), ("output.LayerNorm.", "output_layer_norm.")]
        for (bert, distilbert) in renames where parts[3].hasPrefix(bert) {
            return "transformer.layer.\(parts[2])." + distilbert + parts[3].dropFirst(bert.count)
        }
        return name
    }
}

/// Float32 weights in memory this process owns (stable address for the model's lifetime).
final class FloatBuffer: @unchecked Sendable {
    /// The values.
    let pointer: UnsafeMutablePointer<Float>
    /// Number of values.
    let count: Int

    /// Copies `values`.
    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(1, values.count))
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.initialize(from: base, count: values.count) }
        }
    }

    deinit { pointer.deallocate() }

    /// Read-only view.
    var readOnly: UnsafePointer<Float> { UnsafePointer(pointer) }
}
