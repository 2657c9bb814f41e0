import EmoCore

/// Counts per label, speaker, group and split, and the skipped list: what `emo corpus describe` prints.
public struct CorpusSummary: Sendable {
    /// Items per label.
    public var labels: [String: Int] = [:]
    /// Items per speaker.
    public var speakers: [String: Int] = [:]
    /// Items per group.
    public var groups: [String: Int] = [:]
    /// Items per corpus split (MELD).
    public var splits: [String: Int] = [:]
    /// Number of usable items.
    public var items = 0
    /// What was left out.
    public var skipped: [SkippedItem] = []

    /// Summarises `corpus`.
    public init(_ corpus: Corpus) {
        items = corpus.items.count
        for item in corpus.items {
            labels[item.label, default: 0] += 1
            speakers[item.speaker, default: 0] += 1
            groups[item.group, default: 0] += 1
            if let s = item.split { splits[s, default: 0] += 1 }
        }
        skipped = corpus.skipped
    }

    /// Skipped entries counted by reason, with reasons that mention a path collapsed to their kind.
    public var skippedByReason: [(reason: String, count: Int)] {
        var counts: [String: Int] = [:]
        for s in skipped {
            let reason = s.reason.hasPrefix("clip ") && s.reason.hasSuffix(" not found") ? "clip not found"
                : s.reason.hasPrefix("file ") && s.reason.hasSuffix(" not found") ? "file not found" : s.reason
            counts[reason, default: 0] += 1
        }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The JSON form: `{"kind","root","items":Int,"labels":{},"speakers":{},"groups":{},"splits":{},"skipped":[...]}`.
    public func json(kind: CorpusKind, root: String) -> JSONValue {
        func counts(_ d: [String: Int]) -> JSONValue { .object(d.mapValues { .number(Double($0)) }) }
        return .object([
            "kind": .string(kind.rawValue),
            "root": .string(root),
            "items": .number(Double(items)),
            "labels": counts(labels),
            "speakers": counts(speakers),
            "groups": counts(groups),
            "splits": counts(splits),
            "skipped_count": .number(Double(skipped.count)),
            "skipped": .array(skipped.map { .object(["source": .string($0.source), "reason": .string($0.reason)]) }),
        ])
    }
}
