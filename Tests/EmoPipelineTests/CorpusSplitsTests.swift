import Foundation
import XCTest
@testable import EmoPipeline

/// The corpus-aware protocols: `grouped-by-text` k-fold stratified by corpus, `cross-corpus` and
/// `leave-one-corpus-out`, their overlap report and their errors, on the RAVDESS + TESS shaped synthetic corpus.
final class CorpusSplitsTests: XCTestCase {
    /// `SyntheticCorpus.items()` with each item's corpus named from its speaker ("ravdess/…", "tess/…").
    static func items(dropping dropped: (corpus: String, label: String)? = nil) -> [LabelledItem] {
        SyntheticCorpus.items().compactMap { item in
            var out = item
            out.corpus = item.speaker.map { String($0.prefix { $0 != "/" }) }
            if let d = dropped, out.corpus == d.corpus, out.label == d.label { return nil }
            return out
        }
    }

    let items = CorpusSplitsTests.items()

    private func indices(of corpus: String) -> [Int] { items.indices.filter { items[$0].corpus == corpus } }

    // MARK: grouped-by-text k-fold

    func testGroupedKFoldIsAPureFunctionOfTheSeed() throws {
        let proto = SplitProtocol.groupedByTextKFold(folds: 5)
        let a = try proto.splits(of: items, seed: 123)
        XCTAssertEqual(a, try proto.splits(of: items, seed: 123))
        XCTAssertNotEqual(a.map(\.test), try proto.splits(of: items, seed: 2025).map(\.test))
    }

    func testGroupedKFoldIsTextDisjointAndEveryTestFoldHoldsEveryCorpus() throws {
        for seed: UInt64 in [42, 123, 2025] {
            let folds = try SplitProtocol.groupedByTextKFold(folds: 5).splits(of: items, seed: seed)
            XCTAssertEqual(folds.count, 5)
            var testedWords: [String: Int] = [:]
            var testedStatements: [String] = []
            for s in folds {
                let trainTexts = Set(s.train.compactMap { items[$0].textID })
                let testTexts = Set(s.test.compactMap { items[$0].textID })
                XCTAssertTrue(trainTexts.isDisjoint(with: testTexts), s.name)
                XCTAssertEqual(s.overlap.sharedTexts, [], s.name)
                XCTAssertEqual(s.overlap.testItemsWithSeenText, 0, s.name)
                XCTAssertEqual(s.train.count + s.test.count, items.count, "a fold covers every item once")
                XCTAssertEqual(s.overlap.testCorpora, ["ravdess", "tess"], "every corpus is tested in \(s.name)")
                XCTAssertEqual(s.overlap.trainCorpora, ["ravdess", "tess"], "every corpus is trained in \(s.name)")
                // RAVDESS-like: 2 statements < 5 folds, so exactly one statement is the test text of each fold.
                let statements = testTexts.filter { $0.hasPrefix("ravdess/") }
                XCTAssertEqual(statements.count, 1, s.name)
                testedStatements += statements
                // TESS-like: 20 words dealt into 5 folds of 4.
                let words = testTexts.filter { $0.hasPrefix("tess/") }
                XCTAssertEqual(words.count, 4, s.name)
                for w in words { testedWords[w, default: 0] += 1 }
                XCTAssertTrue(s.name.contains("stratified by corpus"), s.name)
            }
            XCTAssertEqual(testedWords.count, 20, "every word is tested")
            XCTAssertTrue(testedWords.values.allSatisfy { $0 == 1 }, "every word is tested exactly once")
            // The two statements take turns: 3 and 2 folds, never the same statement twice in a row.
            XCTAssertEqual(Set(testedStatements).count, 2)
            XCTAssertEqual(Set(testedStatements.map { s in testedStatements.filter { $0 == s }.count }), [2, 3])
            for (a, b) in zip(testedStatements, testedStatements.dropFirst()) { XCTAssertNotEqual(a, b) }
        }
    }

