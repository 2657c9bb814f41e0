/// How items are divided into training and test parts: the "split protocol" column of every result.
///
/// JSON form (inside a pipeline spec): `{"kind": "stratified", "testFraction": 0.2}`,
/// `{"kind": "grouped-by-text", "testFraction": 0.2}`, `{"kind": "speaker-kfold", "folds": 5}`,
/// `{"kind": "leave-one-speaker-out"}`, `{"kind": "official", "train": "train", "validation": "dev", "test": "test"}`,
/// `{"kind": "grouped-by-text", "folds": 5}` (text-disjoint k-fold stratified by corpus),
/// `{"kind": "cross-corpus", "train": ["ravdess"], "test": ["tess"], "unsharedClasses": "refuse"}`,
/// `{"kind": "leave-one-corpus-out"}`. Corpus names are the run's source names ("ravdess", "tess", "ravdess#2").
/// A validation part is carved from train separately (`Split.withValidation`), see `SplitSpec`.
public enum SplitProtocol: Sendable, Equatable {
    /// Random split, stratified by label: each class keeps its proportion on both sides.
    case stratified(testFraction: Double)
    /// Whole texts (sentences, words) go to one side: no text is in both train and test.
    case groupedByText(testFraction: Double)
    /// k folds of whole speakers: no speaker is in both train and test of a fold.
    case speakerKFold(folds: Int)
    /// One fold per speaker, that speaker alone in test.
    case leaveOneSpeakerOut
    /// The corpus' own partitions (MELD's train/dev/test); `validation` nil means no official validation part.
    case official(train: String, validation: String?, test: String)
    /// k text-disjoint folds, stratified by corpus: each corpus's texts are dealt into the k folds separately, so
    /// every test fold holds every corpus; a corpus with fewer than k texts is tested leave-one-text-out, its texts
    /// taking turns as the test text across the folds (RAVDESS's two statements alternate).
    case groupedByTextKFold(folds: Int)
    /// Train on the named corpora, test on the others (`test` nil) or on the named ones.
    case crossCorpus(train: [String], test: [String]?, unsharedClasses: UnsharedClasses)
    /// One fold per corpus: that corpus alone in test, every other corpus in train.
    case leaveOneCorpusOut(unsharedClasses: UnsharedClasses)

    /// Stable machine name used in JSON and reports.
    public var kind: String {
        switch self {
        case .stratified: return "stratified"
        case .groupedByText: return "grouped-by-text"
        case .speakerKFold: return "speaker-kfold"
        case .leaveOneSpeakerOut: return "leave-one-speaker-out"
        case .official: return "official"
        case .groupedByTextKFold: return "grouped-by-text"
        case .crossCorpus: return "cross-corpus"
        case .leaveOneCorpusOut: return "leave-one-corpus-out"
        }
    }

    /// Label for tables: "random 80/20", "grouped by text 80/20", "speaker-independent 5-fold", "official",
    /// "grouped by text 5-fold, stratified by corpus", "cross-corpus ravdess → tess", "leave-one-corpus-out".
    public var displayName: String {
        switch self {
        case .stratified(let f): return "random \(percent(1 - f))/\(percent(f))"
        case .groupedByText(let f): return "grouped by text \(percent(1 - f))/\(percent(f))"
        case .speakerKFold(let k): return "speaker-independent \(k)-fold"
        case .leaveOneSpeakerOut: return "leave-one-speaker-out"
        case .official: return "official"
        case .groupedByTextKFold(let k): return "grouped by text \(k)-fold, stratified by corpus"
        case let .crossCorpus(train, test, unshared):
            return "cross-corpus \(train.joined(separator: "+")) → \(test?.joined(separator: "+") ?? "the other corpora")"
                + (unshared == .drop ? ", shared classes" : "")
        case .leaveOneCorpusOut(let unshared): return "leave-one-corpus-out" + (unshared == .drop ? ", shared classes" : "")
        }
    }

