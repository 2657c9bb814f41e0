import EmoCore
import Foundation
import XCTest
@testable import EmoStore

/// `FeatureStore.merge`: union of shards, idempotence, refusal of conflicting rows and mixed component keys with
/// nothing written.
final class StoreMergeTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emomerge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        folder = dir.path
    }

    let key = FeatureKey(componentID: "fake", componentVersion: "1.0", configHash: String(repeating: "a", count: 64))
    let text = FeatureKey(componentID: "asr", componentVersion: "2.0", configHash: String(repeating: "b", count: 64))

    func clip(_ n: Int) -> ClipRecord {
        ClipRecord(pcmHash: "pcm\(n)", sampleRate: 16_000, sampleCount: 1_000 + n, format: "WAV",
                   originalSampleRate: 48_000, originalChannels: 1, fileHash: "file\(n)", decodeKey: "sr=16000", path: "/d/\(n).wav")
    }

    /// A store holding clips `range` under `key` (two outputs each) and `text` (one transcript each).
    func store(_ name: String, _ range: Range<Int>, key: FeatureKey? = nil, value: (Int) -> Float = { Float($0) }) throws -> String {
        let path = folder + "/" + name
        let s = try FeatureStore(path: path)
        let k = key ?? self.key
        try s.registerConfig(k, config: .object(["n": .number(1)]))
        try s.registerConfig(text, config: .object(["lang": .string("en")]))
        try s.commit(range.map {
            ExtractionRecord(clip: clip($0), key: k, outputs: [.array(NDArray(vector: [value($0), 0.5, -2])), .ids(shape: [2], values: [Int64($0), 7])])
        } + range.map { ExtractionRecord(clip: clip($0), key: text, outputs: [.text("utterance \($0)")]) })
        return path
    }

    func testShardsMergeToTheWholeAndAgainChangesNothing() throws {
        let whole = try FeatureStore(path: try store("whole.sqlite", 0..<10)).contentRows()
        let shards = [try store("s1.sqlite", 0..<4), try store("s2.sqlite", 4..<7), try store("s3.sqlite", 7..<10)]
        let target = folder + "/merged.sqlite"

        let first = try FeatureStore.merge(shards, into: target)
        XCTAssertTrue(first.committed)
        XCTAssertEqual(first.added, 20, "10 clips × 2 components")
        XCTAssertEqual(first.alreadyPresent, 0)
        XCTAssertEqual(first.conflictCount, 0)
        XCTAssertEqual(first.inputs.map(\.added), [8, 6, 6])
        XCTAssertEqual(first.inputs.map(\.clipsAdded), [4, 3, 3])
        let merged = try FeatureStore(path: target)
        XCTAssertEqual(try merged.contentRows(), whole, "the union of the shards holds exactly the rows of one store of everything")
        let runsAfterFirst = try merged.runs()
        XCTAssertEqual(runsAfterFirst.map(\.kind), ["merge"])

        let second = try FeatureStore.merge(shards, into: target)
        XCTAssertTrue(second.committed)
        XCTAssertEqual(second.added, 0)
        XCTAssertEqual(second.alreadyPresent, 20)
        XCTAssertEqual(try FeatureStore(path: target).contentRows(), whole, "merging twice changes nothing")
        XCTAssertEqual(try FeatureStore(path: target).runs().count, runsAfterFirst.count, "a merge that adds nothing records nothing")

        // Overlapping inputs (a shard merged again beside the whole): overlap counts as already present.
        let overlap = try FeatureStore.merge([shards[0], folder + "/whole.sqlite"], into: folder + "/overlap.sqlite")
        XCTAssertEqual(overlap.added, 20)
        XCTAssertEqual(overlap.alreadyPresent, 8)
        XCTAssertEqual(try FeatureStore(path: folder + "/overlap.sqlite").contentRows(), whole)
    }

    func testDifferentOutputsForTheSameKeyAreRefusedAndNothingIsWritten() throws {
        let a = try store("a.sqlite", 0..<5)
        let b = try store("b.sqlite", 3..<8, value: { $0 == 4 ? 99 : Float($0) })  // clip 4 disagrees, 3 agrees
        let target = folder + "/new.sqlite"
        let report = try FeatureStore.merge([a, b], into: target)
        XCTAssertFalse(report.committed)
        XCTAssertEqual(report.conflictCount, 1)
        XCTAssertEqual(report.conflicts.map(\.table), ["extractions"])
        XCTAssertTrue(report.conflicts[0].key.contains("pcm4"), report.conflicts[0].key)
        XCTAssertEqual(report.conflicts[0].source, b)
        XCTAssertTrue(report.conflicts[0].detail.contains("output 0"), report.conflicts[0].detail)
        XCTAssertEqual(report.inputs[1].alreadyPresent, 3, "clip 3 (two components) and clip 4's transcript agree")
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "a refused merge leaves no new file behind")

        // Into an existing store: unchanged, byte for byte in its rows.
        let existing = try store("existing.sqlite", 0..<2)
        let before = try FeatureStore(path: existing).contentRows()
        let again = try FeatureStore.merge([a, b], into: existing)
        XCTAssertFalse(again.committed)
        XCTAssertEqual(try FeatureStore(path: existing).contentRows(), before, "nothing partial is written")

        let json = report.json
        XCTAssertEqual(json["conflicts"]?.intValue, 1)
        XCTAssertEqual(json["committed"], .bool(false))
    }

    func testOneComponentUnderDifferentVersionsIsRefusedUnlessAllowed() throws {
        let newer = FeatureKey(componentID: "fake", componentVersion: "1.1", configHash: key.configHash)
        let a = try store("a.sqlite", 0..<3)
        let b = try store("b.sqlite", 3..<5, key: newer)
        let refused = try FeatureStore.merge([a, b], into: folder + "/m.sqlite")
        XCTAssertFalse(refused.committed)
        XCTAssertEqual(refused.keyDisagreements.map(\.componentID), ["fake"], "asr agrees, fake does not")
        let stores = refused.keyDisagreements[0].stores
        XCTAssertEqual(stores.map(\.path), [a, b])
        XCTAssertEqual(stores.map { $0.keys.map(\.key.componentVersion) }, [["1.0"], ["1.1"]])
        XCTAssertEqual(stores.map { $0.keys.map(\.clips) }, [[3], [2]])
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/m.sqlite"))

        let allowed = try FeatureStore.merge([a, b], into: folder + "/m.sqlite", allowMixedKeys: true)
        XCTAssertTrue(allowed.committed)
        XCTAssertEqual(allowed.added, 10)
        let merged = try FeatureStore(path: folder + "/m.sqlite")
        XCTAssertEqual(try merged.extractionCount(key: key), 3)
        XCTAssertEqual(try merged.extractionCount(key: newer), 2)
    }

    func testAClipSourceThatDecodedToAnotherClipIsAConflict() throws {
        let a = try store("a.sqlite", 0..<2)
        let path = folder + "/b.sqlite"
        let s = try FeatureStore(path: path)
        var odd = clip(1)
        odd.pcmHash = "pcm-other"  // same file and decoding, another clip: another decoder build
        try s.commit([ExtractionRecord(clip: odd, key: key, outputs: [.array(NDArray(vector: [1]))])])
        let report = try FeatureStore.merge([a, path], into: folder + "/m.sqlite")
        XCTAssertFalse(report.committed)
        XCTAssertEqual(report.conflicts.map(\.table), ["clip_sources"])
    }

    func testAnotherConfigTextForTheSameHashIsAConflictButAnotherVersionIsNot() throws {
        let a = try store("a.sqlite", 0..<2)
        let path = folder + "/b.sqlite"
        let s = try FeatureStore(path: path)
        try s.registerConfig(FeatureKey(componentID: "fake", componentVersion: "9.9", configHash: key.configHash), config: .object(["n": .number(1)]))
        XCTAssertTrue(try FeatureStore.merge([a, path], into: folder + "/ok.sqlite").committed,
                      "the same config under another version is what one store would keep too")
        let odd = folder + "/c.sqlite"
        try FeatureStore(path: odd).registerConfig(key, config: .object(["n": .number(2)]))
        let report = try FeatureStore.merge([a, odd], into: folder + "/m.sqlite")
        XCTAssertFalse(report.committed)
        XCTAssertEqual(report.conflicts.map(\.table), ["component_configs"])
        XCTAssertTrue(report.conflicts[0].detail.contains("another config text"), report.conflicts[0].detail)
    }

    func testStoresReadBesideTheWrittenOneServeTheirClipsAndTakeNoWrites() throws {
        let shards = [try store("s1.sqlite", 0..<4), try store("s2.sqlite", 4..<7)]
        let before = try shards.map { try FeatureStore(path: $0).contentRows() }
        let path = folder + "/main.sqlite"
        let s = try FeatureStore(path: path, alsoReading: shards)
        XCTAssertEqual(s.readPaths, shards)
        XCTAssertEqual(try s.extractedHashes(key: key), Set((0..<7).map { "pcm\($0)" }))
        XCTAssertTrue(try s.isExtracted(pcmHash: "pcm5", key: key))
        XCTAssertFalse(try s.isExtracted(pcmHash: "pcm7", key: key))
        XCTAssertEqual(try s.cachedClip(fileHash: "file6", decodeKey: "sr=16000"), "pcm6")
        XCTAssertEqual(try s.outputs(pcmHash: "pcm5", key: text), [.text("utterance 5")])
        XCTAssertEqual(try s.outputs(pcmHash: "pcm2", key: key), try FeatureStore(path: shards[0]).outputs(pcmHash: "pcm2", key: key))
        XCTAssertNil(try s.outputs(pcmHash: "pcm9", key: key))

        // New work goes to the written store only.
        try s.commit([ExtractionRecord(clip: clip(9), key: key, outputs: [.array(NDArray(vector: [9]))])])
        XCTAssertEqual(try s.extractionCountAll(), 1, "counts describe the written store")
        XCTAssertEqual(try FeatureStore(path: path).extractedHashes(key: key), ["pcm9"])
        XCTAssertEqual(try shards.map { try FeatureStore(path: $0).contentRows() }, before, "stores read beside are not written")

        XCTAssertThrowsError(try FeatureStore(path: path, alsoReading: [folder + "/absent.sqlite"])) { error in
            XCTAssertTrue(String(describing: error).contains("absent.sqlite"), "\(error)")
        }
    }

    func testBadInputsAreRefusedByName() throws {
        let a = try store("a.sqlite", 0..<2)
        XCTAssertThrowsError(try FeatureStore.merge([folder + "/missing.sqlite"], into: folder + "/m.sqlite")) { error in
            XCTAssertTrue(String(describing: error).contains("missing.sqlite"), "\(error)")
        }
        XCTAssertThrowsError(try FeatureStore.merge([a], into: a)) { error in
            XCTAssertTrue(String(describing: error).contains("both an input and the target"), "\(error)")
        }
        let notAStore = folder + "/notes.sqlite"
        try Data("not sqlite at all, just some text that is long enough to be a header".utf8).write(to: URL(fileURLWithPath: notAStore))
        XCTAssertThrowsError(try FeatureStore.merge([notAStore], into: folder + "/m.sqlite")) { error in
            XCTAssertTrue(String(describing: error).contains("notes.sqlite"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/m.sqlite"))
        XCTAssertThrowsError(try FeatureStore.merge([], into: folder + "/m.sqlite"))
    }
}
