import EmoModels
import Foundation

extension TextTransformer {
    /// One weight tensor of the model, by its Hugging Face name (without the `bert.` / `roberta.` prefix). The
    /// fused attention projection is `encoder.layer.{i}.attention.self.qkv.{weight,bias}` (`[3C, C]`, `[3C]`):
    /// the checkpoint's query, key and value stacked in that order (`huggingFaceTensors` splits it again).
    public struct Parameter {
        /// Hugging Face name (the fused q|k|v excepted, see the type's notes).
        public let name: String
        /// Extent of each dimension.
        public let shape: [Int]
        /// The values, owned by the model (stable address for its lifetime).
        let buffer: FloatBuffer
        /// The values.
        public var value: UnsafeMutablePointer<Float> { buffer.pointer }
        /// Number of values.
        public var count: Int { buffer.count }
    }

    /// Which part of the network a fine-tuning run updates: the top `layers` transformer layers, and the
    /// embeddings (word, position, token-type tables and their LayerNorm) when `embeddings` is true.
    public struct TrainableScope: Sendable, Equatable {
        /// Transformer layers trained, counted from the top (0 … L).
        public var layers: Int
        /// Whether the embeddings are trained too.
        public var embeddings: Bool

        /// Every weight (Hugging Face's default fine-tuning).
        public static func all(_ config: TextTransformerConfig) -> TrainableScope {
            TrainableScope(layers: config.numLayers, embeddings: true)
        }

        /// The top `k` layers only.
        public static func top(_ k: Int) -> TrainableScope { TrainableScope(layers: k, embeddings: false) }

        /// Creates a scope.
        public init(layers: Int, embeddings: Bool) {
            self.layers = layers
            self.embeddings = embeddings
        }
    }

    /// Every weight in a fixed order: the embeddings, then per layer q|k|v, attention output, attention norm,
    /// intermediate, output, output norm (weights before biases).
    public var parameters: [Parameter] {
        Self.parameterList(embeddings: (wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings, embNormWeight, embNormBias),
                           layers: layers, config: config)
    }

    /// The weights `scope` covers, in `parameters`' order.
    public func parameters(in scope: TrainableScope) -> [Parameter] {
        parameters.filter { Self.isCovered($0.name, by: scope, layers: config.numLayers) }
    }

    /// True when parameter `name` belongs to `scope`.
    static func isCovered(_ name: String, by scope: TrainableScope, layers: Int) -> Bool {
        if name.hasPrefix("embeddings.") { return scope.embeddings }
        let index = name.split(separator: ".").dropFirst(2).first.flatMap { Int($0) } ?? -1
        return index >= layers - scope.layers
    }

