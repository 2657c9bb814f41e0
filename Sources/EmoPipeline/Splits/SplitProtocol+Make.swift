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
    /// - grouped-by-text k-fold: per corpus (sorted names), texts are shuffled from a stream of the seed and the
    ///   corpus name; with at least k texts, largest first (stable) each goes to the fold holding fewest of that
    ///   corpus's items so far; with fewer (m < k), fold f tests the corpus's text number f mod m in the shuffled
    ///   order (leave-one-text-out, each text tested in ⌊k/m⌋ or ⌈k/m⌉ folds). Every test fold holds every corpus.
    /// - cross-corpus: the named corpora train, the named (or all other) corpora test (the seed is not used).
    /// - leave-one-corpus-out: one fold per corpus, in sorted corpus order (the seed is not used).
    ///
    /// Every split is checked before it is returned: a text-disjoint protocol with a shared text, a
    /// speaker-disjoint one with a shared speaker or a corpus-level one with a shared corpus throws `.leak`.
    public func splits<Item: SplitItem>(of items: [Item], seed: UInt64) throws(SplitError) -> [Split] {
        let made = try makeSplits(of: items, seed: seed)
        for split in made { try verify(split) }
        return made
    }

    /// Throws `.leak` when `split` shares a group its protocol promises to keep apart (texts for `grouped-by-text`,
    /// speakers for `speaker-kfold` and `leave-one-speaker-out`, corpora for `cross-corpus` and
    /// `leave-one-corpus-out`). The check reads `split.overlap`, so it also holds after a validation part is carved.
    public func verify(_ split: Split) throws(SplitError) {
        let o = split.overlap
        switch self {
        case .groupedByText, .groupedByTextKFold:
            if !o.sharedTexts.isEmpty { throw .leak(split: split.name, what: "texts", shared: o.sharedTexts) }
        case .speakerKFold, .leaveOneSpeakerOut:
            if !o.sharedSpeakers.isEmpty { throw .leak(split: split.name, what: "speakers", shared: o.sharedSpeakers) }
        case .crossCorpus, .leaveOneCorpusOut:
            if !o.sharedCorpora.isEmpty { throw .leak(split: split.name, what: "corpora", shared: o.sharedCorpora) }
        case .stratified, .official: break
        }
    }

    private func makeSplits<Item: SplitItem>(of items: [Item], seed: UInt64) throws(SplitError) -> [Split] {
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
        case .groupedByTextKFold(let k):
            return try groupedByTextKFold(items, folds: k, seed: seed)
        case let .crossCorpus(trainNames, testNames, unshared):
            let byCorpus = try Self.corpora(of: items, protocolName: kind)
            let known = byCorpus.keys.sorted()
            guard !trainNames.isEmpty else { throw .emptySide(side: "train", protocolName: kind, known: known) }
            if let t = testNames, t.isEmpty { throw .emptySide(side: "test", protocolName: kind, known: known) }
            for (side, names) in [("train", trainNames), ("test", testNames ?? [])] {
                for name in names where byCorpus[name] == nil {
                    throw .unknownCorpus(name: name, side: side, known: known)
                }
            }
            let trainSet = Set(trainNames)
            let both = trainSet.intersection(testNames ?? []).sorted()
            guard both.isEmpty else { throw .overlappingSides(corpora: both) }
            let testSet = testNames.map(Set.init) ?? Set(known).subtracting(trainSet)
            guard !testSet.isEmpty else { throw .emptySide(side: "test", protocolName: kind, known: known) }
            return [try Self.corpusSplit(items, byCorpus: byCorpus, train: trainSet, test: testSet, unshared: unshared,
                                         name: displayName)]
        case .leaveOneCorpusOut(let unshared):
            let byCorpus = try Self.corpora(of: items, protocolName: kind)
            let names = byCorpus.keys.sorted()
            guard names.count >= 2 else { throw .tooFewGroups(what: "corpora", have: names.count, need: 2) }
            var out: [Split] = []
            for (i, name) in names.enumerated() {
                out.append(try Self.corpusSplit(items, byCorpus: byCorpus, train: Set(names).subtracting([name]),
                                                test: [name], unshared: unshared,
                                                name: "\(displayName) \(i + 1)/\(names.count) (test \(name))"))
            }
            return out
        }
    }

    /// Item indices per corpus name; every item must name its corpus.
    static func corpora<Item: SplitItem>(of items: [Item], protocolName: String) throws(SplitError) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for (i, item) in items.enumerated() {
            guard let c = item.corpusName else { throw .missingField(field: "corpus", protocolName: protocolName, itemIndex: i) }
            out[c, default: []].append(i)
        }
        return out
    }

    /// The split with `train` corpora on the training side and `test` corpora in test. Classes present on one side
    /// only throw `.unsharedClasses` (`refuse`) or are left out of both sides (`drop`).
    static func corpusSplit<Item: SplitItem>(_ items: [Item], byCorpus: [String: [Int]], train: Set<String>,
                                             test: Set<String>, unshared: UnsharedClasses,
                                             name: String) throws(SplitError) -> Split {
        var trainRows = train.sorted().flatMap { byCorpus[$0] ?? [] }
        var testRows = test.sorted().flatMap { byCorpus[$0] ?? [] }
        let trainClasses = Set(trainRows.map { items[$0].label })
        let testClasses = Set(testRows.map { items[$0].label })
        if trainClasses != testClasses {
            let error = SplitError.unsharedClasses(trainOnly: trainClasses.subtracting(testClasses).sorted(),
                                                   testOnly: testClasses.subtracting(trainClasses).sorted(),
                                                   train: train.sorted(), test: test.sorted())
            let shared = trainClasses.intersection(testClasses)
            guard unshared == .drop, !shared.isEmpty else { throw error }
            trainRows = trainRows.filter { shared.contains(items[$0].label) }
            testRows = testRows.filter { shared.contains(items[$0].label) }
        }
        return Split(name: name, train: trainRows, test: testRows, items: items)
    }

    private func groupedByTextKFold<Item: SplitItem>(_ items: [Item], folds k: Int,
                                                     seed: UInt64) throws(SplitError) -> [Split] {
        guard k >= 2 else { throw .tooFewGroups(what: "folds", have: k, need: 2) }
        // Items without a corpus name form one unnamed corpus ("").
        var byCorpus: [String: [String: [Int]]] = [:]
        for (i, item) in items.enumerated() {
            guard let t = item.textID else { throw .missingField(field: "text id", protocolName: kind, itemIndex: i) }
            byCorpus[item.corpusName ?? "", default: [:]][t, default: []].append(i)
        }
        var foldItems = [[Int]](repeating: [], count: k)
        for corpus in byCorpus.keys.sorted() {
            let texts = byCorpus[corpus] ?? [:]
            let label = corpus.isEmpty ? "the items without a corpus" : "corpus '\(corpus)'"
            guard texts.count >= 2 else {
                throw .tooFewGroups(what: "distinct texts in \(label) (one text cannot be tested on apart from training)",
                                    have: texts.count, need: 2)
            }
            var order = texts.keys.sorted()
            var rng = SplitMix64.derived(seed: seed, stream: Self.streamTag("grouped-by-text-kfold/" + corpus))
            rng.shuffle(&order)
            if order.count < k {
                // Leave-one-text-out: the texts take turns as the test text.
                for f in 0..<k { foldItems[f] += texts[order[f % order.count]] ?? [] }
                continue
            }
            let ranked = order.enumerated().sorted { a, b in
                let na = texts[a.element]?.count ?? 0, nb = texts[b.element]?.count ?? 0
                return na != nb ? na > nb : a.offset < b.offset
            }.map(\.element)
            var load = [Int](repeating: 0, count: k)
            for t in ranked {
                var best = 0
                for f in 1..<k where load[f] < load[best] { best = f }
                let rows = texts[t] ?? []
                foldItems[best] += rows
                load[best] += rows.count
            }
        }
        return (0..<k).map { f in
            let testSet = Set(foldItems[f])
            return Split(name: "\(displayName) fold \(f + 1)/\(k) seed \(seed)",
                         train: items.indices.filter { !testSet.contains($0) }, test: foldItems[f], items: items)
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