    func testGroupedKFoldRefusesACorpusWithOneText() {
        var one = items
        for i in one.indices where one[i].corpus == "ravdess" { one[i].textID = "ravdess/only" }
        XCTAssertThrowsError(try SplitProtocol.groupedByTextKFold(folds: 5).splits(of: one, seed: 42)) { error in
            XCTAssertEqual(error as? SplitError, .tooFewGroups(
                what: "distinct texts in corpus 'ravdess' (one text cannot be tested on apart from training)", have: 1, need: 2))
            XCTAssertTrue("\(error)".contains("'ravdess'"), "\(error)")
        }
        XCTAssertThrowsError(try SplitProtocol.groupedByTextKFold(folds: 1).splits(of: items, seed: 42))
    }

    func testTextValidationInsideAGroupedFoldKeepsTheFoldTextDisjoint() throws {
        let spec = SplitSpec(method: .groupedByTextKFold(folds: 5), validationFraction: 0.1, validationGrouping: .text)
        for s in try spec.splits(of: items, seed: 42) {
            XCTAssertFalse(s.validation.isEmpty)
            let validationTexts = Set(s.validation.compactMap { items[$0].textID })
            XCTAssertTrue(validationTexts.isDisjoint(with: s.train.compactMap { items[$0].textID }))
            XCTAssertEqual(s.overlap.sharedTexts, [])
        }
    }

    // MARK: cross-corpus

    func testCrossCorpusSidesAreExactlyTheNamedCorpora() throws {
        for (train, test) in [("ravdess", "tess"), ("tess", "ravdess")] {
            for proto in [SplitProtocol.crossCorpus(train: [train], test: [test], unsharedClasses: .refuse),
                          .crossCorpus(train: [train], test: nil, unsharedClasses: .refuse)] {
                let splits = try proto.splits(of: items, seed: 42)
                XCTAssertEqual(splits.count, 1)
                let s = splits[0]
                XCTAssertEqual(s.train, indices(of: train))
                XCTAssertEqual(s.test, indices(of: test))
                XCTAssertEqual(s.overlap.trainCorpora, [train])
                XCTAssertEqual(s.overlap.testCorpora, [test])
                XCTAssertEqual(s.overlap.sharedCorpora, [])
                XCTAssertTrue(s.overlap.summary.hasSuffix("corpora train \(train) / test \(test)"), s.overlap.summary)
                XCTAssertTrue(s.name.hasPrefix("cross-corpus \(train) → "), s.name)
                XCTAssertEqual(s, try proto.splits(of: items, seed: 7)[0], "the seed does not change a corpus split")
            }
        }
    }

    func testUnsharedClassesAreRefusedByDefaultAndDroppedOnRequest() throws {
        let lacking = Self.items(dropping: (corpus: "tess", label: "surprise"))
        XCTAssertThrowsError(try SplitProtocol.crossCorpus(train: ["ravdess"], test: ["tess"], unsharedClasses: .refuse)
            .splits(of: lacking, seed: 42)) { error in
            XCTAssertEqual(error as? SplitError, .unsharedClasses(trainOnly: ["surprise"], testOnly: [],
                                                                  train: ["ravdess"], test: ["tess"]))
            let message = "\(error)"
            XCTAssertTrue(message.contains("only in train (ravdess): surprise"), message)
            XCTAssertTrue(message.contains("\"unsharedClasses\": \"drop\""), message)
        }
        let dropped = try XCTUnwrap(try SplitProtocol.crossCorpus(train: ["ravdess"], test: ["tess"], unsharedClasses: .drop)
            .splits(of: lacking, seed: 42).first)
        XCTAssertFalse((dropped.train + dropped.test).contains { lacking[$0].label == "surprise" })
        XCTAssertEqual(dropped.train.count, lacking.indices.filter { lacking[$0].corpus == "ravdess" && lacking[$0].label != "surprise" }.count)
        XCTAssertEqual(dropped.test.count, lacking.indices.filter { lacking[$0].corpus == "tess" }.count)
        XCTAssertTrue(dropped.name.hasSuffix("shared classes"), dropped.name)
        // Leave-one-corpus-out applies the same rule to every fold.
        XCTAssertThrowsError(try SplitProtocol.leaveOneCorpusOut(unsharedClasses: .refuse).splits(of: lacking, seed: 42))
        XCTAssertEqual(try SplitProtocol.leaveOneCorpusOut(unsharedClasses: .drop).splits(of: lacking, seed: 42).count, 2)
    }

