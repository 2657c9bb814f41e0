import EmoCore

/// `[fine-tuned encoders] → [fusion] → classifier`: the trainable part of a pipeline, seen only through EmoCore's
/// protocols, so the components may be in-process Swift objects or plugins behind the C ABI (`LoadedComponent`).
///
/// A feature group is either a cached matrix (its encoder frozen, run once at extraction) or live: its encoder is
/// fine-tuned, so each step encodes the batch's inputs (texts) afresh and backward reaches the encoder's weights.
public struct TrainingChain {
    /// Group index → the fine-tuned encoder that computes that group from `TrainingSet.liveInputs`.
    public var encoders: [Int: any TrainableComponent]
    /// Feature groups → fused representation; nil when the single group goes straight to the classifier.
    public var fusion: (any TrainableComponent)?
    /// Representation → logits `[B, K]`.
    public var classifier: any TrainableComponent
    /// Group index → peak learning rate of that fine-tuned encoder (absent: the training block's `learningRate`).
    public var encoderLearningRates: [Int: Double]

    /// Creates a chain.
    public init(encoders: [Int: any TrainableComponent] = [:], encoderLearningRates: [Int: Double] = [:],
                fusion: (any TrainableComponent)?, classifier: any TrainableComponent) {
        self.encoders = encoders
        self.encoderLearningRates = encoderLearningRates
        self.fusion = fusion
        self.classifier = classifier
    }

    /// The fine-tuned encoders in group order.
    var orderedEncoders: [(group: Int, encoder: any TrainableComponent)] {
        encoders.keys.sorted().compactMap { g in encoders[g].map { (g, $0) } }
    }

    /// The fusion's and the classifier's (the head's) components, without the encoders.
    var head: [any TrainableComponent] { (fusion.map { [$0] } ?? []) + [classifier] }

    /// The components, in data order (encoders by group index, fusion, classifier).
    public var components: [any TrainableComponent] { orderedEncoders.map(\.encoder) + head }

    /// Rows per evaluation forward when encoders run on the batch's inputs (their activations grow with the batch
    /// and its longest text or clip): 64 suits texts; the runner lowers it for clips.
    public var liveEvaluationBatchSize = 64

    /// Rows per forward when evaluating: 256 for cached features, `liveEvaluationBatchSize` when encoders run.
    public var evaluationBatchSize: Int { encoders.isEmpty ? 256 : liveEvaluationBatchSize }

    /// Switches every component between training and evaluation mode.
    public func setTraining(_ training: Bool) { components.forEach { $0.setTraining(training) } }

    /// Groups `[B, C_g]` (live groups computed from `live` by their encoders) → logits `[B, K]`.
    public func forward(_ groups: [NDArray], live: [Int: [Value]] = [:]) throws -> NDArray {
        var groups = groups
        for (g, encoder) in orderedEncoders {
            guard let inputs = live[g], groups.indices.contains(g) else {
                throw TrainingError.invalidChain("group \(g) is fine-tuned by \(encoder.info.id) but the batch carries no inputs for it")
            }
            guard let embedding = try encoder.forward(try Self.encoderInput(inputs)).first?.array, embedding.rank == 2,
                  embedding.shape[0] == inputs.count else {
                throw TrainingError.invalidChain("encoder \(encoder.info.id) returned no [B, C] embedding for \(inputs.count) inputs")
            }
            groups[g] = embedding
        }
        var input: NDArray
        if let fusion {
            guard let fused = try fusion.forward(groups.map { .array($0) }).first?.array else {
                throw TrainingError.invalidChain("fusion \(fusion.info.id) returned no float output")
            }
            input = fused
        } else {
            guard groups.count == 1 else {
                throw TrainingError.invalidChain("\(groups.count) feature groups but no fusion component to combine them")
            }
            input = groups[0]
        }
        guard let logits = try classifier.forward([.array(input)]).first?.array, logits.rank == 2 else {
            throw TrainingError.invalidChain("classifier \(classifier.info.id) returned no [B, K] float output")
        }
        return logits
    }

    /// d loss / d logits → accumulates every parameter gradient (the fine-tuned encoders' included); returns
    /// d loss / d groups (d loss / d fused representation instead when `throughFusion` is false and no encoder is
    /// fine-tuned: the trainer skips the backward of a fusion without learned parameters, whose input gradients
    /// nobody needs then).
    @discardableResult
    public func backward(_ dLogits: NDArray, throughFusion: Bool = true) throws -> [NDArray] {
        let dInput = try classifier.backward([dLogits])
        var dGroups = dInput
        if let fusion, throughFusion || !encoders.isEmpty {
            dGroups = try fusion.backward(dInput)
        } else if fusion != nil {
            return dInput
        }
        for (g, encoder) in orderedEncoders {
            guard dGroups.indices.contains(g) else {
                throw TrainingError.invalidChain("backward returned \(dGroups.count) group gradients; fine-tuned group \(g) has none")
            }
            _ = try encoder.backward([dGroups[g]])
        }
        return dGroups
    }

    /// What a fine-tuned encoder reads for one batch: texts as they are (`[.text]` × B); clips (`[.array([S_b])]` × B)
    /// zero-padded to the longest into `[.array([B, S]), .array([B] lengths)]`, the speech encoders' batched input
    /// (the lengths mask the padding as Hugging Face's `attention_mask` does).
    static func encoderInput(_ inputs: [Value]) throws -> [Value] {
        let clips = inputs.compactMap(\.array)
        guard !clips.isEmpty else { return inputs }
        guard clips.count == inputs.count, clips.allSatisfy({ $0.rank == 1 }) else {
            throw TrainingError.invalidChain("a fine-tuned group's inputs must be all texts or all one-dimensional clips")
        }
        return try ExtractionEngine.paddedClipBatch(clips.map(\.data))
    }

    /// Each component's saved state, in data order.
    public func saveStates() throws -> [[UInt8]] { try components.map { try $0.saveState() } }

    /// Restores what `saveStates` returned.
    public func loadStates(_ states: [[UInt8]]) throws {
        let parts = components
        guard states.count == parts.count else {
            throw TrainingError.invalidChain("\(states.count) saved states for \(parts.count) components")
        }
        for (c, s) in zip(parts, states) { try c.loadState(s) }
    }

    /// Logits `[N, K]` for every row, in evaluation mode, `batchSize` rows at a time.
    public func predict(_ groups: [NDArray], live: [Int: [Value]] = [:], batchSize: Int = 256) throws -> NDArray {
        let n = groups.first?.shape.first ?? 0
        setTraining(false)
        var out: NDArray?
        var start = 0
        while start < n {
            let end = min(n, start + max(1, batchSize))
            let batch = groups.map { Self.slice($0, start, end) }
            let logits = try forward(batch, live: live.mapValues { Array($0[start..<end]) })
            if out == nil { out = NDArray(zeros: [n, logits.shape[1]]) }
            let k = logits.shape[1]
            out?.data.replaceSubrange((start * k)..<(end * k), with: logits.data)
            start = end
        }
        return out ?? NDArray(zeros: [0, 0])
    }

    static func slice(_ m: NDArray, _ start: Int, _ end: Int) -> NDArray {
        let c = m.shape[1]
        var out = NDArray(zeros: [end - start, c])
        out.data.replaceSubrange(0..<((end - start) * c), with: m.data[(start * c)..<(end * c)])
        return out
    }
}
