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

/// Which speakers and texts occur on both sides of a split: reported for every split, never hidden.
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

    /// Counts overlap between the index sets `trainSide` and `test` of `items` (nil speakers/texts are ignored).
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
    }

    /// One line for logs and reports: "speakers shared 24/24 (812 test items), texts shared 0/40 (0 test items)".
    public var summary: String {
        "speakers shared \(sharedSpeakers.count)/\(testSpeakerCount) (\(testItemsWithSeenSpeaker) test items), "
            + "texts shared \(sharedTexts.count)/\(testTextCount) (\(testItemsWithSeenText) test items)"
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
        }
    }
}