    // MARK: leave-one-corpus-out

    func testLeaveOneCorpusOutFoldsAreTheCorpora() throws {
        var three = items
        for i in three.indices where three[i].speaker == "tess/YAF" { three[i].corpus = "tess#2" }
        let folds = try SplitProtocol.leaveOneCorpusOut(unsharedClasses: .refuse).splits(of: three, seed: 42)
        let names = ["ravdess", "tess", "tess#2"]
        XCTAssertEqual(folds.map(\.overlap.testCorpora), names.map { [$0] })
        for (f, name) in zip(folds, names) {
            XCTAssertEqual(f.test, three.indices.filter { three[$0].corpus == name })
            XCTAssertEqual(f.overlap.trainCorpora, names.filter { $0 != name })
            XCTAssertEqual(f.train.count + f.test.count, three.count)
            XCTAssertTrue(f.name.hasSuffix("(test \(name))"), f.name)
        }
        XCTAssertThrowsError(try SplitProtocol.leaveOneCorpusOut(unsharedClasses: .refuse)
            .splits(of: items.filter { $0.corpus == "tess" }, seed: 42)) { error in
            XCTAssertEqual(error as? SplitError, .tooFewGroups(what: "corpora", have: 1, need: 2))
        }
    }

    // MARK: errors

    func testBadCorpusSplitsNameWhatIsWrong() {
        func message(_ proto: SplitProtocol, _ list: [LabelledItem]? = nil) -> String {
            do {
                _ = try proto.splits(of: list ?? items, seed: 42)
                XCTFail("\(proto) should fail")
                return ""
            } catch { return "\(error)" }
        }
        let unknown = message(.crossCorpus(train: ["ravdes"], test: ["tess"], unsharedClasses: .refuse))
        XCTAssertTrue(unknown.contains("train side names corpus 'ravdes'"), unknown)
        XCTAssertTrue(unknown.contains("corpora present: ravdess, tess"), unknown)
        let unknownTest = message(.crossCorpus(train: ["ravdess"], test: ["crema"], unsharedClasses: .refuse))
        XCTAssertTrue(unknownTest.contains("test side names corpus 'crema'"), unknownTest)
        let emptyTrain = message(.crossCorpus(train: [], test: ["tess"], unsharedClasses: .refuse))
        XCTAssertTrue(emptyTrain.contains("the train side has no corpus"), emptyTrain)
        let emptyTest = message(.crossCorpus(train: ["ravdess"], test: [], unsharedClasses: .refuse))
        XCTAssertTrue(emptyTest.contains("the test side has no corpus"), emptyTest)
        let nothingLeft = message(.crossCorpus(train: ["ravdess", "tess"], test: nil, unsharedClasses: .refuse))
        XCTAssertTrue(nothingLeft.contains("the test side has no corpus"), nothingLeft)
        let overlapping = message(.crossCorpus(train: ["ravdess", "tess"], test: ["tess"], unsharedClasses: .refuse))
        XCTAssertTrue(overlapping.contains("tess named on both the train and the test side"), overlapping)
        let noCorpus = message(.leaveOneCorpusOut(unsharedClasses: .refuse), SyntheticCorpus.items())
        XCTAssertTrue(noCorpus.contains("needs a corpus for every item, but item 0 has none"), noCorpus)
    }

