import EmoCore

/// Rows to train or evaluate on: one float matrix per feature group plus integer labels; a group whose encoder is
/// fine-tuned holds instead each row's input (its text), encoded afresh at every step (`liveInputs`).
public struct TrainingSet: Sendable {
    /// One `[N, C_g]` matrix per feature group (the fusion's inputs, in its order); `[N, 0]` for a live group.
    public var groups: [NDArray]
    /// Group index → the N inputs (one `Value` per row, e.g. `.text`) its fine-tuned encoder reads.
    public var liveInputs: [Int: [Value]] = [:]
    /// `N` class indices in `0..<classes`.
    public var labels: [Int]
    /// K.
    public var classes: Int

    /// Checks that every group has N rows and every label is a class index.
    public init(groups: [NDArray], labels: [Int], classes: Int, liveInputs: [Int: [Value]] = [:]) throws(TrainingError) {
        guard !groups.isEmpty else { throw .invalidData("no feature groups") }
        for (g, inputs) in liveInputs where !groups.indices.contains(g) || inputs.count != labels.count {
            throw .invalidData("live group \(g) has \(inputs.count) inputs for \(labels.count) labels (or no such group)")
        }
        guard classes >= 2 else { throw .invalidData("need at least 2 classes, got \(classes)") }
        for (g, m) in groups.enumerated() where m.rank != 2 || m.shape[0] != labels.count {
            throw .invalidData("group \(g) has shape \(m.shape), expected [\(labels.count), C] (one row per label)")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            throw .invalidData("label \(labels[bad]) at row \(bad) is outside 0..<\(classes)")
        }
        self.groups = groups
        self.labels = labels
        self.classes = classes
        self.liveInputs = liveInputs
    }

    /// N.
    public var count: Int { labels.count }

    /// The rows at `indices`, in that order.
    public func rows(_ indices: [Int]) -> TrainingSet {
        let picked = groups.map { m -> NDArray in
            let c = m.shape[1]
            var out = NDArray(zeros: [indices.count, c])
            m.data.withUnsafeBufferPointer { src in
                out.data.withUnsafeMutableBufferPointer { dst in
                    guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                    for (r, i) in indices.enumerated() { (d + r * c).update(from: s + i * c, count: c) }
                }
            }
            return out
        }
        // Every index came from this set, so the shapes and labels stay valid.
        return TrainingSet(unchecked: picked, labels: indices.map { labels[$0] }, classes: classes,
                           liveInputs: liveInputs.mapValues { inputs in indices.map { inputs[$0] } })
    }

    private init(unchecked groups: [NDArray], labels: [Int], classes: Int, liveInputs: [Int: [Value]]) {
        self.groups = groups
        self.labels = labels
        self.classes = classes
        self.liveInputs = liveInputs
    }

    /// Rows per class.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for l in labels { counts[l] += 1 }
        return counts
    }
}

/// Why training could not run.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The rows or labels are unusable.
    case invalidData(String)
    /// A training setting is out of range.
    case invalidConfig([String])
    /// The chain's components do not fit together or lack a needed call.
    case invalidChain(String)
    /// The loss became NaN or infinite.
    case diverged(epoch: Int, step: Int)

    /// What went wrong and what to do about it.
    public var description: String {
        switch self {
        case .invalidData(let why): return "training data: \(why)"
        case .invalidConfig(let problems): return "training settings: \(problems.joined(separator: "; "))"
        case .invalidChain(let why): return "training chain: \(why)"
        case .diverged(let epoch, let step):
            return "training diverged (loss is not finite) at epoch \(epoch), step \(step): lower learningRate or set gradientClipNorm"
        }
    }
}
