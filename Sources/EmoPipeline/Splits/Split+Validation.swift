/// How a validation part is drawn from the training part.
public enum ValidationGrouping: String, Sendable, Codable, CaseIterable {
    /// Random, per label (the default).
    case stratified
    /// Whole training speakers: early stopping then watches speakers the model is not trained on, as the test
    /// part of a speaker-independent split does.
    case speaker
    /// Whole texts, for grouped-by-text splits.
    case text
}

extension Split {
    /// This split with a validation part of about `fraction` of the training items moved out of `train`.
    ///
    /// Used for early stopping and LR-on-plateau; the test part is untouched. `stratified` draws per label exactly
    /// as `SplitProtocol.stratified` draws test items; `speaker` and `text` take whole groups as
    /// `grouped-by-text` does. Each uses a random stream separate from the split's own. A split that already has
    /// a validation part (an official dev set) is returned unchanged.
    public func withValidation<Item: SplitItem>(fraction: Double, items: [Item], seed: UInt64,
                                                grouping: ValidationGrouping = .stratified) throws(SplitError) -> Split {
        guard validation.isEmpty else { return self }
        try SplitProtocol.check(fraction: fraction, name: "validationFraction")
        let stream = seed ^ 0x5641_4C49_4441_5445  // "VALIDATE"
        let picked: [Int]
        switch grouping {
        case .stratified:
            picked = SplitProtocol.stratifiedSample(train, items: items, fraction: fraction, seed: stream)
        case .speaker, .text:
            var groups: [String: [Int]] = [:]
            for i in train {
                let key = grouping == .speaker ? items[i].speaker : items[i].textID
                guard let k = key else {
                    throw .missingField(field: grouping == .speaker ? "speaker" : "text id",
                                        protocolName: "validation by \(grouping.rawValue)", itemIndex: i)
                }
                groups[k, default: []].append(i)
            }
            picked = try SplitProtocol.groupSample(groups, total: train.count, fraction: fraction, seed: stream,
                                                   what: "training \(grouping == .speaker ? "speakers" : "texts")")
        }
        let pickedSet = Set(picked)
        let rest = train.filter { !pickedSet.contains($0) }
        guard !rest.isEmpty, !picked.isEmpty else {
            throw .tooFewGroups(what: "training items for a validation part", have: train.count, need: 2)
        }
        return Split(name: name, train: rest, validation: picked, test: test, items: items)
    }
}
