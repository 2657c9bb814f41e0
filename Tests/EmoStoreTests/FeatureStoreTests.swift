import EmoCore
import Foundation
import XCTest
@testable import EmoStore

/// The feature store: schema migrations, value round trips, idempotent batches, runs, metrics and exports.
final class FeatureStoreTests: XCTestCase {
    func temporaryStore() throws -> (FeatureStore, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emostore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("store.sqlite").path
        return (try FeatureStore(path: path), path)
    }

    let key = FeatureKey(componentID: "fake", componentVersion: "1.0", configHash: String(repeating: "a", count: 64))

    func clip(_ n: Int) -> ClipRecord {
        ClipRecord(pcmHash: "pcm\(n)", sampleRate: 16_000, sampleCount: 1_000 + n, format: "FLAC",
                   originalSampleRate: 48_000, originalChannels: 2, fileHash: "file\(n)", decodeKey: "sr=16000", path: "/d/\(n).flac")
    }

    /// A run begun by a process that has exited reads "interrupted"; one begun by this process "running"; one from
    /// another host cannot be checked and says so; a pid reused by another process does not pass for the run's.
    func testRunsWhoseProcessIsGoneReadInterrupted() throws {
        let (store, _) = try temporaryStore()
        let mine = try store.beginRun(kind: "extract", config: ["component": "fake"])
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let here = RunOwner.current.host
        let dead = try store.beginRun(kind: "extract", config: [:], owner: RunOwner(pid: Int(gone.processIdentifier), host: here, processStart: "1"))
        let reused = try store.beginRun(kind: "extract", config: [:], owner: RunOwner(pid: Int(getpid()), host: here, processStart: "0"))
        let remote = try store.beginRun(kind: "extract", config: [:], owner: RunOwner(pid: 1, host: "elsewhere", processStart: "5"))
        let finished = try store.beginRun(kind: "extract", config: [:])
        try store.finishRun(finished, status: "finished")
        let byID = Dictionary(uniqueKeysWithValues: try store.runs().map { ($0.id, $0) })
        XCTAssertEqual(byID[mine]?.effectiveStatus, "running")
        XCTAssertEqual(byID[mine]?.owner?.pid, Int(getpid()))
        XCTAssertTrue(byID[dead]?.effectiveStatus.hasPrefix("interrupted") == true, "\(String(describing: byID[dead]))")
        XCTAssertTrue(byID[reused]?.effectiveStatus.hasPrefix("interrupted") == true, "another start time: not the run's process")
        XCTAssertEqual(byID[remote]?.effectiveStatus, "running on elsewhere (pid 1)")
        XCTAssertEqual(byID[finished]?.effectiveStatus, "finished")
    }

    func testSchemaAndWAL() throws {
        let (store, path) = try temporaryStore()
        XCTAssertEqual(try store.schemaVersion(), Schema.currentVersion)
        let db = try SQLiteConnection(path: path)
        let s = try db.prepare("PRAGMA journal_mode")
        XCTAssertTrue(try s.step())
        XCTAssertEqual(s.text(0), "wal")
        // Reopening migrates nothing and keeps the version.
        XCTAssertEqual(try FeatureStore(path: path).schemaVersion(), Schema.currentVersion)
    }

    func testNewerSchemaIsRefusedWithAClearError() throws {
        let (_, path) = try temporaryStore()
        try SQLiteConnection(path: path).execute("PRAGMA user_version = 99")
        XCTAssertThrowsError(try FeatureStore(path: path)) { error in
            XCTAssertEqual(error as? StoreError, .newerSchema(path: path, found: 99, known: Schema.currentVersion))
            XCTAssertTrue(String(describing: error).contains(path))
        }
    }

    func testValuesRoundTrip() throws {
        let (store, _) = try temporaryStore()
        let outputs: [Value] = [
            .array(try NDArray(shape: [2, 3], data: [1, -2.5, .pi, 0, Float.leastNonzeroMagnitude, -Float.greatestFiniteMagnitude])),
            .ids(shape: [3], values: [0, -1, Int64.max]),
            .text("Say the word back, \"quoted\" ünïcode"),
        ]
        try store.commit([ExtractionRecord(clip: clip(1), key: key, outputs: outputs)])
        XCTAssertEqual(try store.outputs(pcmHash: "pcm1", key: key), outputs)
        XCTAssertNil(try store.outputs(pcmHash: "pcm2", key: key))
        XCTAssertTrue(try store.isExtracted(pcmHash: "pcm1", key: key))
        let otherVersion = FeatureKey(componentID: "fake", componentVersion: "1.1", configHash: key.configHash)
        XCTAssertFalse(try store.isExtracted(pcmHash: "pcm1", key: otherVersion), "the version is part of the key")
        XCTAssertEqual(try store.cachedClip(fileHash: "file1", decodeKey: "sr=16000"), "pcm1")
        XCTAssertNil(try store.cachedClip(fileHash: "file1", decodeKey: "sr=16000;mvn=1"))
    }

