import EmoTensor
extension SplitProtocol {
    /// The splits (one, or one per fold) of `items` under this protocol; a pure function of `items` and `seed`.
    ///
    /// - stratified: per class, a seeded shuffle puts `round`-allocated items into test (largest remainder, so the
    ///   test part has exactly `round(n · testFraction)` items and each class within one item of its share).
    /// - grouped-by-text: texts are shuffled; in that order a text goes to test while the test part stays within
    ///   `round(n · testFraction)` items, then at most one more text is added if that lands closer to the target.
    ///   Every item of a text lands on one side; classes are not stratified (texts in these corpora carry every
    ///   emotion). With very large texts (RAVDESS has two sentences of 720 items each) whether such a text is in
    ///   test depends on the seed: the overlap report and the label counts say which.
    /// - speaker-kfold: speakers are shuffled, then, largest first (stable), each goes to the fold with fewest items
    ///   so far (like scikit-learn's GroupKFold, with a seeded order among equal-sized speakers).
    /// - leave-one-speaker-out: one fold per speaker, in sorted speaker order (the seed is not used).
    /// - official: the items' `partition` field (the seed is not used).
    public func splits<Item: SplitItem>(of items: [Item], seed: UInt64) throws(SplitError) -> [Split] {
        guard !items.isEmpty else { throw .empty }
        switch self {
        case .stratified(let f):
            try Self.check(fraction: f, name: "testFraction")
            let test = Self.stratifiedSample(Array(items.indices), items: items, fraction: f, seed: seed)
            let testSet = Set(test)
            let train = items.indices.filter { !testSet.contains($0) }
            guard !train.isEmpty, !test.isEmpty else { throw .tooFewGroups(what: "items", have: items.count, need: 2) }
            return [Split(name: "\(displayName) seed \(seed)", train: train, test: test, items: items)]
        case .groupedByText(let f):
            try Self.check(fraction: f, name: "testFraction")
            return [try groupedByText(items, fraction: f, seed: seed)]
        case .speakerKFold(let k):
            return try speakerKFold(items, folds: k, seed: seed)
        case .leaveOneSpeakerOut:
            let speakers = try Self.speakers(of: items, protocolName: kind)
            let names = speakers.keys.sorted()
            guard names.count >= 2 else { throw .tooFewGroups(what: "speakers", have: names.count, need: 2) }
            return names.enumerated().map { i, name in
                let test = speakers[name] ?? []
                let testSet = Set(test)
                return Split(name: "leave-one-speaker-out \(i + 1)/\(names.count) (\(name))",
                             train: items.indices.filter { !testSet.contains($0) }, test: test, items: items)
            }
        case let .official(trainName, validationName, testName):
            var byPartition: [String: [Int]] = [:]
            for (i, item) in items.enumerated() {
                guard let p = item.partition else { throw .missingField(field: "partition", protocolName: kind, itemIndex: i) }
                byPartition[p, default: []].append(i)
            }
            let known = byPartition.keys.sorted()
            guard let train = byPartition[trainName] else { throw .emptyPartition(name: trainName, known: known) }
            guard let test = byPartition[testName] else { throw .emptyPartition(name: testName, known: known) }
            var validation: [Int] = []
            if let v = validationName {
                guard let part = byPartition[v] else { throw .emptyPartition(name: v, known: known) }
                validation = part
            }
            return [Split(name: "official \(trainName)/\(validationName ?? "-")/\(testName)",
                          train: train, validation: validation, test: test, items: items)]
        }
    }

    static func check(fraction f: Double, name: String) throws(SplitError) {
        guard f > 0, f < 1, f.isFinite else { throw .badFraction(name: name, value: f) }
    }

