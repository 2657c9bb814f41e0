import EmoCore
import EmoPipeline
import EmoTestSupport
import Foundation
import XCTest

/// `CorpusShard`: parsing, the Slurm mapping, and the partition itself (covering, disjoint, stable, order-free).
final class CorpusShardTests: XCTestCase {
    func testParsingAcceptsOneBasedShardsAndRefusesTheRestByName() throws {
        for (text, k, n) in [("1/4", 1, 4), ("4/4", 4, 4), ("1/1", 1, 1), (" 2 / 3", 2, 3)] {
            let s = try CorpusShard.parse(text)
            XCTAssertEqual([s.index, s.count], [k, n], text)
        }
        let bad: [(String, String)] = [
            ("0/4", "K must be between 1 and N"), ("5/4", "K must be between 1 and N"), ("-1/4", "K must be between 1 and N"),
            ("1/0", "N must be at least 1"), ("a/b", "expected K/N"), ("3", "expected K/N"), ("1/2/3", "expected K/N"), ("", "expected K/N"),
        ]
        for (text, why) in bad {
            XCTAssertThrowsError(try CorpusShard.parse(text), text) { error in
                let message = String(describing: error)
                XCTAssertTrue(message.contains("--shard \(text)") && message.contains(why), message)
            }
        }
    }

    func testSlurmEnvironmentMapsToKOfN() throws {
        let cases: [([String: String], Int, Int)] = [
            (["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_COUNT": "4"], 1, 4),
            (["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"], 4, 4),
            (["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_COUNT": "16"], 3, 16),
            (["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "1", "SLURM_ARRAY_TASK_COUNT": "1"], 1, 1),
        ]
        for (env, k, n) in cases {
            let s = try CorpusShard.fromSlurm(env)
            XCTAssertEqual([s.index, s.count], [k, n], "\(env)")
        }
        let refused: [([String: String], String)] = [
            ([:], "SLURM_ARRAY_TASK_ID is not set"),
            (["SLURM_ARRAY_TASK_ID": "2"], "SLURM_ARRAY_TASK_MIN is not set"),
            (["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0"], "neither SLURM_ARRAY_TASK_COUNT"),
            (["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"], "not a whole number"),
            // --array=0-6:2 has 4 tasks over IDs 0-6: task IDs do not map onto 1...4.
            (["SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_COUNT": "4"], "a step or a list"),
            (["SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"], "outside 1...4"),
        ]
        for (env, why) in refused {
            XCTAssertThrowsError(try CorpusShard.fromSlurm(env), "\(env)") { error in
                XCTAssertTrue(String(describing: error).contains(why), String(describing: error))
            }
        }
    }

    func testShardIndexReadsTheHashPrefix() {
        // 0x10 = 16 → 16 mod 4 = 0 → shard 1; 0x…0b = 11 → 11 mod 4 = 3 → shard 4.
        XCTAssertEqual(CorpusShard.shardIndex(sha256: "0000000000000010" + String(repeating: "f", count: 48), count: 4), 1)
        XCTAssertEqual(CorpusShard.shardIndex(sha256: "000000000000000b" + String(repeating: "0", count: 48), count: 4), 4)
        XCTAssertEqual(CorpusShard.shardIndex(sha256: "ffffffffffffffff", count: 1), 1)
    }

    /// Synthetic WAV files, two of them with identical bytes, plus one missing file.
    func syntheticItems() throws -> [CorpusItem] {
        let dir = try TestRepository.temporaryFolder(self, prefix: "emokit-shard")
        var items: [CorpusItem] = []
        for i in 0..<40 {
            let url = dir.appendingPathComponent(String(format: "clip-%02d.wav", i))
            let samples = (0..<400).map { Float(sin(Double($0 * (i + 1)) * 0.01)) * 0.5 }
            try writeWAV(samples, rate: 16_000, to: url)
            items.append(CorpusItem(path: url.path, label: ["a", "b"][i % 2], speaker: "s\(i % 5)", textID: "t", group: "g\(i % 3)"))
        }
        let copy = dir.appendingPathComponent("copy-of-07.wav")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: items[7].path), to: copy)
        items.append(CorpusItem(path: copy.path, label: "b", speaker: "s2", textID: "t", group: "g1"))
        items.append(CorpusItem(path: dir.appendingPathComponent("missing.wav").path, label: "a", speaker: "s0", textID: "t", group: "g0"))
        return items
    }

    func testShardsCoverTheCorpusDisjointlyStablyAndWhateverTheOrder() throws {
        let items = try syntheticItems()
        let all = Set(items.map(\.path))
        for n in [1, 3, 4] {
            let shards = try (1...n).map { CorpusShard.select(items, shard: try CorpusShard(index: $0, count: n), workers: 2).map(\.path) }
            XCTAssertEqual(shards.reduce(0) { $0 + $1.count }, items.count, "N=\(n): every item in exactly one shard")
            XCTAssertEqual(Set(shards.flatMap { $0 }), all, "N=\(n): the union is the corpus")
            for a in 0..<n { for b in (a + 1)..<max(a + 1, n) {
                XCTAssertTrue(Set(shards[a]).isDisjoint(with: shards[b]), "N=\(n): shards \(a + 1) and \(b + 1) overlap")
            } }
            if n > 1 { XCTAssertTrue(shards.allSatisfy { $0.count < items.count }, "N=\(n): not everything in one shard") }

            // Stable across runs, and independent of the items' order (a shuffled corpus gives the same sets,
            // each in the order it was given).
            var rng = SplitMix(seed: UInt64(n))
            let shuffled = items.shuffled(using: &rng)
            for k in 1...n {
                let shard = try CorpusShard(index: k, count: n)
                XCTAssertEqual(CorpusShard.select(items, shard: shard, workers: 1).map(\.path), shards[k - 1], "N=\(n) K=\(k): rerun differs")
                let fromShuffled = CorpusShard.select(shuffled, shard: shard, workers: 3).map(\.path)
                XCTAssertEqual(Set(fromShuffled), Set(shards[k - 1]), "N=\(n) K=\(k): depends on item order")
                XCTAssertEqual(fromShuffled, shuffled.map(\.path).filter { Set(shards[k - 1]).contains($0) })
            }
            // Identical bytes land together, so the second copy is a cache hit in the same shard.
            let original = items[7].path, copy = items[40].path
            XCTAssertEqual(shards.firstIndex { $0.contains(original) }, shards.firstIndex { $0.contains(copy) })
        }
    }

    func testPlacementIsTheFileContentHashNotThePath() throws {
        let items = try syntheticItems()
        let moved = try TestRepository.temporaryFolder(self, prefix: "emokit-shard-moved")
        for item in items.prefix(12) {
            let url = URL(fileURLWithPath: item.path)
            let target = moved.appendingPathComponent("renamed-" + url.lastPathComponent)
            try FileManager.default.copyItem(at: url, to: target)
            let there = CorpusItem(path: target.path, label: item.label, speaker: item.speaker, textID: item.textID, group: item.group)
            XCTAssertEqual(CorpusShard.placementHash(of: there), CorpusShard.placementHash(of: item), "a copy elsewhere keeps its shard")
            XCTAssertEqual(CorpusShard.placementHash(of: item), SHA256.hex(ofFile: item.path))
        }
    }
}

/// SplitMix64, a seeded generator for reproducible shuffles.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
