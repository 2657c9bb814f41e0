import EmoTestSupport
import EmoCore
import EmoMedia
import EmoRuntime
import EmoStore
import EmoTensor
import Foundation
import XCTest
@testable import EmoPipeline

/// Passes every call to a real component and records the input shapes of each forward.
final class RecordingComponent: Component {
    let inner: any Component
    private(set) var calls: [[[Int]]] = []
    init(_ inner: any Component) { self.inner = inner }
    var info: ComponentInfo { inner.info }
    var resolvedDescription: JSONValue { inner.resolvedDescription }
    func forward(_ inputs: [Value]) throws -> [Value] {
        calls.append(inputs.map { $0.array?.shape ?? [] })
        return try inner.forward(inputs)
    }
}

/// Length-bucketed encoder batches through the plugin ABI (the tiny random-weight speech encoders): every clip's
/// stored embedding equals the one-clip path's up to rounding, and a bad clip costs only its own row.
final class ExtractionBatchingTests: XCTestCase {
    var dir: URL!
    /// Clips of 9 different lengths (0.1–0.5 s), noise plus a tone, so the padding in a batch differs per clip.
    var paths: [String] = []

    override func setUpWithError() throws {
        dir = try TestRepository.temporaryFolder(self)
        var rng = SeededGenerator(seed: 21)
        paths = try (0..<9).map { k in
            let url = dir.appendingPathComponent(String(format: "clip%02d.wav", k))
            let n = 1_700 + 731 * ((k * 5) % 9)
            let samples = (0..<n).map { i in
                Float(sin(Double(i) * 0.013 * Double(k + 2))) * 0.4 + Float.random(in: -0.2...0.2, using: &rng)
            }
            try writeTestWAV(samples, to: url)
            return url.path
        }
    }

    func items(_ paths: [String]) -> [CorpusItem] {
        paths.map { CorpusItem(path: $0, label: "x", speaker: "s", textID: $0, group: "g") }
    }

    func encoder(_ id: String, fixture: String) throws -> any Component {
        let host = try TestPlugins.sharedHost()
        let model = TestRepository.path("Tests/EmoModelsTests/Fixtures/encoders/\(fixture)")
        return try host.instantiate(id: id, config: ["model": .string(model)])
    }

    /// Extracts `paths` with `options` into a fresh store; returns each path's stored outputs.
    func extract(_ component: any Component, _ paths: [String], options: ExtractionOptions,
                 file: StaticString = #filePath, line: UInt = #line) throws -> (ExtractionReport, [String: [Value]]) {
        let store = try FeatureStore(path: dir.appendingPathComponent("\(UUID().uuidString).sqlite").path)
        let engine = try ExtractionEngine(component: component, store: store, options: options)
        let report = try engine.run(items: items(paths))
        var rows: [String: [Value]] = [:]
        for (path, pcm) in report.clipHashes { rows[path] = try store.outputs(pcmHash: pcm, key: engine.key) }
        return (report, rows)
    }

    /// max |a − b| / max(1, max |a|) over all outputs, shapes required equal.
    func relativeDiff(_ a: [Value], _ b: [Value]) -> Float {
        guard a.count == b.count else { return .infinity }
        var worst: Float = 0
        for (x, y) in zip(a, b) {
            guard let x = x.array, let y = y.array, x.shape == y.shape else { return .infinity }
            let scale = max(1, x.data.map { abs($0) }.max() ?? 0)
            worst = max(worst, (zip(x.data, y.data).map { abs($0 - $1) }.max() ?? 0) / scale)
        }
        return worst
    }

    /// Tolerance of batched against one-clip features: 1e-5 relative to the embedding's scale (the GEMMs block
    /// B·T rows differently from T rows; nothing else differs).
    static let tolerance: Float = 1e-5