    func testALeakingSplitIsRefused() {
        let leaky = Split(name: "hand-made", train: [0], test: [1], items: [
            LabelledItem(label: "a", speaker: "s1", textID: "t", corpus: "x"),
            LabelledItem(label: "a", speaker: "s2", textID: "t", corpus: "x"),
        ])
        XCTAssertThrowsError(try SplitProtocol.groupedByTextKFold(folds: 2).verify(leaky)) { error in
            XCTAssertEqual(error as? SplitError, .leak(split: "hand-made", what: "texts", shared: ["t"]))
        }
        XCTAssertThrowsError(try SplitProtocol.leaveOneCorpusOut(unsharedClasses: .refuse).verify(leaky)) { error in
            XCTAssertEqual(error as? SplitError, .leak(split: "hand-made", what: "corpora", shared: ["x"]))
        }
        XCTAssertNoThrow(try SplitProtocol.speakerKFold(folds: 2).verify(leaky), "no speaker is shared")
    }

    func testTheReportsSplitTableNamesTheCorporaOnEachSide() throws {
        let split = try XCTUnwrap(try SplitProtocol.crossCorpus(train: ["tess"], test: ["ravdess"], unsharedClasses: .refuse)
            .splits(of: items, seed: 42).first)
        let truth = split.test.map { SyntheticCorpus.emotions.firstIndex(of: items[$0].label) ?? 0 }
        let metrics = try ClassificationMetrics.compute(truth: truth, predicted: truth, classes: SyntheticCorpus.emotions)
        let run = RunResult(model: "m", runProtocol: RunProtocol(corpus: "synthetic", split: split.name, scaling: "none", seeds: [42]),
                            folds: [FoldResult(seed: 42, split: split.name, overlap: split.overlap, metrics: metrics)])
        let html = HTMLReport.foldTable(run)
        XCTAssertTrue(html.contains("<th>Corpora (train / test)</th>"), html)
        XCTAssertTrue(html.contains("<td>tess / ravdess</td>"), html)

        // Per-corpus confusion: each corpus's test items alone, summed over folds.
        let ravdessRows = split.test.indices
        let perCorpus = ["ravdess": try ClassificationMetrics.compute(truth: ravdessRows.map { truth[$0] },
                                                                     predicted: ravdessRows.map { _ in 0 },
                                                                     classes: SyntheticCorpus.emotions)]
        let twice = RunResult(model: "m", runProtocol: run.runProtocol, folds: [
            FoldResult(seed: 1, split: split.name, overlap: split.overlap, metrics: metrics, perCorpus: perCorpus),
            FoldResult(seed: 2, split: split.name, overlap: split.overlap, metrics: metrics, perCorpus: perCorpus),
        ])
        let byCorpus = twice.pooledConfusionByCorpus
        XCTAssertEqual(byCorpus.map(\.corpus), ["ravdess"])
        XCTAssertEqual(byCorpus.first?.matrix.map { $0[0] }.reduce(0, +), 2 * ravdessRows.count,
                       "every test item predicted class 0, counted once per fold")
        XCTAssertTrue(HTMLReport.runSection(twice, index: 0).contains("Confusion matrix, ravdess test items only"))
    }

    // MARK: JSON

