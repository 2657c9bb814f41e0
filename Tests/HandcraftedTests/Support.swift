import EmoTestSupport
import CSndFile
import Foundation
import XCTest

/// Test helpers: repository paths, real clips through libsndfile, fixtures written by
/// Tests/Reference/handcrafted_reference.py.
enum Support {
    /// The repository root (the folder holding Package.swift), found from this file's path.
    static var repoRoot: URL { TestRepository.root }

    /// ../shared/data next to the repository.
    static var dataDir: URL { repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data") }

    /// The fixtures folder in the source tree.
    static var fixtures: URL { repoRoot.appendingPathComponent("Tests/HandcraftedTests/Fixtures") }

    /// Reads a mono file as Float samples with libsndfile (sf_read_float, normalised to [-1, 1)); skips if absent.
    static func readMono(_ relative: String) throws -> (samples: [Float], sampleRate: Int) {
        let path = dataDir.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("real data \(path) is absent (tests that need ../shared/data skip without it)")
        }
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            XCTFail("libsndfile could not open \(path)")
            return ([], 0)
        }
        defer { sf_close(file) }
        XCTAssertEqual(info.channels, 1, "\(relative) should be mono")
        var buf = [Float](repeating: 0, count: Int(info.frames))
        let got = buf.withUnsafeMutableBufferPointer { sf_readf_float(file, $0.baseAddress, info.frames) }
        XCTAssertEqual(got, info.frames)
        return (buf, Int(info.samplerate))
    }

    /// One fixture clip: its source path, sample count and named arrays `[rows, frames]`.
    struct FixtureClip {
        var path: String
        var samples: Int
        var arrays: [String: (shape: [Int], values: [Float])]
    }

    /// Loads all fixture clips.
    static func fixtureClips() throws -> [FixtureClip] {
        let indexURL = fixtures.appendingPathComponent("handcrafted_index.json")
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: indexURL)) as? [String: Any] ?? [:]
        guard let clips = index["clips"] as? [[String: Any]] else { XCTFail("bad fixture index"); return [] }
        return try clips.map { c in
            let file = c["file"] as? String ?? ""
            let data = try Data(contentsOf: fixtures.appendingPathComponent(file))
            let all: [Float] = data.withUnsafeBytes { raw in
                (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            var arrays: [String: (shape: [Int], values: [Float])] = [:]
            for a in c["arrays"] as? [[String: Any]] ?? [] {
                let shape = a["shape"] as? [Int] ?? []
                let off = a["offset"] as? Int ?? 0
                let count = shape.reduce(1, *)
                arrays[a["name"] as? String ?? ""] = (shape, Array(all[off..<(off + count)]))
            }
            return FixtureClip(path: c["path"] as? String ?? "", samples: c["samples"] as? Int ?? 0, arrays: arrays)
        }
    }

    /// Deterministic pseudo-random numbers (SplitMix64) in [-1, 1).
    struct Rng {
        var state: UInt64
        mutating func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(1 << 52) - 1
        }
    }
}