    func testBatchedFeaturesEqualOneClipPath() throws {
        // wav2vec2-base and WavLM-base group-norm their first conv layer (statistics over time, where padding
        // would leak in); wav2vec2-large layer-norms every conv layer and is pre-LN.
        for (id, fixture) in [("wav2vec2", "wav2vec2-base"), ("wavlm", "wavlm-base"), ("wav2vec2", "wav2vec2-large")] {
            let component = try encoder(id, fixture: fixture)
            XCTAssertTrue(ExtractionEngine.acceptsClipExactBatches(component.info), "\(id) declares clip_exact")
            let (oneReport, one) = try extract(component, paths, options: ExtractionOptions(batchSize: 4, encoderBatch: 1))
            let recorder = RecordingComponent(component)
            let (batchReport, batched) = try extract(recorder, paths, options: ExtractionOptions(batchSize: 4, encoderBatch: 4))
            XCTAssertEqual(oneReport.extracted, 9)
            XCTAssertEqual(batchReport.extracted, 9)
            XCTAssertEqual(batchReport.failures, [])
            // 9 clips, at most 4 per forward, longest first: 4 + 4 + 1, each padded to its longest with lengths.
            XCTAssertEqual(recorder.calls.map { $0.first?.first ?? 0 }, [4, 4, 1], "\(fixture) batch sizes")
            XCTAssertEqual(recorder.calls.first?.count, 3, "audio, lengths and clip_exact")
            XCTAssertEqual(recorder.calls.first?[1], [4])
            for path in paths {
                let a = try XCTUnwrap(one[path]), b = try XCTUnwrap(batched[path])
                XCTAssertEqual(a.first?.array?.shape, [1, 32], "\(fixture): stored as the one-clip path stores it")
                let d = relativeDiff(a, b)
                XCTAssertLessThanOrEqual(d, Self.tolerance, "\(fixture) \(path): batched differs from one-clip by \(d)")
            }
        }
    }

    /// The check above can fail: the same padded batch without clip_exact (Hugging Face's padding semantics, the
    /// group norm's statistics taken over the padding) moves a short clip's embedding far beyond the tolerance.
    func testPaddedBatchWithoutClipExactDiffers() throws {
        let component = try encoder("wav2vec2", fixture: "wav2vec2-base")
        let short = try MediaDecoder().decode(path: paths[0]).samples, long = try MediaDecoder().decode(path: paths[1]).samples
        XCTAssertLessThan(short.count, long.count)
        var padded = [Float](repeating: 0, count: 2 * long.count)
        padded.replaceSubrange(0..<short.count, with: short)
        padded.replaceSubrange(long.count..<(2 * long.count), with: long)
        let audio = Value.array(try NDArray(shape: [2, long.count], data: padded))
        let lengths = Value.array(try NDArray(shape: [2], data: [Float(short.count), Float(long.count)]))
        let alone = try XCTUnwrap(component.forward([.array(try NDArray(shape: [1, short.count], data: short))]).first?.array)
        let hf = try XCTUnwrap(component.forward([audio, lengths]).first?.array)
        let exact = try XCTUnwrap(component.forward([audio, lengths, .array(try NDArray(shape: [1], data: [1]))]).first?.array)
        let c = alone.count
        let scale = max(1, alone.data.map { abs($0) }.max() ?? 0)
        let hfDiff = (0..<c).map { abs(hf.data[$0] - alone.data[$0]) }.max() ?? 0
        let exactDiff = (0..<c).map { abs(exact.data[$0] - alone.data[$0]) }.max() ?? 0
        XCTAssertGreaterThan(hfDiff / scale, 1e-3, "padding leaks into the group norm without clip_exact")
        XCTAssertLessThanOrEqual(exactDiff / scale, Self.tolerance)
    }

