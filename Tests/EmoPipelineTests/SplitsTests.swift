import EmoTensor
import XCTest
@testable import EmoPipeline

/// A synthetic corpus shaped like RAVDESS + TESS: 8 RAVDESS-like speakers × 2 statements × 7 emotions × 2
/// repetitions, plus 2 TESS-like speakers × 20 words × 7 emotions.
enum SyntheticCorpus {
    static let emotions = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]

    static func items() -> [LabelledItem] {
        var out: [LabelledItem] = []
        for actor in 1...8 {
            for statement in 1...2 {
                for e in emotions {
                    for _ in 0..<2 {
                        out.append(LabelledItem(label: e, speaker: "ravdess/Actor_\(actor)", textID: "ravdess/s\(statement)"))
                    }
                }
            }
        }
        for speaker in ["OAF", "YAF"] {
            for word in 0..<20 {
                for e in emotions { out.append(LabelledItem(label: e, speaker: "tess/\(speaker)", textID: "tess/w\(word)")) }
            }
        }
        return out
    }
}

final class SplitsTests: XCTestCase {
    let items = SyntheticCorpus.items()

    func testStratifiedSplitKeepsClassProportionsAndExactSize() throws {
        let splits = try SplitProtocol.stratified(testFraction: 0.2).splits(of: items, seed: 42)
        XCTAssertEqual(splits.count, 1)
        let s = splits[0]
        XCTAssertEqual(s.test.count, Int((Double(items.count) * 0.2).rounded()))
        XCTAssertEqual(Set(s.train).union(s.test).count, items.count)
        XCTAssertTrue(Set(s.train).isDisjoint(with: s.test))
        for e in SyntheticCorpus.emotions {
            let total = items.filter { $0.label == e }.count
            let inTest = s.test.filter { items[$0].label == e }.count
            XCTAssertLessThanOrEqual(abs(Double(inTest) - Double(total) * 0.2), 1, e)
        }
        // A random split shares speakers and texts: the report must say so.
        XCTAssertEqual(s.overlap.sharedSpeakers.count, 10)
        XCTAssertGreaterThan(s.overlap.testItemsWithSeenText, 0)
    }

    func testSameSeedSameSplitOtherSeedOtherSplit() throws {
        for proto in [SplitProtocol.stratified(testFraction: 0.2), .groupedByText(testFraction: 0.2), .speakerKFold(folds: 5)] {
            let a = try proto.splits(of: items, seed: 123)
            let b = try proto.splits(of: items, seed: 123)
            let c = try proto.splits(of: items, seed: 2025)
            XCTAssertEqual(a, b, "\(proto.kind) must be a pure function of the seed")
            XCTAssertNotEqual(a.map(\.test), c.map(\.test), "\(proto.kind) must depend on the seed")
        }
    }

    func testSplitMix64MatchesPublishedSequence() {
        // First outputs of SplitMix64 seeded with 1234567 (reference C implementation by S. Vigna).
        var g = SplitMix64(seed: 1_234_567)
        XCTAssertEqual(g.next(), 6_457_827_717_110_365_317)
        XCTAssertEqual(g.next(), 3_203_168_211_198_807_973)
        XCTAssertEqual(g.next(), 9_817_491_932_198_370_423)
    }

    func testGroupedSplitHasZeroTextOverlap() throws {
        for seed: UInt64 in [42, 123, 2025] {
            let s = try XCTUnwrap(try SplitProtocol.groupedByText(testFraction: 0.2).splits(of: items, seed: seed).first)
            let trainTexts = Set(s.train.compactMap { items[$0].textID })
            let testTexts = Set(s.test.compactMap { items[$0].textID })
            XCTAssertTrue(trainTexts.isDisjoint(with: testTexts))
            XCTAssertEqual(s.overlap.sharedTexts, [])
            XCTAssertEqual(s.overlap.testItemsWithSeenText, 0)
            XCTAssertEqual(s.train.count + s.test.count, items.count)
            XCTAssertEqual(Double(s.test.count), Double(items.count) * 0.2, accuracy: 112 / 2 + 1,
                           "within half the largest text group (a RAVDESS-like statement, 112 items) of the target")
        }
    }

    func testSpeakerKFoldHasZeroSpeakerOverlapAndCoversEveryItemOnce() throws {
        let folds = try SplitProtocol.speakerKFold(folds: 5).splits(of: items, seed: 7)
        XCTAssertEqual(folds.count, 5)
        var seen = [Int](repeating: 0, count: items.count)
        for f in folds {
            let trainSpeakers = Set(f.train.compactMap { items[$0].speaker })
            let testSpeakers = Set(f.test.compactMap { items[$0].speaker })
            XCTAssertTrue(trainSpeakers.isDisjoint(with: testSpeakers), f.name)
            XCTAssertEqual(f.overlap.sharedSpeakers, [])
            XCTAssertEqual(f.overlap.testItemsWithSeenSpeaker, 0)
            for i in f.test { seen[i] += 1 }
        }
        XCTAssertEqual(Set(seen), [1], "each item is tested exactly once")
    }

    func testLeaveOneSpeakerOut() throws {
        let folds = try SplitProtocol.leaveOneSpeakerOut.splits(of: items, seed: 0)
        XCTAssertEqual(folds.count, 10)
        for f in folds {
            XCTAssertEqual(Set(f.test.compactMap { items[$0].speaker }).count, 1)
            XCTAssertEqual(f.overlap.sharedSpeakers, [])
            XCTAssertEqual(f.overlap.trainSpeakerCount, 9)
        }
    }