    func testNewKindsRoundTripThroughJSONAndBadFormsAreNamed() throws {
        func decode(_ json: String) throws -> SplitSpec { try JSONDecoder().decode(SplitSpec.self, from: Data(json.utf8)) }
        XCTAssertEqual(try decode(#"{"kind": "grouped-by-text", "folds": 5}"#).method, .groupedByTextKFold(folds: 5))
        XCTAssertEqual(try decode(#"{"kind": "grouped-by-text", "testFraction": 0.2}"#).method, .groupedByText(testFraction: 0.2))
        XCTAssertEqual(try decode(#"{"kind": "cross-corpus", "train": ["ravdess"], "test": ["tess"]}"#).method,
                       .crossCorpus(train: ["ravdess"], test: ["tess"], unsharedClasses: .refuse))
        XCTAssertEqual(try decode(#"{"kind": "cross-corpus", "train": "tess", "unsharedClasses": "drop"}"#).method,
                       .crossCorpus(train: ["tess"], test: nil, unsharedClasses: .drop))
        XCTAssertEqual(try decode(#"{"kind": "leave-one-corpus-out"}"#).method, .leaveOneCorpusOut(unsharedClasses: .refuse))
        for method in [SplitProtocol.groupedByTextKFold(folds: 3), .crossCorpus(train: ["a"], test: ["b", "c"], unsharedClasses: .drop),
                       .crossCorpus(train: ["a"], test: nil, unsharedClasses: .refuse), .leaveOneCorpusOut(unsharedClasses: .drop)] {
            let spec = SplitSpec(method: method, validationFraction: 0.1)
            XCTAssertEqual(try JSONDecoder().decode(SplitSpec.self, from: try JSONEncoder().encode(spec)), spec)
        }
        for bad in [#"{"kind": "grouped-by-text", "folds": 5, "testFraction": 0.2}"#, #"{"kind": "grouped-by-text"}"#] {
            XCTAssertThrowsError(try decode(bad)) { error in
                XCTAssertTrue("\(error)".contains("exactly one of 'testFraction'"), "\(error)")
            }
        }
        XCTAssertThrowsError(try decode(#"{"kind": "leave-one-corpus-out", "unsharedClasses": "keep"}"#))
    }

    func testOverlapWrittenBeforeCorporaStillReads() throws {
        let old = #"{"trainSpeakerCount": 2, "testSpeakerCount": 1, "sharedSpeakers": [], "testItemsWithSeenSpeaker": 0,"#
            + #" "trainTextCount": 3, "testTextCount": 1, "sharedTexts": [], "testItemsWithSeenText": 0}"#
        let o = try JSONDecoder().decode(SplitOverlap.self, from: Data(old.utf8))
        XCTAssertEqual(o.trainCorpora, [])
        XCTAssertEqual(o.trainTextCount, 3)
        XCTAssertFalse(o.summary.contains("corpora"), "no corpora are claimed where none were recorded")
    }

    func testSpecValidationChecksCorpusNamesBeforeAnythingRuns() throws {
        guard let root = EvalkitFixtures.repoRoot() else { throw XCTSkip("cannot find the repository root") }
        let url = root.appendingPathComponent("docs/pipelines/study-a-handcrafted-early-mlp.json")
        var spec = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func paths(_ split: [String: Any]) throws -> [String] {
            spec["split"] = split
            do {
                _ = try PipelineSpec.parse(try JSONSerialization.data(withJSONObject: spec), file: "x.json")
                return []
            } catch let e as SpecError { return e.issues.map(\.path) }
        }
        XCTAssertEqual(try paths(["kind": "cross-corpus", "train": ["ravdess"], "test": ["tess"]]), [])
        XCTAssertEqual(try paths(["kind": "cross-corpus", "train": ["ravdess"], "test": ["tes"]]), ["split.test[0]"])
        XCTAssertEqual(try paths(["kind": "cross-corpus", "train": [String](), "test": ["tess"]]), ["split.train"])
        XCTAssertEqual(try paths(["kind": "cross-corpus", "train": ["ravdess", "tess"]]), ["split.train"])
        XCTAssertEqual(try paths(["kind": "cross-corpus", "train": ["tess"], "test": ["tess"]]), ["split"])
        XCTAssertEqual(try paths(["kind": "grouped-by-text", "folds": 1]), ["split.folds"])
        XCTAssertEqual(try paths(["kind": "leave-one-corpus-out"]), [])
    }
}
