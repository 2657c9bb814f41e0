/// One train/test partition of a list of items (one fold of a k-fold protocol), given as indices into that list.
///
/// `train`, `validation` and `test` are disjoint, sorted ascending, and together cover the items the protocol
/// uses (an official split may leave items of unknown partitions out). `validation` is empty until
/// `withValidation(...)` carves it out of `train`.
public struct Split: Sendable, Equatable, Codable {
    /// Human-readable name: "stratified-80/20 seed 42", "speaker-kfold fold 2/5", ...
    public var name: String
    /// Indices of training items.
    public var train: [Int]
    /// Indices of validation items (carved from the training part; may be empty).
    public var validation: [Int]
    /// Indices of test items.
    public var test: [Int]
    /// Speaker and text overlap between the training side (train + validation) and the test side.
    public var overlap: SplitOverlap

    /// Creates a split and computes its overlap report from `items`.
    public init<Item: SplitItem>(name: String, train: [Int], validation: [Int] = [], test: [Int], items: [Item]) {
        self.name = name
        self.train = train.sorted()
        self.validation = validation.sorted()
        self.test = test.sorted()
        self.overlap = SplitOverlap(trainSide: self.train + self.validation, test: self.test, items: items)
    }
}

/// Which speakers, texts and corpora occur on both sides of a split: reported for every split, never hidden.
public struct SplitOverlap: Sendable, Equatable, Codable {
    /// Distinct speakers on the training side (train + validation).
    public var trainSpeakerCount: Int
    /// Distinct speakers in the test part.
    public var testSpeakerCount: Int
    /// Speakers present on both sides, sorted.
    public var sharedSpeakers: [String]
    /// Test items whose speaker also occurs on the training side.
    public var testItemsWithSeenSpeaker: Int
    /// Distinct texts on the training side.
    public var trainTextCount: Int
    /// Distinct texts in the test part.
    public var testTextCount: Int
    /// Texts present on both sides, sorted.
    public var sharedTexts: [String]
    /// Test items whose text also occurs on the training side.
    public var testItemsWithSeenText: Int
    /// Corpora on the training side (train + validation), sorted; empty when the items name no corpus.
    public var trainCorpora: [String]
    /// Corpora in the test part, sorted.
    public var testCorpora: [String]

    /// Corpora present on both sides, sorted.
    public var sharedCorpora: [String] { Array(Set(trainCorpora).intersection(testCorpora)).sorted() }

    /// Counts overlap between the index sets `trainSide` and `test` of `items` (nil speakers/texts/corpora are
    /// ignored).
    public init<Item: SplitItem>(trainSide: [Int], test: [Int], items: [Item]) {
        let trainSpeakers = Set(trainSide.compactMap { items[$0].speaker })
        let testSpeakers = Set(test.compactMap { items[$0].speaker })
        let trainTexts = Set(trainSide.compactMap { items[$0].textID })
        let testTexts = Set(test.compactMap { items[$0].textID })
        trainSpeakerCount = trainSpeakers.count
        testSpeakerCount = testSpeakers.count
        sharedSpeakers = trainSpeakers.intersection(testSpeakers).sorted()
        testItemsWithSeenSpeaker = test.filter { items[$0].speaker.map(trainSpeakers.contains) ?? false }.count
        trainTextCount = trainTexts.count
        testTextCount = testTexts.count
        sharedTexts = trainTexts.intersection(testTexts).sorted()
        testItemsWithSeenText = test.filter { items[$0].textID.map(trainTexts.contains) ?? false }.count
        trainCorpora = Set(trainSide.compactMap { items[$0].corpusName }).sorted()
        testCorpora = Set(test.compactMap { items[$0].corpusName }).sorted()
    }

    private enum CodingKeys: String, CodingKey {
        case trainSpeakerCount, testSpeakerCount, sharedSpeakers, testItemsWithSeenSpeaker
        case trainTextCount, testTextCount, sharedTexts, testItemsWithSeenText, trainCorpora, testCorpora
    }

