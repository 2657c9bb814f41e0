import EmoCore

/// A differentiable text encoder followed by a trained head, seen as an `ExplainableModel` over one text's word
/// embeddings `[B, T, C]` (B = points on an attribution path, all for the same token ids).
///
/// The encoder is a component like `roberta` that takes `[.array(word embeddings [B, T, C]), .ids([B, T])]` and
/// returns the pooled text embedding `[B, C_e]` first, with a `backward` to the word embeddings. The token ids (and
/// so the positions and the attention mask) stay those of the text; only the embeddings move, which is what
/// Captum's `LayerIntegratedGradients` on `embeddings.word_embeddings` computes. Per-token attribution is the sum
/// of a token's row.
public final class TokenModel: ExplainableModel {
    private let encoder: any DifferentiableComponent
    private let ids: [Int64]  // [T]
    private let head: GroupHead
    /// K.
    public let numClasses: Int
    /// What the scores are.
    public let output: ChainModel.Output

    /// Wraps `encoder` (for the text's token `ids`) → `head` with `classes` outputs.
    public init(encoder: any DifferentiableComponent, ids: [Int64], head: GroupHead, classes: Int,
                output: ChainModel.Output = .probabilities) {
        self.encoder = encoder
        self.ids = ids
        self.head = head
        self.numClasses = classes
        self.output = output
    }

    /// True when the encoder implements backward (the head's components are checked by the caller that built it).
    public var isDifferentiable: Bool { allDifferentiable([encoder]) }

    /// Scores `[B, K]` for word embeddings `[B, T, C]`.
    public func scores(_ inputs: NDArray) throws -> NDArray {
        let logits = try head.logits(try embed(inputs))
        return output == .probabilities ? softmaxRows(logits) : logits
    }

    /// d score[b, targets[b]] / d word embeddings `[B, T, C]`.
    public func gradient(_ inputs: NDArray, targets: [Int]) throws -> NDArray {
        let logits = try head.logits(try embed(inputs))  // [B, K]
        let b = logits.shape[0]
        guard targets.count == b, targets.allSatisfy({ (0..<numClasses).contains($0) }) else {
            throw ComponentError.invalidInput(component: "token-model", message: "expected \(b) targets in 0..<\(numClasses), got \(targets)")
        }
        let dEmbedding = try head.embeddingGradient(scoreGradient(logits: logits, targets: targets, output: output))
        guard let dWords = try encoder.backward([dEmbedding]).first, dWords.count == inputs.count else {
            throw ComponentError.failed(component: encoder.info.id,
                                        message: "backward did not return a gradient shaped like the word embeddings \(inputs.shape)")
        }
        return try NDArray(shape: inputs.shape, data: dWords.data)
    }

    /// Pooled text embedding `[B, C_e]` of word embeddings `[B, T, C]`.
    private func embed(_ inputs: NDArray) throws -> NDArray {
        guard inputs.rank == 3, inputs.shape[1] == ids.count else {
            throw ComponentError.invalidInput(component: encoder.info.id,
                                              message: "expected word embeddings [B, \(ids.count), C], got \(inputs.shape)")
        }
        let b = inputs.shape[0]
        let batchIDs = Value.ids(shape: [b, ids.count], values: Array((0..<b).map { _ in ids }.joined()))
        guard let e = try encoder.forward([.array(inputs), batchIDs]).first?.array, e.rank == 2, e.shape[0] == b else {
            throw ComponentError.failed(component: encoder.info.id, message: "forward did not return a pooled embedding [B, C] first")
        }
        return e
    }

    /// Sums each token's row of an attribution `[1, T, C]` (or `[T, C]`): one value per token.
    public static func perToken(_ attribution: NDArray) -> [Float] {
        let c = attribution.shape.last ?? 0
        guard c > 0 else { return [] }
        return stride(from: 0, to: attribution.count, by: c).map { attribution.data[$0..<($0 + c)].reduce(0, +) }
    }
}