    func testOfficialSplitUsesPartitions() throws {
        let meld = (0..<30).map { i in
            LabelledItem(label: ["joy", "anger", "neutral"][i % 3], speaker: ["Ross", "Monica"][i % 2],
                         partition: i < 20 ? "train" : (i < 25 ? "dev" : "test"))
        }
        let s = try XCTUnwrap(try SplitProtocol.official(train: "train", validation: "dev", test: "test")
            .splits(of: meld, seed: 0).first)
        XCTAssertEqual(s.train, Array(0..<20))
        XCTAssertEqual(s.validation, Array(20..<25))
        XCTAssertEqual(s.test, Array(25..<30))
        XCTAssertEqual(s.overlap.sharedSpeakers, ["Monica", "Ross"])
        XCTAssertThrowsError(try SplitProtocol.official(train: "train", validation: nil, test: "eval").splits(of: meld, seed: 0)) {
            XCTAssertEqual($0 as? SplitError, .emptyPartition(name: "eval", known: ["dev", "test", "train"]))
        }
    }

    func testValidationIsCarvedFromTrainStratified() throws {
        let s = try XCTUnwrap(try SplitProtocol.stratified(testFraction: 0.2).splits(of: items, seed: 42).first)
        let v = try s.withValidation(fraction: 0.1, items: items, seed: 42)
        XCTAssertEqual(v.test, s.test, "test part untouched")
        XCTAssertEqual(Set(v.train).union(v.validation), Set(s.train))
        XCTAssertTrue(Set(v.train).isDisjoint(with: v.validation))
        XCTAssertEqual(v.validation.count, Int((Double(s.train.count) * 0.1).rounded()))
        for e in SyntheticCorpus.emotions {
            let inTrain = s.train.filter { items[$0].label == e }.count
            let inValidation = v.validation.filter { items[$0].label == e }.count
            XCTAssertLessThanOrEqual(abs(Double(inValidation) - Double(inTrain) * 0.1), 1, e)
        }
        XCTAssertEqual(try v.withValidation(fraction: 0.3, items: items, seed: 1), v, "an existing validation part is kept")
    }

    func testSpeakerGroupedValidationHoldsOutWholeSpeakers() throws {
        let spec = SplitSpec(method: .speakerKFold(folds: 5), validationFraction: 0.15, validationGrouping: .speaker)
        let folds = try spec.splits(of: items, seed: 42)
        XCTAssertEqual(folds, try spec.splits(of: items, seed: 42), "deterministic")
        for f in folds {
            let trainSpeakers = Set(f.train.compactMap { items[$0].speaker })
            let validationSpeakers = Set(f.validation.compactMap { items[$0].speaker })
            let testSpeakers = Set(f.test.compactMap { items[$0].speaker })
            XCTAssertFalse(validationSpeakers.isEmpty, f.name)
            XCTAssertTrue(trainSpeakers.isDisjoint(with: validationSpeakers), f.name)
            XCTAssertTrue(validationSpeakers.isDisjoint(with: testSpeakers), f.name)
            XCTAssertEqual(Set(f.train + f.validation + f.test).count, items.count)
        }
        let byText = try SplitSpec(method: .groupedByText(testFraction: 0.2), validationFraction: 0.1, validationGrouping: .text)
            .splits(of: items, seed: 7)[0]
        let trainTexts = Set(byText.train.compactMap { items[$0].textID })
        XCTAssertTrue(trainTexts.isDisjoint(with: byText.validation.compactMap { items[$0].textID }))
    }

    func testOverlapCountsByHand() {
        let tiny = [LabelledItem(label: "a", speaker: "s1", textID: "t1"), LabelledItem(label: "a", speaker: "s2", textID: "t1"),
                    LabelledItem(label: "b", speaker: "s1", textID: "t2"), LabelledItem(label: "b", speaker: "s3", textID: "t3")]
        let s = Split(name: "hand", train: [0, 1], test: [2, 3], items: tiny)
        XCTAssertEqual(s.overlap.sharedSpeakers, ["s1"])
        XCTAssertEqual(s.overlap.testItemsWithSeenSpeaker, 1)
        XCTAssertEqual(s.overlap.sharedTexts, [])
        XCTAssertEqual(s.overlap.trainSpeakerCount, 2)
        XCTAssertEqual(s.overlap.testTextCount, 2)
    }

    func testErrorsNameTheMissingField() {
        let noSpeaker = [LabelledItem(label: "a"), LabelledItem(label: "b")]
        XCTAssertThrowsError(try SplitProtocol.speakerKFold(folds: 2).splits(of: noSpeaker, seed: 0)) {
            XCTAssertEqual($0 as? SplitError, .missingField(field: "speaker", protocolName: "speaker-kfold", itemIndex: 0))
            XCTAssertTrue(String(describing: $0).contains("item 0 has none"))
        }
        XCTAssertThrowsError(try SplitProtocol.stratified(testFraction: 1.2).splits(of: items, seed: 0))
        XCTAssertThrowsError(try SplitProtocol.speakerKFold(folds: 11).splits(of: items, seed: 0)) {
            XCTAssertEqual($0 as? SplitError, .tooFewGroups(what: "speakers", have: 10, need: 11))
        }
    }
}
