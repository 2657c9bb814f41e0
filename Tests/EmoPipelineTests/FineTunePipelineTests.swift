import EmoCore
import EmoModels
@testable import EmoPipeline
import EmoRuntime
import EmoStore
import EmoTestSupport
import Foundation
import XCTest

/// A pipeline whose text encoder is fine-tuned end to end with the head (`fineTune` on a feature group), on real
/// TESS clips with a text column, through the in-tree plugins: training, determinism, the bundle's weights.
final class FineTunePipelineTests: XCTestCase {
    private static var repoRoot: URL { TestRepository.root }

    private func host(_ dir: String) throws -> PluginHost { try TestPlugins.host(cacheFolder: dir) }

    /// A manifest over 10 real TESS clips per class whose text names the feeling in varied words.
    private func corpus(_ dir: String) throws -> String {
        let tess = Self.repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/tess").path
        guard FileManager.default.fileExists(atPath: tess) else { throw XCTSkip("TESS not found at \(tess) (../shared/data)") }
        var csv = "path,label,speaker,text\n"
        let phrases = ["angry": ["i am furious", "this makes me mad", "stop it now", "i hate this", "go away"],
                       "sad": ["i miss her", "nothing matters", "so lonely today", "i want to cry", "it is over"]]
        for (label, folder) in [("angry", "OAF_angry"), ("sad", "OAF_sad")] {
            let files = try FileManager.default.contentsOfDirectory(atPath: tess + "/" + folder).sorted().prefix(10)
            for (i, f) in files.enumerated() {
                csv += "\(tess)/\(folder)/\(f),\(label),OAF,\(phrases[label]?[i % 5] ?? "") \(i)\n"
            }
        }
        try csv.write(toFile: dir + "/manifest.csv", atomically: true, encoding: .utf8)
        return dir + "/manifest.csv"
    }

    private func spec(_ manifest: String, fineTune: String = #"{"layers": "all", "learningRate": 0.003}"#,
                      component: String = "bert") throws -> PipelineSpec {
        let bert = Self.repoRoot.appendingPathComponent("Tests/TextEncodersTests/Fixtures/tiny-bert").path
        let text = """
        {"version": 1, "name": "finetune-test",
         "corpus": {"sources": [{"kind": "manifest", "path": "\(manifest)"}], "classes": ["angry", "sad"]},
         "featureGroups": [{"name": "words", "component": "\(component)", "input": "corpus-text",
                            "config": {"model": "\(bert)", "max_tokens": 16}, "fineTune": \(fineTune)}],
         "split": {"kind": "stratified", "testFraction": 0.3},
         "scaling": {"method": "standard"},
         "fusion": {"component": "early"},
         "classifier": {"component": "logistic"},
         "training": {"optimizer": "adamw", "learningRate": 0.01, "weightDecay": 0.01, "batchSize": 4, "maxEpochs": 4,
                      "gradientClipNorm": 1.0, "warmup": {"fraction": 0.1}},
         "seeds": [5]}
        """
        return try PipelineSpec.parse(Data(text.utf8), file: "finetune-test.json")
    }

