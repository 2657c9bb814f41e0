import Foundation
import XCTest
@testable import EmoPipeline

/// Splits over the real RAVDESS + TESS listing and the MELD annotation files (../shared/data).
///
/// Items are made from file names alone here (the corpus readers live in Corpora/); each test prints the overlap
/// report so the numbers can be quoted.
final class SplitsRealDataTests: XCTestCase {
    private func dataRoot() throws -> URL {
        guard let root = EvalkitFixtures.repoRoot() else { throw XCTSkip("cannot find the repository root") }
        let data = root.appendingPathComponent("../shared/data").standardizedFileURL
        guard FileManager.default.fileExists(atPath: data.appendingPathComponent("ravdess").path) else {
            throw XCTSkip("real data not found at \(data.path): these tests need ../shared/data")
        }
        return data
    }

    /// RAVDESS + TESS as 7-class items (calm → neutral), speaker and sentence/word from the file names.
    private func ravdessTess() throws -> [LabelledItem] {
        let data = try dataRoot()
        let fm = FileManager.default
        let ravdessEmotions = ["01": "neutral", "02": "neutral", "03": "happy", "04": "sad", "05": "angry",
                               "06": "fear", "07": "disgust", "08": "surprise"]
        var items: [LabelledItem] = []
        for actor in try fm.contentsOfDirectory(atPath: data.appendingPathComponent("ravdess").path).sorted() {
            let folder = data.appendingPathComponent("ravdess/\(actor)")
            for file in try fm.contentsOfDirectory(atPath: folder.path).sorted() where file.hasSuffix(".flac") {
                let f = file.dropLast(5).split(separator: "-").map(String.init)
                guard f.count == 7, let label = ravdessEmotions[f[2]] else { continue }
                items.append(LabelledItem(label: label, speaker: "ravdess/\(actor)", textID: "ravdess/statement-\(f[4])",
                                          corpus: "ravdess"))
            }
        }
        for folder in try fm.contentsOfDirectory(atPath: data.appendingPathComponent("tess").path).sorted() {
            let parts = folder.split(separator: "_", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            let label = parts[1].lowercased().contains("surprise") ? "surprise" : parts[1].lowercased()
            for file in try fm.contentsOfDirectory(atPath: data.appendingPathComponent("tess/\(folder)").path).sorted()
            where file.hasSuffix(".flac") {
                let word = file.split(separator: "_").dropFirst().first.map(String.init) ?? file
                items.append(LabelledItem(label: label, speaker: "tess/\(parts[0])", textID: "tess/word-\(word.lowercased())",
                                          corpus: "tess"))
            }
        }
        return items
    }

    func testRavdessTessProtocols() throws {
        let items = try ravdessTess()
        XCTAssertEqual(items.count, 1440 + 2800)
        XCTAssertEqual(Set(items.map(\.label)).count, 7)

        let random = try XCTUnwrap(try SplitProtocol.stratified(testFraction: 0.2).splits(of: items, seed: 42).first)
        XCTAssertEqual(random.test.count, 848)
        print("[evalkit] random 80/20 seed 42: \(random.overlap.summary)")

        for seed: UInt64 in [42, 123, 2025] {
            let grouped = try XCTUnwrap(try SplitProtocol.groupedByText(testFraction: 0.2).splits(of: items, seed: seed).first)
            XCTAssertEqual(grouped.overlap.sharedTexts, [])
            XCTAssertEqual(grouped.overlap.testItemsWithSeenText, 0)
            XCTAssertLessThanOrEqual(abs(grouped.test.count - 848), 14, "within one TESS word (14 items) of 20 %")
            print("[evalkit] grouped by text seed \(seed): test \(grouped.test.count) items; \(grouped.overlap.summary)")

            let folds = try SplitProtocol.speakerKFold(folds: 5).splits(of: items, seed: seed)
            XCTAssertEqual(folds.reduce(0) { $0 + $1.test.count }, items.count)
            for f in folds {
                XCTAssertEqual(f.overlap.sharedSpeakers, [], f.name)
                print("[evalkit] \(f.name): test \(f.test.count) items, \(f.overlap.testSpeakerCount) speakers; \(f.overlap.summary)")
            }
        }
    }

    func testRavdessTessCorpusProtocols() throws {
        let items = try ravdessTess()
        for seed: UInt64 in [42, 123, 2025] {
            let folds = try SplitProtocol.groupedByTextKFold(folds: 5).splits(of: items, seed: seed)
            XCTAssertEqual(folds.count, 5)
            for f in folds {
                let ravdess = f.test.filter { items[$0].corpus == "ravdess" }.count
                let tess = f.test.filter { items[$0].corpus == "tess" }.count
                XCTAssertEqual(ravdess, 720, "one RAVDESS statement per fold (\(f.name))")
                XCTAssertEqual(tess, 560, "40 TESS words × 14 clips per fold (\(f.name))")
                XCTAssertEqual(f.overlap.sharedTexts, [], f.name)
                print("[evalkit] \(f.name): test \(f.test.count) items (RAVDESS \(ravdess), TESS \(tess)); \(f.overlap.summary)")
            }
        }
        for (train, test, n) in [("ravdess", "tess", 2800), ("tess", "ravdess", 1440)] {
            let s = try XCTUnwrap(try SplitProtocol.crossCorpus(train: [train], test: [test], unsharedClasses: .refuse)
                .splits(of: items, seed: 42).first)
            XCTAssertEqual(s.test.count, n)
            XCTAssertEqual(s.train.count, items.count - n)
            XCTAssertEqual(s.overlap.sharedSpeakers, [])
            print("[evalkit] \(s.name): train \(s.train.count), test \(s.test.count); \(s.overlap.summary)")
        }
        let loco = try SplitProtocol.leaveOneCorpusOut(unsharedClasses: .refuse).splits(of: items, seed: 42)
        XCTAssertEqual(loco.map(\.test.count), [1440, 2800])
    }

    /// A quote-aware CSV line splitter (MELD quotes utterances that contain commas).
    private func fields(_ line: Substring) -> [String] {
        var out: [String] = [], cur = "", quoted = false
        var it = line.makeIterator()
        while let ch = it.next() {
            if ch == "\"" { quoted.toggle() } else if ch == "," && !quoted { out.append(cur); cur = "" } else { cur.append(ch) }
        }
        out.append(cur)
        return out
    }

    func testMeldOfficialSplit() throws {
        let meld = try dataRoot().appendingPathComponent("meld")
        var items: [LabelledItem] = []
        for part in ["train", "dev", "test"] {
            let text = try String(contentsOf: meld.appendingPathComponent("\(part)_sent_emo.csv"), encoding: .utf8)
            for line in text.split(whereSeparator: \.isNewline).dropFirst() {
                let f = fields(line)
                guard f.count >= 7 else { continue }
                items.append(LabelledItem(label: f[3], speaker: f[2], textID: f[1], partition: part,
                                          fields: ["dialogue": f[5], "utterance": f[6]]))
            }
        }
        let s = try XCTUnwrap(try SplitProtocol.official(train: "train", validation: "dev", test: "test").splits(of: items, seed: 0).first)
        XCTAssertGreaterThan(s.train.count, 9000)
        XCTAssertGreaterThan(s.validation.count, 1000)
        XCTAssertGreaterThan(s.test.count, 2000)
        XCTAssertFalse(s.overlap.sharedSpeakers.isEmpty, "MELD's main characters speak in every partition: reported, not hidden")
        print("[evalkit] MELD official: train \(s.train.count), dev \(s.validation.count), test \(s.test.count); \(s.overlap.summary)")
    }
}
