import EmoCore

/// `[fusion] → classifier`: the trainable part of a pipeline, seen only through EmoCore's protocols, so the
/// components may be in-process Swift objects or plugins behind the C ABI (`LoadedComponent`).
public struct TrainingChain {
    /// Feature groups → fused representation; nil when the single group goes straight to the classifier.
    public var fusion: (any TrainableComponent)?
    /// Representation → logits `[B, K]`.
    public var classifier: any TrainableComponent

    /// Creates a chain.
    public init(fusion: (any TrainableComponent)?, classifier: any TrainableComponent) {
        self.fusion = fusion
        self.classifier = classifier
    }

    /// The components, in data order.
    public var components: [any TrainableComponent] { (fusion.map { [$0] } ?? []) + [classifier] }

    /// Switches every component between training and evaluation mode.
    public func setTraining(_ training: Bool) { components.forEach { $0.setTraining(training) } }

    /// Groups `[B, C_g]` → logits `[B, K]` (the fusion's first output feeds the classifier).
    public func forward(_ groups: [NDArray]) throws -> NDArray {
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

    /// d loss / d logits → accumulates every parameter gradient; returns d loss / d groups (d loss / d fused
    /// representation instead when `throughFusion` is false: the trainer skips the backward of a fusion without
    /// learned parameters, whose input gradients nobody needs).
    @discardableResult
    public func backward(_ dLogits: NDArray, throughFusion: Bool = true) throws -> [NDArray] {
        let dInput = try classifier.backward([dLogits])
        guard let fusion, throughFusion else { return dInput }
        return try fusion.backward(dInput)
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

    /// Logits `[N, K]` for every row of `data`, in evaluation mode, `batchSize` rows at a time.
    public func predict(_ groups: [NDArray], batchSize: Int = 256) throws -> NDArray {
        let n = groups.first?.shape.first ?? 0
        setTraining(false)
        var out: NDArray?
        var start = 0
        while start < n {
            let end = min(n, start + max(1, batchSize))
            let batch = groups.map { Self.slice($0, start, end) }
            let logits = try forward(batch)
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
