/// How items are divided into training and test parts: the "split protocol" column of every result.
///
/// JSON form (inside a pipeline spec): `{"kind": "stratified", "testFraction": 0.2}`,
/// `{"kind": "grouped-by-text", "testFraction": 0.2}`, `{"kind": "speaker-kfold", "folds": 5}`,
/// `{"kind": "leave-one-speaker-out"}`, `{"kind": "official", "train": "train", "validation": "dev", "test": "test"}`.
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

    /// Stable machine name used in JSON and reports.
    public var kind: String {
        switch self {
        case .stratified: return "stratified"
        case .groupedByText: return "grouped-by-text"
        case .speakerKFold: return "speaker-kfold"
        case .leaveOneSpeakerOut: return "leave-one-speaker-out"
        case .official: return "official"
        }
    }

    /// Label for tables: "random 80/20", "grouped by text 80/20", "speaker 5-fold", "LOSO", "official".
    public var displayName: String {
        switch self {
        case .stratified(let f): return "random \(percent(1 - f))/\(percent(f))"
        case .groupedByText(let f): return "grouped by text \(percent(1 - f))/\(percent(f))"
        case .speakerKFold(let k): return "speaker-independent \(k)-fold"
        case .leaveOneSpeakerOut: return "leave-one-speaker-out"
        case .official: return "official"
        }
    }

    private func percent(_ x: Double) -> String { String(Int((x * 100).rounded())) }
}

extension SplitProtocol: Codable {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, testFraction, folds, train, validation, test
    }

    /// Decodes the `kind`-tagged JSON form.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "stratified": self = .stratified(testFraction: try c.decode(Double.self, forKey: .testFraction))
        case "grouped-by-text": self = .groupedByText(testFraction: try c.decode(Double.self, forKey: .testFraction))
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
                    + "speaker-kfold, leave-one-speaker-out, official")
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
        }
    }

    /// JSON keys this type reads (for the spec's unknown-key check).
    static let knownKeys: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))
}