    /// The list behind `parameters` (and behind `Gradients.parameters`, which has the same layout).
    static func parameterList(embeddings e: (FloatBuffer, FloatBuffer, FloatBuffer, FloatBuffer, FloatBuffer),
                              layers: [Layer], config: TextTransformerConfig) -> [Parameter] {
        let c = config.hiddenSize, f = config.intermediateSize
        var out = [
            Parameter(name: "embeddings.word_embeddings.weight", shape: [config.vocabSize, c], buffer: e.0),
            Parameter(name: "embeddings.position_embeddings.weight", shape: [config.maxPositions, c], buffer: e.1),
        ]
        if !config.distil {  // DistilBERT has no token types: its all-zero row is not a weight
            out.append(Parameter(name: "embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, c], buffer: e.2))
        }
        out += [
            Parameter(name: "embeddings.LayerNorm.weight", shape: [c], buffer: e.3),
            Parameter(name: "embeddings.LayerNorm.bias", shape: [c], buffer: e.4),
        ]
        for (i, l) in layers.enumerated() {
            let p = "encoder.layer.\(i)."
            out += [
                Parameter(name: p + "attention.self.qkv.weight", shape: [3 * c, c], buffer: l.qkvWeight),
                Parameter(name: p + "attention.self.qkv.bias", shape: [3 * c], buffer: l.qkvBias),
                Parameter(name: p + "attention.output.dense.weight", shape: [c, c], buffer: l.attnOutWeight),
                Parameter(name: p + "attention.output.dense.bias", shape: [c], buffer: l.attnOutBias),
                Parameter(name: p + "attention.output.LayerNorm.weight", shape: [c], buffer: l.attnNormWeight),
                Parameter(name: p + "attention.output.LayerNorm.bias", shape: [c], buffer: l.attnNormBias),
                Parameter(name: p + "intermediate.dense.weight", shape: [f, c], buffer: l.ffnInWeight),
                Parameter(name: p + "intermediate.dense.bias", shape: [f], buffer: l.ffnInBias),
                Parameter(name: p + "output.dense.weight", shape: [c, f], buffer: l.ffnOutWeight),
                Parameter(name: p + "output.dense.bias", shape: [c], buffer: l.ffnOutBias),
                Parameter(name: p + "output.LayerNorm.weight", shape: [c], buffer: l.outNormWeight),
                Parameter(name: p + "output.LayerNorm.bias", shape: [c], buffer: l.outNormBias),
            ]
        }
        return out
    }

    /// The weights as Hugging Face names them (fused q|k|v split into `query`, `key`, `value`; DistilBERT's own
    /// names for a DistilBERT), each with its shape and values: what `safetensors` writes for `transformers` to load
    /// back.
    public func huggingFaceTensors(prefix: String = "") -> [(name: String, shape: [Int], values: [Float])] {
        huggingFaceViews().map { (prefix + $0.name, $0.shape, Array($0.values)) }
    }

    /// A safetensors file of every weight under Hugging Face's names (`BertModel` / `RobertaModel` layout, no
    /// prefix), so `transformers` loads a fine-tuned encoder back from it with its config.json.
    /// With `randomState`, the training stream's state goes into the metadata (`EncoderState`).
    public func safetensors(randomState: [UInt64]? = nil) -> [UInt8] {
        EncoderState.serialized(views: huggingFaceViews(), randomState: randomState)
    }

    /// `safetensors(randomState:)` laid out for writing into memory the caller owns.
    public func safetensorsPlan(randomState: [UInt64]? = nil) -> SafeTensorsWriter.F32Plan {
        EncoderState.plan(views: huggingFaceViews(), randomState: randomState)
    }

    /// The weights under Hugging Face's names, read in place (the fused q|k|v's three row blocks are contiguous
    /// parts of it): what `safetensors` writes without copying the weights first.
    func huggingFaceViews() -> [TensorView] {
        let c = config.hiddenSize
        var out: [TensorView] = []
        for p in parameters {
            let base = p.buffer.readOnly
            guard p.name.hasSuffix("attention.self.qkv.weight") || p.name.hasSuffix("attention.self.qkv.bias") else {
                out.append(TensorView(name: Self.checkpointName(p.name, distil: config.distil), shape: p.shape,
                                      values: UnsafeBufferPointer(start: base, count: p.count)))
                continue
            }
            let isWeight = p.name.hasSuffix(".weight"), part = isWeight ? c * c : c
            let stem = p.name.replacingOccurrences(of: "qkv.weight", with: "").replacingOccurrences(of: "qkv.bias", with: "")
            for (k, role) in ["query", "key", "value"].enumerated() {
                out.append(TensorView(name: Self.checkpointName(stem + role + (isWeight ? ".weight" : ".bias"), distil: config.distil),
                                      shape: isWeight ? [c, c] : [c], values: UnsafeBufferPointer(start: base + k * part, count: part)))
            }
        }
        return out
    }

    /// Overwrites every weight with the tensors of `archive` (a file `safetensors()` wrote, or any checkpoint of
    /// the same architecture): names and shapes are checked, nothing is changed unless all are present and finite.
    public func load(weights archive: any TensorArchive) throws {
        let other = try TextTransformer(config: config, weights: archive)
        for (mine, theirs) in zip(parameters, other.parameters) {
            mine.buffer.pointer.update(from: theirs.buffer.readOnly, count: mine.count)
        }
    }

    /// Zero-initialised gradient buffers for `scope`'s weights, in the model's layout.
    public func makeGradients(for scope: TrainableScope) -> Gradients {
        Gradients(model: self, scope: scope)
    }

    /// d loss / d weights of a fine-tuning run, in the model's own layout (`Layer` holds gradients here); only the
    /// weights in `scope` have buffers that `backward` fills, the others stay zero-sized.
    public final class Gradients {
        /// What is trained.
        public let scope: TrainableScope
        let word: FloatBuffer, position: FloatBuffer, tokenType: FloatBuffer, embNormWeight: FloatBuffer,
            embNormBias: FloatBuffer
        /// One entry per layer; layers below the scope hold empty buffers.
        let layers: [Layer]
        private let config: TextTransformerConfig

        init(model: TextTransformer, scope: TrainableScope) {
            self.scope = scope
            config = model.config
            let c = model.config.hiddenSize, f = model.config.intermediateSize
            func zeros(_ n: Int, _ live: Bool) -> FloatBuffer { FloatBuffer(zeros: live ? n : 0) }
            let e = scope.embeddings
            word = zeros(model.config.vocabSize * c, e)
            position = zeros(model.config.maxPositions * c, e)
            tokenType = zeros(model.config.typeVocabSize * c, e)
            embNormWeight = zeros(c, e)
            embNormBias = zeros(c, e)
            let first = model.config.numLayers - scope.layers
            layers = (0..<model.config.numLayers).map { i in
                let live = i >= first
                return Layer(qkvWeight: zeros(3 * c * c, live), qkvBias: zeros(3 * c, live),
                             attnOutWeight: zeros(c * c, live), attnOutBias: zeros(c, live),
                             attnNormWeight: zeros(c, live), attnNormBias: zeros(c, live),
                             ffnInWeight: zeros(f * c, live), ffnInBias: zeros(f, live),
                             ffnOutWeight: zeros(c * f, live), ffnOutBias: zeros(c, live),
                             outNormWeight: zeros(c, live), outNormBias: zeros(c, live))
            }
        }

        /// Index of the lowest trained layer.
        var firstLayer: Int { config.numLayers - scope.layers }

        /// The gradient buffers of the trained weights, in `TextTransformer.parameters(in: scope)`'s order.
        public var parameters: [Parameter] {
            TextTransformer.parameterList(embeddings: (word, position, tokenType, embNormWeight, embNormBias),
                                          layers: layers, config: config)
                .filter { TextTransformer.isCovered($0.name, by: scope, layers: config.numLayers) }
        }

        /// Sets every gradient to zero.
        public func zero() {
            for p in parameters { p.buffer.pointer.update(repeating: 0, count: p.count) }
        }
    }
}

extension FloatBuffer {
    /// `count` zeros.
    convenience init(zeros count: Int) {
        self.init([Float](repeating: 0, count: count))
    }
}