    func testFineTunedTextEncoderTrainsDeterministicallyAndItsBundlePredictsWithTheTrainedWeights() throws {
        let dir = NSTemporaryDirectory() + "emokit-finetune-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = try corpus(dir), host = try host(dir)
        let spec = try spec(manifest)
        var logged: [String] = []
        let runner = PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir + "/store.sqlite"))
        runner.log = { logged.append($0) }
        let run = try runner.run()
        XCTAssertTrue(logged.contains { $0.contains("words: bert is fine-tuned (all)") }, "\(logged)")
        XCTAssertTrue(logged.contains { $0.contains("fine-tuning bert needs about") && $0.contains("batch 4 × up to 16 tokens") }, "\(logged)")
        XCTAssertFalse(logged.contains { $0.contains("encoding corpus-text") }, "a fine-tuned group is not pre-encoded")
        XCTAssertEqual(run.groups.map(\.width), [32])
        let fold = try XCTUnwrap(run.result.folds.first)
        XCTAssertEqual(fold.metrics.count, 6)
        let curve = try XCTUnwrap(fold.curves?.epochs)
        XCTAssertEqual(curve.count, 4)
        XCTAssertLessThan(curve[3].trainLoss, curve[0].trainLoss, "training lowers the loss: \(curve.map(\.trainLoss))")

        // Same seed, same run: dropout masks, shuffles and initialisation all come from it.
        let again = try PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir + "/store.sqlite")).run()
        XCTAssertEqual(again.result.folds.first?.curves?.epochs.map(\.trainLoss), curve.map(\.trainLoss))

        // The bundle carries the trained encoder's weights (Hugging Face names) and predicts with them: it
        // reproduces the run's test accuracy clip by clip.
        let model = try XCTUnwrap(run.model)
        let weights = try XCTUnwrap(model.encoderStates["words"])
        try PipelineBundle(run: run).write(to: dir + "/bundle")
        let file = dir + "/bundle/encoder-words.safetensors"
        XCTAssertEqual(FileManager.default.contents(atPath: file).map { [UInt8]($0) }, weights)
        let trained = try SafeTensorsFile(path: file)
        let original = try SafeTensorsFile(path: Self.repoRoot.appendingPathComponent("Tests/TextEncodersTests/Fixtures/tiny-bert/model.safetensors").path)
        let name = "encoder.layer.1.output.dense.weight"
        XCTAssertNotEqual(try trained.floats(name), try original.floats(name), "fine-tuning moved the encoder's weights")
        XCTAssertEqual(Set(trained.names), Set(original.names))
        XCTAssertEqual(try TestPlugins.bundleAccuracy(dir + "/bundle", host: host, run: run, spec: spec, seed: 5),
                       fold.metrics.accuracy, accuracy: 1e-12)
        // The archive carries the weights too; without them the bundle is refused by name.
        try BundleArchive.pack(dir + "/bundle", to: dir + "/model.emobundle")
        XCTAssertEqual(try BundleArchive.read(dir + "/model.emobundle")["encoder-words.safetensors"].map { [UInt8]($0) }, weights)
        try FileManager.default.removeItem(atPath: file)
        XCTAssertThrowsError(try PipelineBundle.load(dir + "/bundle")) { XCTAssertTrue("\($0)".contains("encoder-words.safetensors"), "\($0)") }
    }

    func testWhatCannotBeFineTunedIsRefusedBeforeExtraction() throws {
        let dir = NSTemporaryDirectory() + "emokit-finetune-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = try corpus(dir), host = try host(dir)
        // A component without a fine_tune option.
        let stats = try spec(manifest, component: "template-stats")
        XCTAssertThrowsError(try PipelineRunner(spec: stats, host: host, store: try FeatureStore(path: dir + "/s.sqlite")).run()) {
            XCTAssertTrue("\($0)".contains("cannot fine-tune component template-stats (group 'words'): it exposes no parameters"), "\($0)")
        }
        // Bad layer counts: the spec names the field; the encoder names its own range.
        XCTAssertThrowsError(try spec(manifest, fineTune: #"{"layers": "some"}"#)) {
            XCTAssertTrue("\($0)".contains("fineTune.layers"), "\($0)")
        }
        // A machine without the memory fine-tuning needs is told before training what to lower.
        let runner = PipelineRunner(spec: try spec(manifest), host: host, store: try FeatureStore(path: dir + "/s.sqlite"))
        let encoder = try XCTUnwrap(try runner.makeEncoders(seed: 1)[0])
        let cost = try XCTUnwrap(encoder.resolvedDescription["training_memory"]?["fixed_bytes"]?.doubleValue)
        let parameters = encoder.parameters.reduce(0) { $0 + $1.count }
        XCTAssertEqual(cost, Double(4 * 4 * parameters), "weights, gradients and two moments of every trained weight")
        XCTAssertNoThrow(try runner.checkTrainingMemory(encoder, group: "words", available: 1e12))
        XCTAssertThrowsError(try runner.checkTrainingMemory(encoder, group: "words", available: 1e5)) {
            XCTAssertTrue("\($0)".contains("lower training.batchSize (training.gradientAccumulation keeps the effective batch) or the encoder's max_tokens"), "\($0)")
        }
        let tooDeep = try spec(manifest, fineTune: #"{"layers": "top-5"}"#)
        XCTAssertThrowsError(try PipelineRunner(spec: tooDeep, host: host, store: try FeatureStore(path: dir + "/s.sqlite")).run()) {
            XCTAssertTrue("\($0)".contains("top-K with K in 1...2"), "\($0)")
        }
    }

    func testItemsSharingAPathKeepTheirOwnTexts() throws {
        // MELD without its videos gives every split's dia0_utt0 the same path: rows are an item's, not a path's.
        let dir = NSTemporaryDirectory() + "emokit-samepath-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let manifest = try corpus(dir), host = try host(dir)
        var lines = try String(contentsOfFile: manifest, encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines.removeFirst()
        // Each clip a second time with another text and the other label.
        let twins = lines.map { line -> String in
            var f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            f[1] = f[1] == "angry" ? "sad" : "angry"
            f[3] = "a different sentence entirely " + f[3]
            return f.joined(separator: ",")
        }
        try ([header] + lines + twins).joined(separator: "\n").appending("\n").write(toFile: manifest, atomically: true, encoding: .utf8)
        let bert = Self.repoRoot.appendingPathComponent("Tests/TextEncodersTests/Fixtures/tiny-bert").path
        for fineTune in [false, true] {
            var spec = try spec(manifest)
            if !fineTune { spec.featureGroups[0].fineTune = nil }
            let runner = PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir + "/s.sqlite"))
            let items = try runner.loadCorpus().items
            XCTAssertEqual(items.count, 40)
            let texts = try runner.texts(spec.featureGroups[0], items: items)
            XCTAssertEqual(texts, items.map { $0.item.text ?? "" }, "texts in item order")
            let matrices = try runner.extractGroups(items)
            guard !fineTune else {
                XCTAssertEqual(matrices.liveInputs[0]?.map(\.text), matrices.items.map { $0.item.text }, "live texts follow the kept items")
                continue
            }
            let encoder = try host.instantiate(id: "bert", config: ["model": .string(bert), "max_tokens": 16])
            for (r, item) in matrices.items.enumerated() {
                let expected = try XCTUnwrap(try encoder.forward([.text(item.item.text ?? "")]).first?.array)
                let row = Array(matrices.groups[0].values.data[(r * 32)..<((r + 1) * 32)])
                XCTAssertLessThanOrEqual(zip(row, expected.data).map { abs($0 - $1) }.max() ?? 1, 1e-5, "row \(r): \(item.item.text ?? "")")
            }
        }
    }

    /// A fine-tuning run resumed from a checkpoint continues bit for bit: the encoder's dropout stream travels in its
    /// state (safetensors metadata), Adam's moments for the encoder's weights in the checkpoint. Through the runner,
    /// a finished split's checkpoint gives back the same result without training again.
    func testFineTuningResumesBitIdenticallyFromACheckpoint() throws {
        let dir = try TestRepository.temporaryFolder(self).path
        let manifest = try corpus(dir), host = try host(dir)
        let spec = try spec(manifest)
        let runner = PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir + "/store.sqlite"))
        let matrices = try runner.extractGroups(try runner.loadCorpus().items)
        let data = try TrainingSet(groups: matrices.groups.map(\.values), labels: matrices.items.map(\.classIndex), classes: 2,
                                   liveInputs: matrices.liveInputs)
        func chain() throws -> TrainingChain {
            var (chain, _, _) = try runner.makeChain(widths: [32], seed: 5)
            chain.encoders = try runner.makeEncoders(seed: 5)
            return chain
        }
        var config = runner.trainingConfig(seed: 5)
        config.maxEpochs = 3
        var checkpoints: [TrainingCheckpoint] = []
        var trainer = Trainer(config: config)
        trainer.onCheckpoint = { checkpoints.append($0) }
        let whole = try trainer.train(try chain(), on: data)
        XCTAssertEqual(checkpoints.count, 3)
        XCTAssertEqual(checkpoints[0].optimizerStates.count, 2, "the head's optimiser and the encoder's")
        let resumed = try Trainer(config: config).train(try chain(), on: data, resumingFrom: checkpoints[0])
        XCTAssertEqual(resumed.history, whole.history)
        XCTAssertEqual(resumed.states, whole.states, "the same final weights, byte for byte")

        // The runner writes a checkpoint per split and, told to resume, picks it up.
        runner.checkpointDirectory = dir + "/checkpoints"
        let first = try runner.run()
        XCTAssertNotNil(try TrainingCheckpoint.read(from: dir + "/checkpoints/seed-5-split-0"))
        runner.resume = true
        var logged: [String] = []
        runner.log = { logged.append($0) }
        let again = try runner.run()
        XCTAssertTrue(logged.contains { $0.contains("resuming from its checkpoint after epoch 4 (finished)") }, "\(logged)")
        XCTAssertEqual(again.result.folds.map(\.metrics.accuracy), first.result.folds.map(\.metrics.accuracy))
        XCTAssertEqual(again.model?.encoderStates, first.model?.encoderStates)
    }
}