    func testReplayedBatchesDoNotDuplicateRows() throws {
        let (store, path) = try temporaryStore()
        let batch = (0..<10).map { ExtractionRecord(clip: clip($0), key: key, outputs: [.array(NDArray(vector: [Float($0), 1]))]) }
        try store.commit(Array(batch[0..<6]))
        try store.commit(Array(batch[4..<10]))  // overlaps 4 and 5, as a resumed run after a kill would
        try store.commit(batch)
        XCTAssertEqual(try store.extractionCount(key: key), 10)
        XCTAssertEqual(try store.outputRowCount(key: key), 10)
        XCTAssertEqual(try store.clipCount(), 10)
        XCTAssertEqual(try store.extractedHashes(key: key), Set((0..<10).map { "pcm\($0)" }))
        // Another connection (another process after a crash) sees the committed rows.
        XCTAssertEqual(try FeatureStore(path: path).extractionCount(key: key), 10)
    }

    func testRunsAndMetrics() throws {
        let (store, _) = try temporaryStore()
        let id = try store.beginRun(kind: "train", config: .object(["seed": .number(42)]))
        try store.recordMetric(run: id, name: "accuracy", value: 0.5, split: "test")
        try store.recordMetric(run: id, name: "accuracy", value: 0.75, split: "test")
        try store.recordMetric(run: id, name: "macro_f1", value: 0.6, split: "test")
        try store.finishRun(id, status: "finished")
        XCTAssertEqual(try store.metrics(run: id), ["test": ["accuracy": 0.75, "macro_f1": 0.6]])
        let runs = try store.runs()
        XCTAssertEqual(runs.count, 1)
        XCTAssertEqual(runs[0].status, "finished")
        XCTAssertEqual(runs[0].config, .object(["seed": .number(42)]))
        XCTAssertNotNil(runs[0].finishedAt)
    }

    func testExportCSVAndNPY() throws {
        let (store, path) = try temporaryStore()
        let records = (0..<3).map { ExtractionRecord(clip: clip($0), key: key, outputs: [.array(NDArray(vector: [Float($0), 0.5, -1e-3]))]) }
        try store.commit(records)
        let table = try store.featureTable(key: key, rows: (0..<3).map { ("pcm\($0)", "/d/\($0).flac") },
                                           columns: [("label", ["sad", "happy, very", "say \"hi\""])])
        XCTAssertEqual(table.width, 3)
        let csv = table.csv().split(separator: "\n").map(String.init)
        XCTAssertEqual(csv[0], "id,label,f0,f1,f2")
        XCTAssertEqual(csv[1], "/d/0.flac,sad,0,0.5,-0.00100000005")
        XCTAssertEqual(csv[2], "/d/1.flac,\"happy, very\",1,0.5,-0.00100000005")
        XCTAssertEqual(csv[3], "/d/2.flac,\"say \"\"hi\"\"\",2,0.5,-0.00100000005")

        // .npy layout from the NumPy format spec: magic, version 1.0, little-endian header length, header padded
        // so the data starts at a multiple of 64, then the raw '<f4' data.
        let npy = table.npy()
        XCTAssertEqual(Array(npy[0..<8]), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(npy[8]) | Int(npy[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: npy[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }"), header)
        XCTAssertTrue(header.hasSuffix("\n"))
        XCTAssertEqual(npy.count, 10 + headerLength + 9 * 4)
        let fourth = npy[(10 + headerLength + 12)..<(10 + headerLength + 16)]
        XCTAssertEqual(Float(bitPattern: fourth.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }), 1)

        let out = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("f.npy").path
        try table.write(to: out)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.replacingOccurrences(of: ".npy", with: ".ids.csv")))
        XCTAssertThrowsError(try table.write(to: out + ".xlsx"))
        XCTAssertThrowsError(try store.featureTable(key: key, rows: [("missing", "/d/missing.flac")]))
    }
}
