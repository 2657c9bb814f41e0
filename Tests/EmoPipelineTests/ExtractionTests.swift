import EmoTestSupport
import EmoCore
import EmoMedia
import EmoStore
import Foundation
import XCTest
@testable import EmoPipeline

/// An in-process extractor: [T] samples → [mean, rms, T]; counts its forward calls; fails on request.
final class FakeStatsExtractor: Component {
    let info: ComponentInfo
    let scale: Double
    var forwardCalls = 0
    var failOnSampleCount: Int? = nil

    init(scale: Double = 1, kind: ComponentKind = .extractor) {
        info = ComponentInfo(kind: kind, id: "fake-stats", version: "1.0.0", displayName: "Fake stats",
                             manifest: .object([:]))
        self.scale = scale
    }

    var resolvedDescription: JSONValue { .object(["config": .object(["scale": .number(scale)]), "outputs": .array([])]) }

    func forward(_ inputs: [Value]) throws -> [Value] {
        forwardCalls += 1
        guard let x = inputs.first?.array else { throw ComponentError.invalidInput(component: info.id, message: "no array") }
        if x.count == failOnSampleCount { throw ComponentError.failed(component: info.id, message: "refuses \(x.count) samples") }
        let n = Float(x.count)
        let mean = x.data.reduce(0, +) / n
        let rms = (x.data.reduce(0) { $0 + $1 * $1 } / n).squareRoot()
        return [.array(NDArray(vector: [mean * Float(scale), rms * Float(scale), n]))]
    }
}

/// The batch extraction engine over real decoded files, a fake component and a temporary store.
final class ExtractionTests: XCTestCase {
    var dir: URL!
    var good: [String] = []

    override func setUpWithError() throws {
        dir = try TestRepository.temporaryFolder(self)
        good = []
        for k in 0..<7 {
            let url = dir.appendingPathComponent(String(format: "tone%02d.wav", k))
            let n = 1_600 + 160 * k
            try writeTestWAV((0..<n).map { Float(sin(Double($0) * 0.05 * Double(k + 1))) * 0.3 + 0.01 * Float(k) }, to: url)
            good.append(url.path)
        }
    }

    func items(_ paths: [String]) -> [CorpusItem] {
        paths.map { CorpusItem(path: $0, label: "x", speaker: "s", textID: $0, group: "g") }
    }

    func store() throws -> FeatureStore { try FeatureStore(path: dir.appendingPathComponent("store.sqlite").path) }

    func testExtractThenRerunDoesNoModelWork() throws {
        let fake = FakeStatsExtractor()
        let s = try store()
        let engine = try ExtractionEngine(component: fake, store: s, options: ExtractionOptions(batchSize: 3))
        var seen: [Int] = []
        let first = try engine.run(items: items(good)) { seen.append($0.done) }
        XCTAssertEqual(seen, Array(1...7))
        XCTAssertEqual(first.extracted, 7)
        XCTAssertEqual(first.cached, 0)
        XCTAssertEqual(first.failures, [])
        XCTAssertEqual(fake.forwardCalls, 7)
        XCTAssertEqual(try s.extractionCount(key: engine.key), 7)

        // The stored vector is the component's output on the decoded clip.
        let clip = try MediaDecoder().decode(path: good[2])
        let stored = try XCTUnwrap(s.outputs(pcmHash: clip.pcmHash, key: engine.key))
        XCTAssertEqual(stored, try fake.forward([.array(NDArray(vector: clip.samples))]))

        let again = FakeStatsExtractor()
        let second = try ExtractionEngine(component: again, store: try store(), options: ExtractionOptions(batchSize: 3))
            .run(items: items(good))
        XCTAssertEqual(second.cached, 7)
        XCTAssertEqual(second.extracted, 0)
        XCTAssertEqual(again.forwardCalls, 0, "a rerun over cached clips must not run the model")
        XCTAssertEqual(second.clipHashes, first.clipHashes)

        // A different config is a different cache key.
        let scaled = FakeStatsExtractor(scale: 2)
        let third = try ExtractionEngine(component: scaled, store: try store()).run(items: items(good))
        XCTAssertEqual(third.extracted, 7)
        XCTAssertNotEqual(third.key, first.key)
        XCTAssertEqual(try s.extractionCount(key: first.key), 7)
        XCTAssertEqual(try s.outputRowCount(key: first.key), 7)
        XCTAssertEqual(try s.runs().count, 3)
    }

