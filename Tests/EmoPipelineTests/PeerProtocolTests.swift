import EmoCore
import EmoPipeline
import EmoRuntime
import EmoStore
import Foundation
import XCTest

/// `emo run --peer`'s contract: the exported protocol holds exactly the indices the runner trained and tested on,
/// and a missing or broken peer gives a clear message, never a crash.
final class PeerProtocolTests: XCTestCase {
    private static var repoRoot: URL { TestPlugins.repoRoot }

    private func host(_ dir: String) throws -> PluginHost { try TestPlugins.host(cacheFolder: dir) }

    /// A small real run: 3 TESS classes × 12 clips, speaker 2-fold (the two TESS speakers), two seeds.
    private func smallRun() throws -> (PipelineSpec, PipelineRun) {
        let tess = Self.repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/tess").path
        guard FileManager.default.fileExists(atPath: tess) else { throw XCTSkip("TESS not found at \(tess)") }
        let dir = NSTemporaryDirectory() + "emokit-peer-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let text = """
        {"version": 1, "name": "peer-protocol-test",
         "corpus": {"sources": [{"kind": "tess", "path": "\(tess)"}], "classes": ["angry", "neutral", "sad"]},
         "featureGroups": [{"name": "stats", "component": "template-stats"}],
         "split": {"kind": "stratified", "testFraction": 0.25, "validationFraction": 0.2},
         "scaling": {"method": "standard"},
         "fusion": {"component": "early"},
         "classifier": {"component": "mlp", "config": {"hidden": [8], "batch_norm": true, "dropout": 0.1, "l2": 0.001}},
         "training": {"optimizer": "adam", "learningRate": 0.01, "batchSize": 8, "maxEpochs": 4,
                      "earlyStopping": {"patience": 2}},
         "seeds": [7, 11]}
        """
        let spec = try PipelineSpec.parse(Data(text.utf8), file: "peer-protocol-test.json")
        let runner = PipelineRunner(spec: spec, host: try host(dir), store: try FeatureStore(path: dir + "/store.sqlite"))
        runner.maxItemsPerClass = 12
        return (spec, try runner.run())
    }

    func testExportedProtocolRoundTripsWithTheRunnersIndices() throws {
        let (spec, run) = try smallRun()
        let proto = PeerProtocol(run: run)
        let url = URL(fileURLWithPath: NSTemporaryDirectory() + "peer-protocol-\(UUID().uuidString.prefix(8)).json")
        let back = try PeerProtocol.read(from: try proto.write(to: url))
        XCTAssertEqual(back, proto)

        // The folds are the splits the runner trained on: recompute them independently from the spec and seeds.
        XCTAssertEqual(back.folds.count, run.result.folds.count)
        var expected: [(UInt64, Split)] = []
        for seed in spec.seeds { expected += try spec.split.splits(of: run.items, seed: seed).map { (seed, $0) } }
        XCTAssertEqual(back.folds.count, expected.count)
        for (fold, (seed, split)) in zip(back.folds, expected) {
            XCTAssertEqual(fold.seed, seed)
            XCTAssertEqual(fold.split, split.name)
            XCTAssertEqual(fold.train, split.train)
            XCTAssertEqual(fold.validation, split.validation)
            XCTAssertEqual(fold.test, split.test)
            XCTAssertFalse(fold.validation.isEmpty)
            XCTAssertTrue(Set(fold.test).isDisjoint(with: fold.train), "a test index is in train")
            XCTAssertTrue(Set(fold.test).isDisjoint(with: fold.validation), "a test index is in validation")
            XCTAssertTrue(Set(fold.train).isDisjoint(with: fold.validation))
            XCTAssertEqual(fold.train.count + fold.validation.count + fold.test.count, back.items.count)
        }
        // Names and seeds pair the protocol's folds with the report's folds one to one.
        XCTAssertEqual(back.folds.map(\.split), run.result.folds.map(\.split))
        XCTAssertEqual(back.folds.map(\.seed), run.result.folds.map(\.seed))
        // Items, labels and features line up with what the runner used.
        XCTAssertEqual(back.items.map(\.path), run.items.map(\.item.path))
        XCTAssertEqual(back.items.map(\.classIndex), run.items.map(\.classIndex))
        XCTAssertEqual(back.emokitFeatures.count, run.items.count)
        XCTAssertEqual(back.emokitFeatures.first?.count, run.groups.map(\.width).reduce(0, +))
        XCTAssertEqual(back.featureNames.count, back.emokitFeatures.first?.count)
        XCTAssertEqual(back.classifier, spec.classifier)
        XCTAssertEqual(back.training, spec.training)
    }

    func testAPeerThatPredictsTheTruthIsComparedWithEmoKitsOwnMetricCode() throws {
        let (_, run) = try smallRun()
        let proto = PeerProtocol(run: run)
        let output = try oraclePeerOutput(proto)
        let (peer, report) = try PeerComparison.compare(output: output, protocol: proto, emokit: run.result)
        XCTAssertEqual(peer.folds.count, run.result.folds.count)
        XCTAssertTrue(peer.folds.allSatisfy { $0.metrics.accuracy == 1 && $0.metrics.macroF1 == 1 })
        let accuracy = try XCTUnwrap(report.rows.first { $0.metric == .accuracy })
        let emokitMean = run.result.values(.accuracy).reduce(0, +) / Double(run.result.folds.count)
        XCTAssertEqual(accuracy.difference, emokitMean - 1, accuracy: 1e-12)
        XCTAssertEqual(accuracy.withinOnePoint, emokitMean >= 0.99)
    }

    func testMalformedPeerOutputIsATypedErrorNamingTheProblem() throws {
        let (_, run) = try smallRun()
        let proto = PeerProtocol(run: run)
        XCTAssertThrowsError(try PeerComparison.compare(output: Data("{\"runs\": []}".utf8), protocol: proto, emokit: run.result)) {
            XCTAssertTrue("\($0)".contains("0 runs for \(proto.folds.count) folds"), "\($0)")
        }
        let first = try XCTUnwrap(proto.folds.first)
        let short: [String: Any] = ["runs": proto.folds.map { ["seed": $0.seed, "split": $0.split, "predicted": [0],
                                                                 "probabilities": [[1.0, 0.0, 0.0]]] }]
        XCTAssertThrowsError(try PeerComparison.compare(output: try JSONSerialization.data(withJSONObject: short),
                                                        protocol: proto, emokit: run.result)) {
            XCTAssertTrue("\($0)".contains("expected \(first.test.count)"), "\($0)")
        }
    }

    func testAMissingPeerIsReportedNotFatal() throws {
        let report = PeerReport.unavailable("torch is not installed in python3")
        XCTAssertEqual(report.text, "peer: unavailable — torch is not installed in python3")
        var metrics = MetricsReport(title: "t", runs: [])
        metrics.peer = report
        let url = try metrics.write(into: URL(fileURLWithPath: NSTemporaryDirectory() + "peer-missing-\(UUID().uuidString.prefix(8))"))
        XCTAssertEqual(try MetricsReport.read(from: url).peer?.missing, "torch is not installed in python3")
        XCTAssertTrue(HTMLReport.render(metrics).contains("Peer unavailable:</strong> torch is not installed in python3"))
    }

    /// The committed script answers `{"missing": ...}` on its last stdout line when it cannot run (here: no protocol).
    func testPeerScriptSaysWhyItCannotRun() throws {
        let script = Self.repoRoot.appendingPathComponent("Tests/Reference/peer_pipeline.py").path
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python else { throw XCTSkip("no python3 to run \(script)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        XCTAssertTrue((object["missing"] as? String)?.contains("usage") ?? false, last)
    }
}

/// The output a peer that predicts every test item's true class would write for `proto` (one-hot probabilities).
func oraclePeerOutput(_ proto: PeerProtocol) throws -> Data {
    let k = proto.classes.count
    let runs: [[String: Any]] = proto.folds.map { f in
        let truth = f.test.map { proto.items[$0].classIndex }
        return ["seed": f.seed, "split": f.split, "predicted": truth,
                "probabilities": truth.map { t in (0..<k).map { $0 == t ? 1.0 : 0.0 } }]
    }
    return try JSONSerialization.data(withJSONObject: ["peer": "oracle", "features": "emokit", "runs": runs])
}
