/// What a split needs to know about one labelled example; corpora adapt their items to this.
public protocol SplitItem {
    /// Class label (after any label mapping, e.g. calm → neutral).
    var label: String { get }
    /// Speaker identity ("ravdess/Actor_03", "tess/OAF"), or nil when unknown.
    var speaker: String? { get }
    /// The spoken sentence or text id ("ravdess/statement-01", "tess/word-back"), or nil when unknown.
    var textID: String? { get }
    /// The corpus' own partition name ("train", "dev", "test") for official splits, or nil.
    var partition: String? { get }
    /// The corpus the item comes from ("ravdess", "tess", "ravdess#2"), or nil when unknown. Corpus-aware
    /// protocols (`cross-corpus`, `leave-one-corpus-out`, `grouped-by-text` k-fold) and the overlap report read it.
    var corpusName: String? { get }
}

extension SplitItem {
    /// No corpus: items that do not say where they come from count as one unnamed corpus in reports.
    public var corpusName: String? { nil }
}

/// A plain `SplitItem`: label, speaker, text id, partition, corpus and free-form extra fields.
public struct LabelledItem: SplitItem, Sendable, Equatable, Codable {
    /// Class label.
    public var label: String
    /// Speaker identity, or nil.
    public var speaker: String?
    /// Sentence or text id, or nil.
    public var textID: String?
    /// Official partition name, or nil.
    public var partition: String?
    /// Corpus name ("ravdess", "tess"), or nil.
    public var corpus: String?
    /// Other grouping fields (dialogue id, session, ...): not used by the built-in protocols.
    public var fields: [String: String]

    /// Creates an item.
    public init(label: String, speaker: String? = nil, textID: String? = nil, partition: String? = nil,
                corpus: String? = nil, fields: [String: String] = [:]) {
        self.label = label
        self.speaker = speaker
        self.textID = textID
        self.partition = partition
        self.corpus = corpus
        self.fields = fields
    }

    /// The corpus name (`corpus`).
    public var corpusName: String? { corpus }
}