    /// Indices (a subset of `pool`) drawn per label so that each label keeps its share; exactly
    /// `round(pool.count · fraction)` of them, allocated by largest remainder (ties: label order).
    static func stratifiedSample<Item: SplitItem>(_ pool: [Int], items: [Item], fraction: Double,
                                                  seed: UInt64) -> [Int] {
        var byLabel: [String: [Int]] = [:]
        for i in pool { byLabel[items[i].label, default: []].append(i) }
        let labels = byLabel.keys.sorted()
        let target = Int((Double(pool.count) * fraction).rounded())
        var take = labels.map { Int((Double(byLabel[$0]?.count ?? 0) * fraction).rounded(.down)) }
        let remainders = labels.enumerated().map { i, l in
            (i, Double(byLabel[l]?.count ?? 0) * fraction - Double(take[i]))
        }
        var missing = target - take.reduce(0, +)
        for (i, _) in remainders.sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }) where missing > 0 {
            take[i] += 1
            missing -= 1
        }
        var out: [Int] = []
        for (li, label) in labels.enumerated() {
            var members = byLabel[label] ?? []
            var rng = SplitMix64.derived(seed: seed, stream: Self.streamTag(label))
            rng.shuffle(&members)
            out += members.prefix(take[li])
        }
        return out.sorted()
    }

    /// A stable 64-bit tag for a string (FNV-1a), so each label gets its own random stream.
    static func streamTag(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    static func speakers<Item: SplitItem>(of items: [Item], protocolName: String) throws(SplitError) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for (i, item) in items.enumerated() {
            guard let s = item.speaker else { throw .missingField(field: "speaker", protocolName: protocolName, itemIndex: i) }
            out[s, default: []].append(i)
        }
        return out
    }

    private func groupedByText<Item: SplitItem>(_ items: [Item], fraction: Double, seed: UInt64) throws(SplitError) -> Split {
        var byText: [String: [Int]] = [:]
        for (i, item) in items.enumerated() {
            guard let t = item.textID else { throw .missingField(field: "text id", protocolName: kind, itemIndex: i) }
            byText[t, default: []].append(i)
        }
        let test = try Self.groupSample(byText, total: items.count, fraction: fraction, seed: seed, what: "distinct texts")
        let testSet = Set(test)
        return Split(name: "\(displayName) seed \(seed)", train: items.indices.filter { !testSet.contains($0) },
                     test: test, items: items)
    }

    /// Whole groups drawn so that about `fraction` of `total` items are taken: groups in seeded order go in while
    /// the sample stays within `round(total · fraction)`, then at most one more if it lands closer to the target.
    /// At least one group is taken and at least one left.
    static func groupSample(_ groups: [String: [Int]], total: Int, fraction: Double, seed: UInt64,
                            what: String) throws(SplitError) -> [Int] {
        guard groups.count >= 2 else { throw .tooFewGroups(what: what, have: groups.count, need: 2) }
        var order = groups.keys.sorted()
        var rng = SplitMix64(seed: seed)
        rng.shuffle(&order)
        let target = Int((Double(total) * fraction).rounded())
        func size(_ g: String) -> Int { groups[g]?.count ?? 0 }
        var taken: [Int] = []
        var left: [String] = []
        for g in order {
            if taken.count + size(g) <= target { taken += groups[g] ?? [] } else { left.append(g) }
        }
        let gap = abs(taken.count - target)
        if let best = left.min(by: { abs(taken.count + size($0) - target) < abs(taken.count + size($1) - target) }),
           abs(taken.count + size(best) - target) < gap {
            taken += groups[best] ?? []
        }
        // With only huge groups the first fit may take nothing, or everything.
        if taken.isEmpty, let first = order.first { taken = groups[first] ?? [] }
        guard taken.count < total else {
            throw .tooFewGroups(what: "\(what) small enough to leave both parts non-empty", have: groups.count, need: 2)
        }
        return taken.sorted()
    }

    private func speakerKFold<Item: SplitItem>(_ items: [Item], folds k: Int, seed: UInt64) throws(SplitError) -> [Split] {
        let speakers = try Self.speakers(of: items, protocolName: kind)
        guard k >= 2 else { throw .tooFewGroups(what: "folds", have: k, need: 2) }
        guard speakers.count >= k else { throw .tooFewGroups(what: "speakers", have: speakers.count, need: k) }
        var order = speakers.keys.sorted()
        var rng = SplitMix64(seed: seed)
        rng.shuffle(&order)
        // Stable sort by size, largest first: equal-sized speakers keep their shuffled order.
        let ranked = order.enumerated().sorted { a, b in
            let na = speakers[a.element]?.count ?? 0, nb = speakers[b.element]?.count ?? 0
            return na != nb ? na > nb : a.offset < b.offset
        }.map(\.element)
        var foldItems = [[Int]](repeating: [], count: k)
        var foldSpeakers = [[String]](repeating: [], count: k)
        for s in ranked {
            var best = 0
            for f in 1..<k where foldItems[f].count < foldItems[best].count { best = f }
            foldItems[best] += speakers[s] ?? []
            foldSpeakers[best].append(s)
        }
        return (0..<k).map { f in
            let testSet = Set(foldItems[f])
            return Split(name: "\(displayName) fold \(f + 1)/\(k) seed \(seed)",
                         train: items.indices.filter { !testSet.contains($0) }, test: foldItems[f], items: items)
        }
    }
}
