import EmoCore
import EmoPipeline
import EmoRuntime
import EmoStore
import Foundation
import XCTest

/// A corpus-level split through a whole small `emo run` on the real RAVDESS + TESS files: the runner trains on one
/// corpus and tests on the other, the overlap report and the protocol text name both sides, and the peer protocol
/// carries the same indices and each item's corpus, so the peer's figures break down per corpus as EmoKit's do.
final class CorpusSplitsRunTests: XCTestCase {
    private func smallRun(split: String) throws -> (PipelineSpec, PipelineRun) {
        let data = TestPlugins.repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
        let ravdess = data.appendingPathComponent("ravdess").path, tess = data.appendingPathComponent("tess").path
        for p in [ravdess, tess] where !FileManager.default.fileExists(atPath: p) { throw XCTSkip("corpus not found at \(p)") }
        let dir = NSTemporaryDirectory() + "emokit-corpus-split-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let text = """
        {"version": 1, "name": "corpus-split-test",
         "corpus": {"sources": [{"kind": "ravdess", "path": "\(ravdess)"}, {"kind": "tess", "path": "\(tess)"}],
                    "classes": ["angry", "neutral", "sad"]},
         "featureGroups": [{"name": "stats", "component": "template-stats"}],
         "split": \(split),
         "scaling": {"method": "standard"},
         "fusion": {"component": "early"},
         "classifier": {"component": "mlp", "config": {"hidden": [8], "l2": 0.001}},
         "training": {"optimizer": "adam", "learningRate": 0.01, "batchSize": 8, "maxEpochs": 3},
         "seeds": [7]}
        """
        let spec = try PipelineSpec.parse(Data(text.utf8), file: "corpus-split-test.json")
        let runner = PipelineRunner(spec: spec, host: try TestPlugins.host(cacheFolder: dir),
                                    store: try FeatureStore(path: dir + "/store.sqlite"))
        runner.maxItemsPerClass = 40
        return (spec, try runner.run())
    }

    func testCrossCorpusRunTrainsOnOneCorpusAndReportsTheOtherWithThePeerPerCorpus() throws {
        let (_, run) = try smallRun(split: #"{"kind": "cross-corpus", "train": ["ravdess"], "test": ["tess"]}"#)
        let fold = try XCTUnwrap(run.trainedSplits.first).split
        XCTAssertEqual(run.trainedSplits.count, 1)
        XCTAssertTrue(fold.train.allSatisfy { run.items[$0].corpus == "ravdess" })
        XCTAssertTrue(fold.test.allSatisfy { run.items[$0].corpus == "tess" })
        XCTAssertFalse(fold.test.isEmpty)
        XCTAssertEqual(fold.overlap.trainCorpora, ["ravdess"])
        XCTAssertEqual(fold.overlap.testCorpora, ["tess"])
        XCTAssertTrue(run.protocolDescription.contains("cross-corpus ravdess → tess"), run.protocolDescription)
        XCTAssertTrue(run.protocolDescription.contains("corpora train ravdess / test tess"), run.protocolDescription)
        XCTAssertEqual(run.result.runProtocol.split, "cross-corpus ravdess → tess")

        // The peer gets the same indices and the items' corpora; its per-corpus figures come from the same code.
        let proto = PeerProtocol(run: run)
        XCTAssertEqual(proto.folds.first?.train, fold.train)
        XCTAssertEqual(proto.folds.first?.test, fold.test)
        XCTAssertEqual(proto.items.map(\.corpus), run.items.map(\.corpus))
        let output = try oraclePeerOutput(proto)
        let (peer, _) = try PeerComparison.compare(output: output, protocol: proto, emokit: run.result)
        XCTAssertEqual(peer.folds.first?.perCorpus?.keys.sorted(), ["tess"], "only the test corpus is measured")
        XCTAssertEqual(peer.folds.first?.perCorpus?["tess"]?.accuracy, 1)
        XCTAssertEqual(run.result.folds.first?.perCorpus?.keys.sorted(), ["tess"])
    }

    func testGroupedKFoldRunTestsBothCorporaInEveryFold() throws {
        let (_, run) = try smallRun(split: #"{"kind": "grouped-by-text", "folds": 3}"#)
        XCTAssertEqual(run.result.folds.count, 3)
        for f in run.result.folds {
            XCTAssertEqual(f.perCorpus?.keys.sorted(), ["ravdess", "tess"], f.split)
            XCTAssertEqual(f.overlap.sharedTexts, [], f.split)
            XCTAssertEqual(f.overlap.testCorpora, ["ravdess", "tess"], f.split)
        }
        XCTAssertEqual(run.result.runProtocol.split, "grouped by text 3-fold, stratified by corpus")
    }
}
