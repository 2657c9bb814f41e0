extension Split {
    /// This split with a stratified validation part of `fraction` of the training items moved out of `train`.
    ///
    /// Used for early stopping and LR-on-plateau; the test part is untouched. Validation items are drawn per label
    /// exactly as `SplitProtocol.stratified` draws test items, from a random stream separate from the split's own.
    /// A split that already has a validation part (an official dev set) is returned unchanged.
    public func withValidation<Item: SplitItem>(fraction: Double, items: [Item], seed: UInt64) throws(SplitError) -> Split {
        guard validation.isEmpty else { return self }
        try SplitProtocol.check(fraction: fraction, name: "validationFraction")
        let picked = SplitProtocol.stratifiedSample(train, items: items, fraction: fraction,
                                                    seed: seed ^ 0x5641_4C49_4441_5445)  // "VALIDATE"
        let pickedSet = Set(picked)
        let rest = train.filter { !pickedSet.contains($0) }
        guard !rest.isEmpty, !picked.isEmpty else {
            throw .tooFewGroups(what: "training items for a validation part", have: train.count, need: 2)
        }
        return Split(name: name, train: rest, validation: picked, test: test, items: items)
    }
}