    /// Bad files fail with messages naming them; the rest of the batch goes on; failures are listed in order.
    func testFailuresAreListedAndTheRestGoesOn() throws {
        let empty = dir.appendingPathComponent("empty.wav"), noise = dir.appendingPathComponent("noise.wav")
        let truncated = dir.appendingPathComponent("truncated.wav"), zero = dir.appendingPathComponent("zero.wav")
        let missing = dir.appendingPathComponent("missing.flac")
        try Data().write(to: empty)
        try Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }).write(to: noise)
        let whole = try Data(contentsOf: URL(fileURLWithPath: good[6]))
        try whole.prefix(whole.count - 1000).write(to: truncated)
        try writeTestWAV([], to: zero)
        let fake = FakeStatsExtractor()
        fake.failOnSampleCount = 1_600 + 160 * 3  // the component itself fails on tone03
        let paths = [good[0], empty.path, good[1], noise.path, truncated.path, good[2], zero.path, missing.path,
                     good[3], good[4]]
        let report = try ExtractionEngine(component: fake, store: try store(), options: ExtractionOptions(batchSize: 4, workers: 3))
            .run(items: items(paths))
        XCTAssertEqual(report.extracted, 4)
        XCTAssertEqual(report.failures.map(\.path), [empty.path, noise.path, truncated.path, zero.path, missing.path, good[3]])
        for f in report.failures { XCTAssertTrue(f.message.contains(f.path), "message must name the file: \(f.message)") }
        XCTAssertTrue(report.failures[0].message.contains("empty"))
        XCTAssertTrue(report.failures[2].message.contains("truncated"))
        XCTAssertTrue(report.failures[4].message.contains("not found"))
        XCTAssertTrue(report.failures[5].message.contains("refuses"))
    }

    /// A file deleted while the run is under way is reported as missing; the others are extracted. (Files are
    /// read a chunk of `batchSize` ahead, so the victim sits in a later chunk than the deletion.)
    func testFileVanishingMidRun() throws {
        let fake = FakeStatsExtractor()
        let victim = good[5]
        let options = ExtractionOptions(batchSize: 2, workers: 2)
        let report = try ExtractionEngine(component: fake, store: try store(), options: options).run(items: items(good)) { p in
            if p.done == 2 { try? FileManager.default.removeItem(atPath: victim) }
        }
        XCTAssertEqual(report.extracted, 6)
        XCTAssertEqual(report.failures.map(\.path), [victim])
        XCTAssertTrue(report.failures.first?.message.contains("not found") == true)
    }

    /// A run that stopped after some committed batches (as after a kill) is finished by a rerun with each clip
    /// stored exactly once; identical audio under two names is extracted once.
    func testResumeStoresEachClipOnce() throws {
        let s = try store()
        let fake = FakeStatsExtractor()
        _ = try ExtractionEngine(component: fake, store: s, options: ExtractionOptions(batchSize: 2)).run(items: items(Array(good[0..<3])))
        let copy = dir.appendingPathComponent("copy_of_tone00.wav")
        try FileManager.default.copyItem(atPath: good[0], toPath: copy.path)
        let resumed = FakeStatsExtractor()
        let report = try ExtractionEngine(component: resumed, store: s, options: ExtractionOptions(batchSize: 2))
            .run(items: items(good + [copy.path]))
        XCTAssertEqual(report.cached, 4, "three from the first run and the byte-identical copy")
        XCTAssertEqual(report.extracted, 4)
        XCTAssertEqual(resumed.forwardCalls, 4)
        XCTAssertEqual(try s.extractionCount(key: report.key), 7)
        XCTAssertEqual(try s.outputRowCount(key: report.key), 7)
    }

    /// Decoding on several threads gives the same clips, in the same order, as on one.
    func testWorkersDoNotChangeResults() throws {
        XCTAssertEqual(ParallelMap.run(100, workers: 3) { $0 * $0 }, (0..<100).map { $0 * $0 })
        let one = try ExtractionEngine(component: FakeStatsExtractor(), store: try store(),
                                       options: ExtractionOptions(batchSize: 3, workers: 1)).run(items: items(good))
        let dir2 = try TestRepository.temporaryFolder(self)
        let other = try FeatureStore(path: dir2.appendingPathComponent("s.sqlite").path)
        let four = try ExtractionEngine(component: FakeStatsExtractor(), store: other,
                                        options: ExtractionOptions(batchSize: 3, workers: 4)).run(items: items(good))
        XCTAssertEqual(one.clipHashes, four.clipHashes)
        XCTAssertEqual(four.extracted, 7)
    }

    /// An extractor with replicas runs one instance per worker: every instance's calls together cover each clip
    /// once, the stored rows are the single instance's, and a replica with another config is refused.
    func testExtractorReplicasShareTheClips() throws {
        let main = FakeStatsExtractor(), extra = FakeStatsExtractor()
        let s = try store()
        let engine = try ExtractionEngine(component: main, store: s, options: ExtractionOptions(batchSize: 3, workers: 2),
                                          replicas: [extra])
        let report = try engine.run(items: items(good + [good[0]]))
        XCTAssertEqual(report.extracted, 7)
        XCTAssertEqual(report.cached, 1, "the repeated file is cached, not run twice")
        XCTAssertEqual(main.forwardCalls + extra.forwardCalls, 7)
        for path in good {
            let clip = try MediaDecoder().decode(path: path)
            XCTAssertEqual(try s.outputs(pcmHash: clip.pcmHash, key: engine.key),
                           try FakeStatsExtractor().forward([.array(NDArray(vector: clip.samples))]))
        }
        XCTAssertThrowsError(try ExtractionEngine(component: FakeStatsExtractor(), store: s,
                                                  replicas: [FakeStatsExtractor(scale: 2)]))
        XCTAssertThrowsError(try ExtractionEngine(component: main, store: s, replicas: [main]))
    }

    /// Encoders get a batch of one, [1, T]; decode options change the clip and so the cache entry.
    func testEncoderInputShapeAndDecodeOptions() throws {
        final class ShapeEcho: Component {
            let info = ComponentInfo(kind: .encoder, id: "shape-echo", version: "1", displayName: "", manifest: .object([:]))
            var resolvedDescription: JSONValue { .object(["config": .object([:])]) }
            func forward(_ inputs: [Value]) throws -> [Value] {
                [.array(NDArray(vector: (inputs.first?.array?.shape ?? []).map(Float.init)))]
            }
        }
        let s = try store()
        let options = ExtractionOptions(decode: DecodeOptions(duration: 0.5, alignment: .centre, normalise: true))
        let report = try ExtractionEngine(component: ShapeEcho(), store: s, options: options).run(items: items([good[0]]))
        let pcm = try XCTUnwrap(report.clipHashes[good[0]])
        XCTAssertEqual(try s.outputs(pcmHash: pcm, key: report.key), [.array(NDArray(vector: [1, 8_000]))])
        let natural = try ExtractionEngine(component: ShapeEcho(), store: s).run(items: items([good[0]]))
        XCTAssertEqual(natural.extracted, 1, "other decode options are another clip")
        XCTAssertNotEqual(natural.clipHashes[good[0]], pcm)
    }
}

/// Writes a mono 16-bit 16 kHz WAV (the published RIFF layout).
func writeTestWAV(_ samples: [Float], to url: URL) throws {
    var data = Data()
    func u32(_ v: Int) { var x = UInt32(v).littleEndian; data.append(Data(bytes: &x, count: 4)) }
    func u16(_ v: Int) { var x = UInt16(v).littleEndian; data.append(Data(bytes: &x, count: 2)) }
    data.append(contentsOf: Array("RIFF".utf8)); u32(36 + samples.count * 2); data.append(contentsOf: Array("WAVE".utf8))
    data.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(1); u32(16_000); u32(32_000); u16(2); u16(16)
    data.append(contentsOf: Array("data".utf8)); u32(samples.count * 2)
    for s in samples { var v = Int16(max(-32768, min(32767, (s * 32767).rounded()))).littleEndian; data.append(Data(bytes: &v, count: 2)) }
    try data.write(to: url)
}