    /// Decodes; `trainCorpora` and `testCorpora` default to empty (metrics.json written before they existed).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trainSpeakerCount = try c.decode(Int.self, forKey: .trainSpeakerCount)
        testSpeakerCount = try c.decode(Int.self, forKey: .testSpeakerCount)
        sharedSpeakers = try c.decode([String].self, forKey: .sharedSpeakers)
        testItemsWithSeenSpeaker = try c.decode(Int.self, forKey: .testItemsWithSeenSpeaker)
        trainTextCount = try c.decode(Int.self, forKey: .trainTextCount)
        testTextCount = try c.decode(Int.self, forKey: .testTextCount)
        sharedTexts = try c.decode([String].self, forKey: .sharedTexts)
        testItemsWithSeenText = try c.decode(Int.self, forKey: .testItemsWithSeenText)
        trainCorpora = try c.decodeIfPresent([String].self, forKey: .trainCorpora) ?? []
        testCorpora = try c.decodeIfPresent([String].self, forKey: .testCorpora) ?? []
    }

    /// One line for logs and reports: "speakers shared 24/24 (812 test items), texts shared 0/40 (0 test items),
    /// corpora train ravdess+tess / test tess" (the corpora part only when the items name their corpus).
    public var summary: String {
        "speakers shared \(sharedSpeakers.count)/\(testSpeakerCount) (\(testItemsWithSeenSpeaker) test items), "
            + "texts shared \(sharedTexts.count)/\(testTextCount) (\(testItemsWithSeenText) test items)"
            + (trainCorpora.isEmpty && testCorpora.isEmpty ? "" : ", \(corporaSummary)")
    }

    /// "corpora train ravdess / test tess": the corpora on each side.
    public var corporaSummary: String {
        func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: "+") }
        return "corpora train \(list(trainCorpora)) / test \(list(testCorpora))"
    }
}

/// Why a split could not be made.
public enum SplitError: Error, CustomStringConvertible, Equatable {
    /// The protocol needs a field (speaker, text id, partition) that some items lack.
    case missingField(field: String, protocolName: String, itemIndex: Int)
    /// A fraction outside (0, 1).
    case badFraction(name: String, value: Double)
    /// Fewer groups than folds, or too few items to leave both sides non-empty.
    case tooFewGroups(what: String, have: Int, need: Int)
    /// An official split found no item in a required partition.
    case emptyPartition(name: String, known: [String])
    /// No items at all.
    case empty
    /// A corpus-level split names a corpus that no item comes from.
    case unknownCorpus(name: String, side: String, known: [String])
    /// A corpus-level split has nothing on one side.
    case emptySide(side: String, protocolName: String, known: [String])
    /// A cross-corpus split names the same corpus on both sides.
    case overlappingSides(corpora: [String])
    /// A class occurs on one side of a corpus-level split only, and `unsharedClasses` is `refuse`.
    case unsharedClasses(trainOnly: [String], testOnly: [String], train: [String], test: [String])
    /// A made split shares a group (text, speaker, corpus) its protocol promises to keep apart: a bug, never a result.
    case leak(split: String, what: String, shared: [String])

    /// The message, naming what is wrong and what to do.
    public var description: String {
        switch self {
        case let .missingField(field, name, i):
            return "split '\(name)' needs a \(field) for every item, but item \(i) has none: "
                + "give the corpus adapter a \(field), or choose a protocol that does not need it"
        case let .badFraction(name, v):
            return "split fraction '\(name)' must lie strictly between 0 and 1, got \(v)"
        case let .tooFewGroups(what, have, need):
            return "split needs at least \(need) \(what), found \(have): lower the fold count or use another protocol"
        case let .emptyPartition(name, known):
            return "official split: no item has partition '\(name)' (partitions present: "
                + "\(known.isEmpty ? "none" : known.joined(separator: ", "))): check the corpus' partition field"
        case .empty:
            return "split: the item list is empty: check the corpus path and label filter"
        case let .unknownCorpus(name, side, known):
            return "split: the \(side) side names corpus '\(name)', but no item comes from it (corpora present: "
                + "\(known.isEmpty ? "none" : known.joined(separator: ", "))): corpus names are the sources' kinds, "
                + "a second source of the same kind is 'kind#2'"
        case let .emptySide(side, name, known):
            return "split '\(name)': the \(side) side has no corpus (corpora present: "
                + "\(known.isEmpty ? "none" : known.joined(separator: ", "))): name at least one corpus for '\(side)'"
                + (side == "test" ? ", or leave 'test' out to test on every corpus not in 'train'" : "")
        case let .overlappingSides(corpora):
            return "cross-corpus split: \(corpora.joined(separator: ", ")) named on both the train and the test side: "
                + "a corpus belongs to one side"
        case let .unsharedClasses(trainOnly, testOnly, train, test):
            var parts: [String] = []
            if !trainOnly.isEmpty { parts.append("only in train (\(train.joined(separator: "+"))): \(trainOnly.joined(separator: ", "))") }
            if !testOnly.isEmpty { parts.append("only in test (\(test.joined(separator: "+"))): \(testOnly.joined(separator: ", "))") }
            return "split \(train.joined(separator: "+")) → \(test.joined(separator: "+")): classes not on both sides — "
                + parts.joined(separator: "; ") + ": map them onto shared classes (corpus.labelMap), or set "
                + "\"unsharedClasses\": \"drop\" to leave those items out of both sides"
        case let .leak(split, what, shared):
            let shown = shared.prefix(5).joined(separator: ", ") + (shared.count > 5 ? ", …" : "")
            return "split '\(split)' puts \(shared.count) \(what) on both sides (\(shown)): its protocol promises none; "
                + "this is a bug in the split code, please report it"
        }
    }
}
