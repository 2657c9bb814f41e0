import EmoCore
import EmoModels
@testable import EmoPipeline
import EmoRuntime
import EmoStore
import EmoTestSupport
import Foundation
import XCTest

/// Study B's method end to end: the shipped `study-b-meld-finetune.json` (WavLM + RoBERTa fine-tuned with the
/// projection fusion) run on tiny random-weight checkpoints over a MELD-layout corpus whose mp4 clips are made from
/// real RAVDESS speech, through the in-tree plugins.
final class StudyBFineTuneTests: XCTestCase {
    private static var repoRoot: URL { TestRepository.root }

    /// RAVDESS emotion codes for MELD's five Study B classes.
    private static let ravdessCode = ["neutral": "01", "joy": "03", "sadness": "04", "anger": "05", "surprise": "08"]

    /// A MELD folder (`{train,dev,test}_sent_emo.csv` + `*_splits*/diaD_uttU.mp4`): per class `train` 2, `dev` 1,
    /// `test` 1 clips from different RAVDESS actors, each an mp4 with AAC audio at 44.1 kHz and a tiny video track.
    private func meld(_ dir: URL) throws -> URL {
        let data = try TestRepository.sharedData()
        let root = dir.appendingPathComponent("meld")
        let header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
        let words = ["anger": "I told you to stop that right now", "joy": "That is the best news I have heard",
                     "neutral": "The meeting is at ten tomorrow", "sadness": "I really miss how things used to be",
                     "surprise": "Wait, you did what yesterday"]
        var actor = 1
        for (split, folder, perClass) in [("train", "train_splits", 2), ("dev", "dev_splits_complete", 1),
                                          ("test", "output_repeated_splits_test", 1)] {
            let clips = root.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
            var csv = header, n = 0
            for label in ["anger", "joy", "neutral", "sadness", "surprise"] {
                for k in 0..<perClass {
                    let code = Self.ravdessCode[label] ?? "01"
                    let a = String(format: "%02d", (actor % 24) + 1)
                    actor += 1
                    let source = data.appendingPathComponent("ravdess/Actor_\(a)/03-01-\(code)-01-01-01-\(a).flac")
                    try TestRepository.ffmpeg(["-i", source.path, "-f", "lavfi", "-i", "color=c=black:s=16x16:r=5", "-shortest",
                                               "-c:a", "aac", "-ar", "44100", "-c:v", "mpeg4",
                                               clips.appendingPathComponent("dia\(n)_utt0.mp4").path])
                    csv += "\(n + 1),\"\(words[label] ?? "") \(k)\",Joey,\(label),neutral,\(n),0,1,1,\"00:00:01,000\",\"00:00:04,000\"\n"
                    n += 1
                }
            }
            try Data(csv.utf8).write(to: root.appendingPathComponent("\(split)_sent_emo.csv"))
        }
        return root
    }

    /// The shipped spec with the corpus, the checkpoints and the sizes a test can afford replaced.
    private func spec(corpus: URL) throws -> PipelineSpec {
        let file = Self.repoRoot.appendingPathComponent("docs/pipelines/study-b-meld-finetune.json")
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        json["corpus"] = ["sources": [["kind": "meld", "path": corpus.path]],
                          "classes": ["anger", "joy", "neutral", "sadness", "surprise"]]
        json["audio"] = ["duration": 0.5, "alignment": "start", "normalise": true]
        var groups = try XCTUnwrap(json["featureGroups"] as? [[String: Any]])
        var wavlm = try XCTUnwrap(groups[0]["config"] as? [String: Any])
        wavlm["model"] = Self.repoRoot.appendingPathComponent("Tests/EmoModelsTests/Fixtures/encoders/wavlm-base").path
        groups[0]["config"] = wavlm
        groups[0]["fineTune"] = ["layers": "all", "learningRate": 0.003]
        var roberta = try XCTUnwrap(groups[1]["config"] as? [String: Any])
        roberta["model"] = Self.repoRoot.appendingPathComponent("Tests/TextEncodersTests/Fixtures/tiny-roberta").path
        roberta["max_tokens"] = 16
        groups[1]["config"] = roberta
        groups[1]["fineTune"] = ["layers": "all", "learningRate": 0.003]
        json["featureGroups"] = groups
        var training = try XCTUnwrap(json["training"] as? [String: Any])
        training["learningRate"] = 0.01
        training["batchSize"] = 3
        training["maxEpochs"] = 3
        training["earlyStopping"] = nil
        json["training"] = training
        json["seeds"] = [42]
        json["explainers"] = []
        return try PipelineSpec.parse(try JSONSerialization.data(withJSONObject: json), file: "study-b-test.json")
    }

    func testStudyBFineTunesWavLMAndRobertaEndToEndOnMELDClips() throws {
        let dir = try TestRepository.temporaryFolder(self)
        let corpus = try meld(dir)
        let host = try TestPlugins.host(cacheFolder: dir.path)
        let spec = try spec(corpus: corpus)
        XCTAssertEqual(spec.training.gradientAccumulation, 2, "the shipped spec accumulates two micro-batches")
        var logged: [String] = []
        let runner = PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir.path + "/store.sqlite"))
        runner.log = { logged.append($0) }
        let run = try runner.run()
        XCTAssertTrue(logged.contains { $0.contains("wavlm: wavlm is fine-tuned (all)") }, "\(logged)")
        XCTAssertTrue(logged.contains { $0.contains("decoding 20 clips for fine-tuned group wavlm") }, "\(logged)")
        XCTAssertFalse(logged.contains { $0.contains("extracting wavlm") }, "a fine-tuned audio group is not extracted")
        let fold = try XCTUnwrap(run.result.folds.first)
        let curve = try XCTUnwrap(fold.curves?.epochs)
        XCTAssertEqual(curve.count, 3)
        XCTAssertLessThan(curve[2].trainLoss, curve[0].trainLoss, "training lowers the loss: \(curve.map(\.trainLoss))")

        // Same seed, same run.
        let again = try PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir.path + "/store.sqlite")).run()
        XCTAssertEqual(again.result.folds.first?.curves?.epochs.map(\.trainLoss), curve.map(\.trainLoss))

        // The bundle holds both encoders' trained weights under the checkpoints' own tensor names, and predicts the
        // test clips with them exactly as the run scored them.
        let bundleDir = dir.path + "/bundle"
        try PipelineBundle(run: run).write(to: bundleDir)
        for (group, checkpoint) in [("wavlm", "Tests/EmoModelsTests/Fixtures/encoders/wavlm-base/model.safetensors"),
                                    ("roberta", "Tests/TextEncodersTests/Fixtures/tiny-roberta/model.safetensors")] {
            let trained = try SafeTensorsFile(path: bundleDir + "/encoder-\(group).safetensors")
            let original = try SafeTensorsFile(path: Self.repoRoot.appendingPathComponent(checkpoint).path)
            // Every tensor under the checkpoint's own name (RoBERTa's pooler is not part of the encoder: not exported).
            XCTAssertEqual(Set(trained.names), Set(original.names.filter { !$0.hasPrefix("pooler.") }), group)
            let moved = try trained.names.contains { name in
                name.contains("layers.1.") || name.contains("layer.1.") ? try trained.floats(name) != original.floats(name) : false
            }
            XCTAssertTrue(moved, "fine-tuning moved \(group)'s top layer")
        }
        XCTAssertEqual(try TestPlugins.bundleAccuracy(bundleDir, host: host, run: run, spec: spec, seed: 42),
                       fold.metrics.accuracy, accuracy: 1e-12)
    }
}
