import EmoCore
import EmoRuntime
import EmoStore
import Foundation

/// One corpus item with its label mapped onto the pipeline's classes: what splits and training see.
public struct RunItem: SplitItem, Sendable, Equatable {
    /// The corpus item (path, raw label, speaker, text id, ...).
    public var item: CorpusItem
    /// The mapped class label (one of the spec's `classes`).
    public var label: String
    /// Index of `label` in the spec's `classes`.
    public var classIndex: Int
    /// The corpus it comes from (the spec source's kind: "ravdess", "tess", "meld", "manifest"; a second source
    /// of the same kind gets "#2"), for per-corpus metrics.
    public var corpus: String = ""

    /// Speaker identity, prefixed by nothing (corpus adapters already qualify it).
    public var speaker: String? { item.speaker.isEmpty ? nil : item.speaker }
    /// Sentence or word id.
    public var textID: String? { item.textID.isEmpty ? nil : item.textID }
    /// Official partition (MELD train/dev/test).
    public var partition: String? { item.split }
    /// The run's corpus name (`corpus`), nil when empty.
    public var corpusName: String? { corpus.isEmpty ? nil : corpus }
}

/// The corpus of a run after label mapping.
public struct RunCorpus: Sendable {
    /// Items kept, in a stable order (source order, then file order).
    public var items: [RunItem]
    /// Class names, index = class id.
    public var classes: [String]
    /// Items the adapters skipped, with reasons.
    public var skipped: [SkippedItem]
    /// Items whose label is not mapped onto a class (e.g. MELD's disgust/fear in the 5-class variant).
    public var unmapped: Int

    /// Items per class.
    public var classCounts: [Int] {
        var c = [Int](repeating: 0, count: classes.count)
        for i in items { c[i.classIndex] += 1 }
        return c
    }
}

/// Feature groups extracted for a run's items: one `[N, C_g]` matrix per group, rows aligned with `items`.
public struct GroupMatrices: Sendable {
    /// A feature group's columns and identity.
    public struct Group: Sendable {
        /// Group name from the spec.
        public var name: String
        /// Component id, version and config hash the values came from.
        public var key: FeatureKey
        /// Column names ("mfcc_1_mean", ...), or generated ones when the component gives none.
        public var featureNames: [String]
        /// `[N, C_g]`.
        public var values: NDArray
    }

    /// Items that every group could extract (failures are dropped from all groups).
    public var items: [RunItem]
    /// The groups, in spec order.
    public var groups: [Group]
    /// Files that failed in any group, with the first reason.
    public var failures: [ExtractionFailure]
    /// For each fine-tuned group (by index): the input of every item in `items` that its encoder reads at every
    /// training step — `.text` for text groups, `.array([S])` (the decoded clip) for audio groups; the group's
    /// `values` are placeholders.
    public var liveInputs: [Int: [Value]] = [:]

    /// The scaler's view of the columns.
    public var layout: FeatureLayout {
        FeatureLayout(groups: groups.map { FeatureLayout.Group(name: $0.name, width: $0.values.shape[1]) })
    }

    /// All groups side by side, `[N, ΣC_g]`.
    public func concatenated() -> NDArray {
        let n = items.count
        let total = groups.reduce(0) { $0 + $1.values.shape[1] }
        var out = NDArray(zeros: [n, total])
        var offset = 0
        for g in groups {
            let c = g.values.shape[1]
            for r in 0..<n {
                for j in 0..<c { out.data[r * total + offset + j] = g.values.data[r * c + j] }
            }
            offset += c
        }
        return out
    }
}

/// Splits `[N, ΣC_g]` rows back into per-group `[N, C_g]` arrays following `layout`.
func splitColumns(_ x: NDArray, layout: FeatureLayout) -> [NDArray] {
    let n = x.shape.first ?? 0
    let total = layout.width
    return layout.ranges.map { r in
        let c = r.columns.count
        var out = NDArray(zeros: [n, c])
        for i in 0..<n {
            for j in 0..<c { out.data[i * c + j] = x.data[i * total + r.columns.lowerBound + j] }
        }
        return out
    }
}

/// Row-wise softmax of `[B, K]` logits.
public func softmaxRows(_ logits: NDArray) -> NDArray {
    var out = logits
    let k = logits.shape.count > 1 ? logits.shape[1] : logits.count
    guard k > 0 else { return out }
    for r in 0..<(logits.count / k) {
        var m = -Float.infinity
        for j in 0..<k { m = max(m, logits.data[r * k + j]) }
        var s: Float = 0
        for j in 0..<k { let e = expf(logits.data[r * k + j] - m); out.data[r * k + j] = e; s += e }
        for j in 0..<k { out.data[r * k + j] /= s }
    }
    return out
}

/// Why a pipeline run could not proceed. Messages name the spec, file or component and what to do.
public enum RunError: Error, CustomStringConvertible {
    /// The spec asks for something this build cannot do.
    case unsupported(String)
    /// The corpus gave nothing usable.
    case emptyCorpus(String)
    /// A component returned something of the wrong shape.
    case badOutput(component: String, message: String)
    /// A bundle folder is missing a file or is inconsistent.
    case bundle(path: String, message: String)
    /// The clip holds no speech (silence, a steady tone, too short): nothing to classify.
    case noSpeech(path: String, message: String)

    public var description: String {
        switch self {
        case .unsupported(let m): return m
        case .emptyCorpus(let m): return "no usable items: \(m)"
        case .badOutput(let c, let m): return "\(c): \(m)"
        case .bundle(let p, let m): return "\(p): \(m)"
        case .noSpeech(let p, let m): return "\(p): \(m)"
        }
    }
}