    private func percent(_ x: Double) -> String { String(Int((x * 100).rounded())) }
}

extension SplitProtocol: Codable {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, testFraction, folds, train, validation, test, unsharedClasses
    }

    /// Decodes the `kind`-tagged JSON form.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "stratified": self = .stratified(testFraction: try c.decode(Double.self, forKey: .testFraction))
        case "grouped-by-text":
            let fraction = try c.decodeIfPresent(Double.self, forKey: .testFraction)
            let folds = try c.decodeIfPresent(Int.self, forKey: .folds)
            switch (fraction, folds) {
            case let (f?, nil): self = .groupedByText(testFraction: f)
            case let (nil, k?): self = .groupedByTextKFold(folds: k)
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: .kind, in: c,
                    debugDescription: "grouped-by-text needs exactly one of 'testFraction' (one split, texts pooled "
                        + "over corpora) or 'folds' (k folds stratified by corpus), got "
                        + (fraction == nil ? "neither" : "both"))
            }
        case "cross-corpus":
            self = .crossCorpus(train: try Self.decodeNames(c, .train) ?? [],
                                test: try Self.decodeNames(c, .test),
                                unsharedClasses: try c.decodeIfPresent(UnsharedClasses.self, forKey: .unsharedClasses) ?? .refuse)
        case "leave-one-corpus-out":
            self = .leaveOneCorpusOut(unsharedClasses: try c.decodeIfPresent(UnsharedClasses.self, forKey: .unsharedClasses)
                                      ?? .refuse)
        case "speaker-kfold": self = .speakerKFold(folds: try c.decode(Int.self, forKey: .folds))
        case "leave-one-speaker-out": self = .leaveOneSpeakerOut
        case "official":
            self = .official(train: try c.decodeIfPresent(String.self, forKey: .train) ?? "train",
                             validation: try c.decodeIfPresent(String.self, forKey: .validation),
                             test: try c.decodeIfPresent(String.self, forKey: .test) ?? "test")
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: c,
                debugDescription: "unknown split kind '\(kind)'; expected one of stratified, grouped-by-text, "
                    + "speaker-kfold, leave-one-speaker-out, official, cross-corpus, leave-one-corpus-out")
        }
    }

    /// Encodes the `kind`-tagged JSON form.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        switch self {
        case .stratified(let f), .groupedByText(let f): try c.encode(f, forKey: .testFraction)
        case .speakerKFold(let k): try c.encode(k, forKey: .folds)
        case .leaveOneSpeakerOut: break
        case let .official(train, validation, test):
            try c.encode(train, forKey: .train)
            try c.encodeIfPresent(validation, forKey: .validation)
            try c.encode(test, forKey: .test)
        case .groupedByTextKFold(let k): try c.encode(k, forKey: .folds)
        case let .crossCorpus(train, test, unshared):
            try c.encode(train, forKey: .train)
            try c.encodeIfPresent(test, forKey: .test)
            try c.encode(unshared, forKey: .unsharedClasses)
        case .leaveOneCorpusOut(let unshared): try c.encode(unshared, forKey: .unsharedClasses)
        }
    }

    /// A list of corpus names, also accepted as one string (`"train": "ravdess"`); nil when the key is absent.
    private static func decodeNames(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [String]? {
        guard c.contains(key) else { return nil }
        if let one = try? c.decode(String.self, forKey: key) { return [one] }
        return try c.decode([String].self, forKey: key)
    }

    /// JSON keys this type reads (for the spec's unknown-key check).
    static let knownKeys: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))
}

/// What a corpus-level split (`cross-corpus`, `leave-one-corpus-out`) does when a class occurs on one side only.
public enum UnsharedClasses: String, Sendable, Codable, CaseIterable {
    /// Stop with an error naming the classes each side lacks (the default): nothing is silently dropped.
    case refuse
    /// Leave out, on both sides, every item whose class is not present on both sides; the split's name says
    /// "shared classes" and its parts then cover fewer items than the corpus has.
    case drop
}
