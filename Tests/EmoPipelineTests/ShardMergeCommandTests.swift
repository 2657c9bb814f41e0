import EmoCore
import EmoStore
import EmoTestSupport
import Foundation
import XCTest

/// `emo extract --shard` and `emo store merge` through the real executable, on real RAVDESS clips.
final class ShardMergeCommandTests: XCTestCase {
    func testBadShardValuesAreRefusedByName() throws {
        let emo = try TestRepository.emoExecutable().path
        let dir = try TestRepository.temporaryFolder(self)
        let store = dir.appendingPathComponent("x.sqlite").path
        let cases = [("0/4", "K must be between 1 and N"), ("5/4", "K must be between 1 and N"),
                     ("a/b", "expected K/N"), ("1/0", "N must be at least 1")]
        for (value, why) in cases {
            let r = try TestRepository.run(emo, ["extract", dir.path, "--kind", "manifest", "--component", "template-stats",
                                                 "--shard", value, "--store", store])
            XCTAssertNotEqual(r.status, 0, value)
            XCTAssertTrue(r.output.contains("--shard \(value)") && r.output.contains(why), r.output)
        }
        var env = ProcessInfo.processInfo.environment
        for k in env.keys where k.hasPrefix("SLURM_") { env[k] = nil }
        let r = try TestRepository.run(emo, ["extract", dir.path, "--kind", "manifest", "--component", "template-stats",
                                             "--shard", "slurm", "--store", store], environment: env)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("SLURM_ARRAY_TASK_ID is not set"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store), "a refused shard does no work")
    }

    func testShardedExtractionMergesIntoTheSingleProcessStore() throws {
        let emo = try TestRepository.emoExecutable().path
        let ravdess = try TestRepository.sharedData().appendingPathComponent("ravdess").path
        let dir = try TestRepository.temporaryFolder(self)
        let common = ["extract", ravdess, "--kind", "ravdess", "--component", "template-stats", "--limit", "24", "--quiet"]
        let single = dir.appendingPathComponent("single.sqlite").path
        let whole = try TestRepository.run(emo, common + ["--store", single], includeStandardError: false)
        XCTAssertEqual(whole.status, 0, whole.output)

        var shardStores: [String] = [], counts: [Int] = []
        for k in 1...3 {
            let store = dir.appendingPathComponent("shard-\(k).sqlite").path
            let r = try TestRepository.run(emo, common + ["--shard", "\(k)/3", "--store", store, "--json"], includeStandardError: false)
            XCTAssertEqual(r.status, 0, r.output)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any], r.output)
            XCTAssertEqual(report["shard"] as? String, "\(k)/3")
            XCTAssertEqual(report["corpus_items"] as? Int, 24)
            counts.append(try XCTUnwrap(report["total"] as? Int))
            shardStores.append(store)
        }
        XCTAssertEqual(counts.reduce(0, +), 24, "every item in exactly one shard: \(counts)")

        let merged = dir.appendingPathComponent("merged.sqlite").path
        let m = try TestRepository.run(emo, ["store", "merge"] + shardStores + ["--into", merged, "--json"], includeStandardError: false)
        XCTAssertEqual(m.status, 0, m.output)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(m.output.utf8)) as? [String: Any], m.output)
        XCTAssertEqual(report["added"] as? Int, 24)
        XCTAssertEqual(report["conflicts"] as? Int, 0)
        let expected = try FeatureStore(path: single).contentRows()
        XCTAssertFalse(expected.filter { $0.hasPrefix("features|") }.isEmpty)
        XCTAssertEqual(try FeatureStore(path: merged).contentRows(), expected, "merged shards hold exactly the single-process rows")

        // The shards can also be read in place: a fresh store that reads them beside it needs no extraction.
        let reading = dir.appendingPathComponent("reading.sqlite").path
        let r = try TestRepository.run(emo, common + ["--store", reading] + shardStores.flatMap { ["--store", $0] } + ["--json"],
                                       includeStandardError: false)
        XCTAssertEqual(r.status, 0, r.output)
        let readReport = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any], r.output)
        XCTAssertEqual(readReport["cached"] as? Int, 24)
        XCTAssertEqual(readReport["extracted"] as? Int, 0)

        // Merging again changes nothing and says so.
        let again = try TestRepository.run(emo, ["store", "merge"] + shardStores + ["--into", merged])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.output.contains("added 0, already present 24, conflicts 0"), again.output)
        XCTAssertEqual(try FeatureStore(path: merged).contentRows(), expected)
    }

    func testMergeCommandRefusesConflictsWithStatus1AndWritesNothing() throws {
        let emo = try TestRepository.emoExecutable().path
        let dir = try TestRepository.temporaryFolder(self)
        let key = FeatureKey(componentID: "fake", componentVersion: "1.0", configHash: String(repeating: "c", count: 64))
        var paths: [String] = []
        for (name, value) in [("a", Float(1)), ("b", Float(2))] {
            let path = dir.appendingPathComponent("\(name).sqlite").path
            let clip = ClipRecord(pcmHash: "pcm-same", sampleRate: 16_000, sampleCount: 100, format: "WAV", originalSampleRate: 16_000,
                                  originalChannels: 1, fileHash: "file-same", decodeKey: "k", path: "/x.wav")
            try FeatureStore(path: path).commit([ExtractionRecord(clip: clip, key: key, outputs: [.array(NDArray(vector: [value]))])])
            paths.append(path)
        }
        let target = dir.appendingPathComponent("m.sqlite").path
        let r = try TestRepository.run(emo, ["store", "merge"] + paths + ["--into", target])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("refused: nothing was written"), r.output)
        XCTAssertTrue(r.output.contains("1 conflicting row(s) (extractions 1)"), r.output)
        XCTAssertTrue(r.output.contains("fake@1.0#cccccccccccc clip pcm-same"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
    }
}