    /// A batch holding a clip too short for one frame, beside a file that does not decode: both fail with their
    /// own messages, in corpus order; every other clip's row is the one-clip path's.
    func testBadClipsInABatchCostOnlyTheirOwnRows() throws {
        let tooShort = dir.appendingPathComponent("short.wav")
        try writeTestWAV((0..<30).map { Float($0) / 30 }, to: tooShort)  // the tiny encoders need 40 samples
        let corrupt = dir.appendingPathComponent("corrupt.wav")
        try Data("RIFF not really a wav file".utf8).write(to: corrupt)
        // The same audio twice under other names: a good clip's repeat is a cache hit, a bad clip's fails too.
        let shortCopy = dir.appendingPathComponent("short-copy.wav"), goodCopy = dir.appendingPathComponent("clip02-copy.wav")
        try FileManager.default.copyItem(atPath: tooShort.path, toPath: shortCopy.path)
        try FileManager.default.copyItem(atPath: paths[2], toPath: goodCopy.path)
        let all = [paths[0], tooShort.path, paths[1], paths[2], corrupt.path, paths[3], paths[4], shortCopy.path, goodCopy.path]
        let component = try encoder("wav2vec2", fixture: "wav2vec2-base")
        let (oneReport, one) = try extract(component, all, options: ExtractionOptions(batchSize: 8, encoderBatch: 1))
        let (report, batched) = try extract(component, all, options: ExtractionOptions(batchSize: 8, encoderBatch: 8))
        XCTAssertEqual(report.failures.map(\.path), [tooShort.path, corrupt.path, shortCopy.path])
        XCTAssertEqual(report.failures.map(\.path), oneReport.failures.map(\.path))
        XCTAssertTrue(report.failures[0].message.contains("too few"), report.failures[0].message)
        XCTAssertEqual(report.extracted, 5)
        XCTAssertEqual(report.cached, 1)
        XCTAssertEqual(oneReport.cached, 1)
        XCTAssertEqual(Set(batched.keys), Set([0, 1, 2, 3, 4].map { paths[$0] } + [goodCopy.path]))
        for p in [0, 1, 2, 3, 4].map({ paths[$0] }) {
            let d = relativeDiff(try XCTUnwrap(one[p]), try XCTUnwrap(batched[p]))
            XCTAssertLessThanOrEqual(d, Self.tolerance, "\(p)")
        }
    }

    /// An output that does not split per clip (hidden states `[L+1, B, T, C]`): that batch is rerun one clip at a
    /// time and batching stops for the run, so every clip's outputs are the one-clip path's, both of them.
    func testUnsplittableOutputsFallBackToOneClip() throws {
        let host = try TestPlugins.sharedHost()
        let model = TestRepository.path("Tests/EmoModelsTests/Fixtures/encoders/wav2vec2-base")
        let component = try host.instantiate(id: "wav2vec2", config: ["model": .string(model), "hidden_states": true])
        let (_, one) = try extract(component, paths, options: ExtractionOptions(encoderBatch: 1))
        let recorder = RecordingComponent(component)
        let (report, batched) = try extract(recorder, paths, options: ExtractionOptions(encoderBatch: 4))
        XCTAssertEqual(report.extracted, 9)
        XCTAssertEqual(recorder.calls.map { $0.first?.first ?? 0 }, [4] + Array(repeating: 1, count: 9),
                       "one batch tried, then every clip alone")
        for path in paths {
            let a = try XCTUnwrap(one[path]), b = try XCTUnwrap(batched[path])
            XCTAssertEqual(a.count, 2)
            XCTAssertEqual(a, b, "\(path): the one-clip path's outputs")
        }
    }

    /// Batches hold clips of similar length, longest first, at most `encoderBatch`, within the memory budget.
    func testBatchesAreSortedAndBounded() throws {
        let component = try encoder("wav2vec2", fixture: "wav2vec2-base")
        let store = try FeatureStore(path: dir.appendingPathComponent("b.sqlite").path)
        let clips = [(0, 16_000), (1, 48_000), (2, 32_000), (3, 47_000), (4, 15_000)].map { (index: $0.0, samples: $0.1) }
        let three = try ExtractionEngine(component: component, store: store, options: ExtractionOptions(encoderBatch: 3))
        XCTAssertEqual(three.batches(clips), [[1, 3, 2], [0, 4]])
        let tight = try ExtractionEngine(component: component, store: store,
                                         options: ExtractionOptions(encoderBatch: 3, batchMemoryBytes: 1))
        XCTAssertEqual(tight.batches(clips), [[1], [3], [2], [0], [4]], "a budget below one clip still runs each clip")
        let twoClips = Int(three.batchBytes(clips: 2, samples: 48_000)) + 1
        let budget = try ExtractionEngine(component: component, store: store,
                                          options: ExtractionOptions(encoderBatch: 8, batchMemoryBytes: twoClips))
        XCTAssertEqual(budget.batches(clips), [[1, 3], [2, 0, 4]])
        XCTAssertGreaterThan(three.batchBytes(clips: 2, samples: 48_000), three.batchBytes(clips: 1, samples: 48_000))
    }
}
