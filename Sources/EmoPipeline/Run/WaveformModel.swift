import EmoCore

/// A differentiable speech encoder followed by a trained head, seen as an `ExplainableModel` over raw waveforms
/// `[B, T]` (16 kHz samples).
///
/// The encoder is any `DifferentiableComponent` whose forward takes `[.array([B, T])]` and returns the pooled
/// embedding `[B, C]` first (the speech encoders with `pooling: mean`). The head is a `TrainingChain` whose single
/// feature group is that embedding, or a plain `DifferentiableComponent` (`[B, C]` → logits `[B, K]`). Scores are
/// softmax probabilities (Captum's usual target for a classifier wrapped in `softmax`) or raw logits; `gradient`
/// runs head backward then encoder backward, through the plugin ABI when the components are loaded plugins.
public final class WaveformModel: ExplainableModel {
    /// What comes after the encoder.
    public enum Head {
        /// A trained fusion + classifier chain over one feature group, the embedding.
        case chain(TrainingChain)
        /// One component, embedding `[B, C]` → logits `[B, K]`.
        case component(any DifferentiableComponent)
    }

    private let encoder: any DifferentiableComponent
    private let head: Head
    /// K.
    public let numClasses: Int
    /// What the scores are.
    public let output: ChainModel.Output

    /// Wraps `encoder` → `head` (a chain head is put in evaluation mode) with `classes` outputs.
    public init(encoder: any DifferentiableComponent, head: Head, classes: Int,
                output: ChainModel.Output = .probabilities) {
        self.encoder = encoder
        self.head = head
        self.numClasses = classes
        self.output = output
        if case .chain(let chain) = head { chain.setTraining(false) }
    }

    /// True when the encoder and every head component implement backward.
    public var isDifferentiable: Bool {
        let heads: [any Component]
        switch head {
        case .chain(let chain): heads = chain.components
        case .component(let c): heads = [c]
        }
        return allDifferentiable([encoder] + heads)
    }

    /// Scores `[B, K]` for waveforms `[B, T]`.
    public func scores(_ inputs: NDArray) throws -> NDArray {
        let logits = try logits(try embed(inputs))
        return output == .probabilities ? softmaxRows(logits) : logits
    }

    /// d score[b, targets[b]] / d waveform `[B, T]`.
    public func gradient(_ inputs: NDArray, targets: [Int]) throws -> NDArray {
        let embedding = try embed(inputs)      // [B, C]
        let logits = try logits(embedding)     // [B, K]
        let b = logits.shape[0], k = numClasses
        guard targets.count == b, targets.allSatisfy({ (0..<k).contains($0) }) else {
            throw ComponentError.invalidInput(component: "waveform-model",
                                              message: "expected \(b) targets in 0..<\(k), got \(targets)")
        }
        let dLogits = scoreGradient(logits: logits, targets: targets, output: output)  // [B, K]
        let dEmbedding: NDArray  // [B, C]
        switch head {
        case .chain(let chain):
            guard let g = try chain.backward(dLogits).first else {
                throw ComponentError.failed(component: "waveform-model", message: "the head chain returned no input gradient")
            }
            dEmbedding = g
        case .component(let c):
            guard let g = try c.backward([dLogits]).first else {
                throw ComponentError.failed(component: c.info.id, message: "backward returned no input gradient")
            }
            dEmbedding = g
        }
        guard let dWave = try encoder.backward([dEmbedding]).first, dWave.count == inputs.count else {
            throw ComponentError.failed(component: encoder.info.id,
                                        message: "backward did not return a gradient shaped like the waveform \(inputs.shape)")
        }
        return try NDArray(shape: inputs.shape, data: dWave.data)
    }

    /// Pooled embedding `[B, C]` of waveforms `[B, T]`.
    private func embed(_ inputs: NDArray) throws -> NDArray {
        guard inputs.rank == 2 else {
            throw ComponentError.invalidInput(component: encoder.info.id,
                                              message: "expected waveforms [B, T], got shape \(inputs.shape)")
        }
        guard let e = try encoder.forward([.array(inputs)]).first?.array, e.rank == 2, e.shape[0] == inputs.shape[0] else {
            throw ComponentError.failed(component: encoder.info.id, message: "forward did not return a pooled embedding [B, C] first")
        }
        return e
    }

    /// Logits `[B, K]` of embeddings `[B, C]`.
    private func logits(_ embedding: NDArray) throws -> NDArray {
        let out: NDArray
        switch head {
        case .chain(let chain): out = try chain.forward([embedding])
        case .component(let c):
            guard let l = try c.forward([.array(embedding)]).first?.array else {
                throw ComponentError.failed(component: c.info.id, message: "forward did not return logits [B, K]")
            }
            out = l
        }
        guard out.rank == 2, out.shape == [embedding.shape[0], numClasses] else {
            throw ComponentError.failed(component: "waveform-model",
                                        message: "head returned logits of shape \(out.shape), expected [\(embedding.shape[0]), \(numClasses)]")
        }
        return out
    }
}
