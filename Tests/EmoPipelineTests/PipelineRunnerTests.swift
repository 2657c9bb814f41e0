import EmoTestSupport
import EmoCore
import EmoPipeline
import EmoRuntime
import EmoStore
import Foundation
import XCTest

/// `emo run` end to end on a small slice of real TESS clips, through the in-tree plugins, and the bundle it writes.
final class PipelineRunnerTests: XCTestCase {
    private static var repoRoot: URL { TestRepository.root }

    private func host(_ dir: String) throws -> PluginHost {
        let build = PluginSources.executableDirectory()
        guard FileManager.default.fileExists(atPath: build + "/libEmoPluginTemplate.so"),
              FileManager.default.isExecutableFile(atPath: build + "/emo-probe") else {
            throw XCTSkip("plugins are not built beside the tests (\(build)); run `swift build` first")
        }
        let sources = PluginSources(registries: [Self.repoRoot.appendingPathComponent("registry.json").path],
                                    hostDirectory: build)
        return PluginHost(sources: sources, prober: Prober(executable: build + "/emo-probe", timeout: 30),
                          cache: ProbeCache(path: dir + "/plugin-cache.json"))
    }

    private func spec(tess: String) throws -> PipelineSpec {
        let text = """
        {"version": 1, "name": "runner-test",
         "corpus": {"sources": [{"kind": "tess", "path": "\(tess)"}], "classes": ["angry", "neutral", "sad"]},
         "featureGroups": [{"name": "stats", "component": "template-stats"}],
         "split": {"kind": "stratified", "testFraction": 0.25},
         "scaling": {"method": "standard"},
         "fusion": {"component": "early"},
         "classifier": {"component": "logistic"},
         "training": {"optimizer": "adam", "learningRate": 0.05, "batchSize": 8, "maxEpochs": 40},
         "seeds": [7]}
        """
        return try PipelineSpec.parse(Data(text.utf8), file: "runner-test.json")
    }

    func testRunThenBundleReproducesTheReportedTestAccuracy() throws {
        let tess = Self.repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/tess").path
        guard FileManager.default.fileExists(atPath: tess) else { throw XCTSkip("TESS not found at \(tess)") }
        let dir = NSTemporaryDirectory() + "emokit-runner-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let host = try host(dir)
        let spec = try spec(tess: tess)
        let runner = PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir + "/store.sqlite"))
        runner.maxItemsPerClass = 12
        let run = try runner.run()

        XCTAssertEqual(run.corpus.items.count, 36)
        XCTAssertEqual(run.corpus.classCounts, [12, 12, 12])
        XCTAssertEqual(run.result.folds.count, 1)
        let fold = try XCTUnwrap(run.result.folds.first)
        XCTAssertEqual(fold.metrics.count, 9, "25 % of 36, stratified")
        XCTAssertEqual(fold.metrics.confusion.flatMap { $0 }.reduce(0, +), 9)
        XCTAssertEqual(run.groups.map(\.featureNames), [["rms", "peak", "zcr", "duration_s"]])
        let model = try XCTUnwrap(run.model)
        XCTAssertEqual(model.scaler.fittedRows, 27, "the scaler sees the 27 training rows only")

        // The bundle, loaded into a fresh predictor, must reproduce the run's test accuracy clip by clip:
        // extraction, scaling, state save/load and the chain all agree.
        try PipelineBundle(run: run).write(to: dir + "/bundle")
        let predictor = try Predictor(bundle: try PipelineBundle.load(dir + "/bundle"), host: host)
        let split = try XCTUnwrap(try spec.split.splits(of: run.corpus.items, seed: 7).first)
        var correct = 0
        for i in split.test {
            let p = try predictor.predict(path: run.corpus.items[i].item.path).probabilities
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-5)
            let predicted = p.indices.max { p[$0] < p[$1] } ?? -1
            if predicted == run.corpus.items[i].classIndex { correct += 1 }
        }
        XCTAssertEqual(Double(correct) / Double(split.test.count), fold.metrics.accuracy, accuracy: 1e-12)

        // A second run over the same store reads every feature from the cache and gives identical metrics.
        let again = try PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir + "/store.sqlite"))
        again.maxItemsPerClass = 12
        var extracted = -1
        again.extractionProgress = { _, p in extracted = p.extracted }
        let second = try again.run()
        XCTAssertEqual(extracted, 0)
        XCTAssertEqual(second.result.folds.first?.metrics, fold.metrics)
    }

    /// A bundle scaled per speaker (each unseen test speaker with its own clips' statistics) is written, checked and
    /// deployed: one speaker's clips predicted together (`predict(clips:speaker:)`) reproduce the fold's accuracy
    /// clip by clip; a lone clip goes through the global training statistics (what it can do without a speaker);
    /// too few clips for an unseen speaker's own statistics is a clear error; the run's explainers scale test
    /// items as the evaluation did.
    func testPerSpeakerBundlePredictsASpeakersClipsAsEvaluated() throws {
        let tess = Self.repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/tess").path
        guard FileManager.default.fileExists(atPath: tess) else { throw XCTSkip("TESS not found at \(tess)") }
        let dir = NSTemporaryDirectory() + "emokit-perspeaker-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let host = try host(dir)
        let text = """
        {"version": 1, "name": "per-speaker-test",
         "corpus": {"sources": [{"kind": "tess", "path": "\(tess)"}], "classes": ["angry", "neutral", "sad"]},
         "featureGroups": [{"name": "stats", "component": "template-stats"}],
         "split": {"kind": "speaker-kfold", "folds": 2},
         "scaling": {"method": "standard", "perSpeaker": true, "unseenSpeakers": "own-features"},
         "fusion": {"component": "early"},
         "classifier": {"component": "logistic"},
         "training": {"optimizer": "adam", "learningRate": 0.05, "batchSize": 8, "maxEpochs": 40},
         "explainers": [{"component": "integrated-gradients", "inputs": ["stats"], "samples": 4}],
         "seeds": [7]}
        """
        let spec = try PipelineSpec.parse(Data(text.utf8), file: "per-speaker-test.json")
        let runner = PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir + "/store.sqlite"))
        runner.maxItemsPerClass = 16
        let run = try runner.run()
        let fold = try XCTUnwrap(run.result.folds.first)
        try PipelineBundle(run: run).write(to: dir + "/bundle")  // its reference prediction is one lone clip
        let predictor = try Predictor(bundle: try PipelineBundle.load(dir + "/bundle"), host: host)
        XCTAssertTrue(predictor.scalesPerSpeaker)
        let split = try XCTUnwrap(try spec.split.splits(of: run.corpus.items, seed: 7).first)
        let speakers = Set(split.test.compactMap { run.corpus.items[$0].speaker })
        XCTAssertEqual(speakers.count, 1, "TESS's two speakers, one per fold")
        let speaker = try XCTUnwrap(speakers.first)
        let clips = try split.test.map { try predictor.decode(path: run.corpus.items[$0].item.path) }
        let predictions = try predictor.predict(clips: clips, speaker: speaker)
        var correct = 0
        for (p, i) in zip(predictions, split.test) {
            let best = p.probabilities.indices.max { p.probabilities[$0] < p.probabilities[$1] } ?? -1
            if best == run.corpus.items[i].classIndex { correct += 1 }
        }
        XCTAssertEqual(Double(correct) / Double(split.test.count), fold.metrics.accuracy, accuracy: 1e-12,
                       "the speaker's clips together are scaled as the evaluation scaled them")
        let lone = try predictor.predict(clip: clips[0]).probabilities
        XCTAssertEqual(lone.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertThrowsError(try predictor.predict(clips: Array(clips.prefix(3)), speaker: "someone-new")) { error in
            XCTAssertTrue("\(error)".contains("3 clips are too few (at least 8)"), "\(error)")
        }
        // `emo predict --speaker`: the same rows through BatchPrediction; an undecodable file gets its own error row.
        let inputs = split.test.map { BatchPrediction.Input(path: run.corpus.items[$0].item.path) } + [BatchPrediction.Input(path: dir + "/missing.wav")]
        let rows = BatchPrediction.run(inputs, speaker: speaker, predictor: predictor, classes: run.corpus.classes)
        XCTAssertEqual(rows.count, split.test.count + 1)
        XCTAssertEqual(rows.dropLast().map(\.probabilities), predictions.map(\.probabilities))
        XCTAssertNotNil(rows.last?.error)
        let bundle = try PipelineBundle.load(dir + "/bundle")
        let outputs = try SpecExplanations(run: run, bundle: bundle, host: host).write(spec.explainers, into: dir + "/explanations")
        XCTAssertEqual(outputs.map(\.items), [4], "the test items, scaled with their speaker's statistics, are explained")
    }

    func testBundleFolderErrorsNameTheMissingFile() throws {
        let dir = NSTemporaryDirectory() + "emokit-bundle-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertThrowsError(try PipelineBundle.load(dir)) { error in
            XCTAssertTrue("\(error)".contains(dir + "/bundle.json"), "\(error)")
            XCTAssertTrue("\(error)".contains("needs bundle.json, scaler.json"), "\(error)")
        }
        try "{\"format\": 1}".write(toFile: dir + "/bundle.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PipelineBundle.load(dir)) { error in
            XCTAssertTrue("\(error)".contains("not a bundle manifest"), "\(error)")
        }
    }

    /// A text group (the manifest's own utterance text through the `roberta` plugin) fused with an audio group.
    func testCorpusTextGroupIsEncodedAndFusedWithAudio() throws {
        let tess = Self.repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/tess").path
        guard FileManager.default.fileExists(atPath: tess) else { throw XCTSkip("TESS not found at \(tess)") }
        let roberta = Self.repoRoot.appendingPathComponent("Tests/TextEncodersTests/Fixtures/tiny-roberta").path
        guard FileManager.default.fileExists(atPath: roberta + "/model.safetensors") else {
            throw XCTSkip("tiny RoBERTa fixture missing at \(roberta)")
        }
        let dir = NSTemporaryDirectory() + "emokit-text-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // A manifest over 8 real TESS clips per class with the words they say as text.
        var csv = "path,label,speaker,text\n"
        for (label, folder) in [("angry", "OAF_angry"), ("sad", "OAF_sad")] {
            let files = try FileManager.default.contentsOfDirectory(atPath: tess + "/" + folder).sorted().prefix(8)
            for f in files {
                let word = f.split(separator: "_").dropFirst().first.map(String.init) ?? "word"
                csv += "\(tess)/\(folder)/\(f),\(label),OAF,say the word \(word)\n"
            }
        }
        try csv.write(toFile: dir + "/manifest.csv", atomically: true, encoding: .utf8)
        let text = """
        {"version": 1, "name": "text-group-test",
         "corpus": {"sources": [{"kind": "manifest", "path": "\(dir)/manifest.csv"}], "classes": ["angry", "sad"]},
         "featureGroups": [{"name": "stats", "component": "template-stats"},
                           {"name": "words", "component": "roberta", "input": "corpus-text",
                            "config": {"model": "\(roberta)", "max_tokens": 16}}],
         "split": {"kind": "stratified", "testFraction": 0.25},
         "scaling": {"method": "standard"},
         "fusion": {"component": "early"},
         "classifier": {"component": "logistic"},
         "training": {"optimizer": "adam", "learningRate": 0.05, "batchSize": 4, "maxEpochs": 5},
         "seeds": [3]}
        """
        let spec = try PipelineSpec.parse(Data(text.utf8), file: "text-group-test.json")
        let host = try host(dir)
        let run = try PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir + "/store.sqlite")).run()
        // The text embeddings are stored under the texts' hashes: a second run reads them back, identical.
        var logged: [String] = []
        var again = try PipelineRunner(spec: spec, host: host, store: try FeatureStore(path: dir + "/store.sqlite"))
        again.log = { logged.append($0) }
        XCTAssertEqual(try again.run().features, run.features)
        XCTAssertTrue(logged.contains { $0.contains("8 of 8 distinct texts cached in the store") }, "\(logged)")
        let hidden = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: roberta + "/config.json"))) as? [String: Any])["hidden_size"] as? Int
        XCTAssertEqual(run.groups.map(\.width), [4, try XCTUnwrap(hidden)])
        XCTAssertEqual(run.corpus.items.count, 16)
        XCTAssertEqual(run.result.folds.first?.metrics.count, 4)

        // The bundle predicts from a clip plus its text and reproduces the run's test accuracy clip by clip;
        // without the text it says how to give it.
        try PipelineBundle(run: run).write(to: dir + "/bundle")
        let predictor = try Predictor(bundle: try PipelineBundle.load(dir + "/bundle"), host: host)
        XCTAssertTrue(predictor.needsText)
        let split = try XCTUnwrap(try spec.split.splits(of: run.corpus.items, seed: 3).first)
        var correct = 0
        for i in split.test {
            let item = run.corpus.items[i].item
            let p = try predictor.predict(path: item.path, text: item.text)
            XCTAssertEqual(p.texts, [1: try XCTUnwrap(item.text)])
            let predicted = p.probabilities.indices.max { p.probabilities[$0] < p.probabilities[$1] } ?? -1
            if predicted == run.corpus.items[i].classIndex { correct += 1 }
        }
        XCTAssertEqual(Double(correct) / Double(split.test.count), try XCTUnwrap(run.result.folds.first).metrics.accuracy, accuracy: 1e-12)
        XCTAssertThrowsError(try predictor.predict(path: run.corpus.items[0].item.path)) { error in
            XCTAssertTrue("\(error)".contains("--text"), "\(error)")
        }

        // Token attributions of one prediction: one value per token of the text, named from vocab.json, and
        // complete (Σ = F(x) − F(zero embeddings) up to the reported delta, which must be small at 64 steps).
        let item = run.corpus.items[split.test[0]].item
        let p = try predictor.predict(path: item.path, text: item.text)
        let target = p.probabilities.indices.max { p.probabilities[$0] < p.probabilities[$1] } ?? 0
        let ig = try host.instantiate(id: "integrated-gradients", config: ["n_steps": 64, "method": "gausslegendre"])
        let tokens = try XCTUnwrap(try predictor.tokenAttributions(p, target: target, explainer: ig, host: host)[1])
        XCTAssertEqual(tokens.tokens.tokens.first, "<s>")
        XCTAssertEqual(tokens.tokens.tokens.last, "</s>")
        XCTAssertTrue(tokens.tokens.tokens.contains("Ġthe"), "\(tokens.tokens.tokens)")
        XCTAssertEqual(tokens.tokens.values.count, tokens.tokens.tokens.count)
        XCTAssertTrue(tokens.tokens.values.contains { $0 != 0 })
        let delta = try XCTUnwrap(tokens.delta)
        XCTAssertLessThan(abs(delta), 1e-3, "IG over tokens should integrate this small chain at 64 steps")
        // The spec's explainers after a run: features and tokens summarised per class; waveform skipped, said so.
        let explainerJSON = """
            [{"component": "integrated-gradients", "config": {"n_steps": 16}, "inputs": ["stats", "words", "tokens"], "samples": 3},
             {"component": "occlusion", "config": {"window": [1600]}, "inputs": ["waveform"]}]
            """
        let explainers = try JSONDecoder().decode([ExplainerSpec].self, from: Data(explainerJSON.utf8))
        var explanations = try SpecExplanations(run: run, bundle: try PipelineBundle.load(dir + "/bundle"), host: host)
        var notes: [String] = []
        explanations.log = { notes.append($0) }
        let outputs = try explanations.write(explainers, into: dir + "/explanations")
        XCTAssertEqual(outputs.map(\.component), ["integrated-gradients"])
        XCTAssertEqual(outputs.first?.items, 3, "3 of the 4 test items, class by class")
        XCTAssertTrue(notes.contains { $0.contains("waveform") && $0.contains("emo explain") }, "\(notes)")
        let batch = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: dir + "/explanations/0-integrated-gradients/batch.json")))
        XCTAssertEqual(batch["items"], 3)
        let perClass = try XCTUnwrap(batch["per_class"]?.objectValue)
        XCTAssertTrue(perClass.values.contains { $0["top_tokens"]?.arrayValue?.isEmpty == false }, "token rankings present")
        XCTAssertTrue(perClass.values.contains { $0["mean_attribution"]?.objectValue?.count == 4 + 32 }, "every fused feature has a mean")
        // The CLI on that bundle: `emo explain BUNDLE CLIP --text ...` attributes the features and the tokens.
        let emo = PluginSources.executableDirectory() + "/emo"
        if FileManager.default.isExecutableFile(atPath: emo) {
            var env = ProcessInfo.processInfo.environment
            env["EMO_CACHE_DIR"] = dir + "/cli-cache"
            let (status, stdout) = try TestRepository.run(
                emo, ["explain", dir + "/bundle", item.path, "--text", try XCTUnwrap(item.text), "--json",
                      "--config", "{\"n_steps\": 16}", "--out", dir + "/explain-cli"],
                environment: env, includeStandardError: false)
            XCTAssertEqual(status, 0, stdout)
            let data = Data(stdout.utf8)
            let report = try JSONValue.parse(data)
            let cliTokens = try XCTUnwrap(report["tokens"]?.arrayValue)
            XCTAssertEqual(cliTokens.compactMap { $0["token"]?.stringValue }, tokens.tokens.tokens, "same tokens as the library call")
            XCTAssertEqual(report["feature_attributions"]?.arrayValue?.count, 4 + 32)
        }
    }



    /// A run over two corpora reports each corpus's test metrics beside the pooled ones, and they add up.
    func testTwoCorporaGetPerCorpusMetricsThatAddUpToThePooledOnes() throws {
        let tess = Self.repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/tess").path
        guard FileManager.default.fileExists(atPath: tess) else { throw XCTSkip("TESS not found at \(tess)") }
        let dir = NSTemporaryDirectory() + "emokit-corpora-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for speaker in ["OAF", "YAF"] {
            var csv = "path,label,speaker\n"
            for label in ["angry", "sad"] {
                let folder = "\(speaker)_\(label)"
                for f in try FileManager.default.contentsOfDirectory(atPath: tess + "/" + folder).sorted().prefix(10) {
                    csv += "\(tess)/\(folder)/\(f),\(label),\(speaker)\n"
                }
            }
            try csv.write(toFile: dir + "/\(speaker).csv", atomically: true, encoding: .utf8)
        }
        let text = """
        {"version": 1, "name": "two-corpora",
         "corpus": {"sources": [{"kind": "manifest", "path": "\(dir)/OAF.csv"}, {"kind": "manifest", "path": "\(dir)/YAF.csv"}],
                    "classes": ["angry", "sad"]},
         "featureGroups": [{"name": "stats", "component": "template-stats"}],
         "split": {"kind": "stratified", "testFraction": 0.5},
         "scaling": {"method": "standard"}, "fusion": {"component": "early"}, "classifier": {"component": "logistic"},
         "training": {"optimizer": "adam", "learningRate": 0.05, "batchSize": 4, "maxEpochs": 3}, "seeds": [1, 2]}
        """
        let spec = try PipelineSpec.parse(Data(text.utf8), file: "two-corpora.json")
        let run = try PipelineRunner(spec: spec, host: try host(dir), store: try FeatureStore(path: dir + "/store.sqlite")).run()
        XCTAssertEqual(Set(run.corpus.items.map(\.corpus)), ["manifest", "manifest#2"])
        for fold in run.result.folds {
            let per = try XCTUnwrap(fold.perCorpus)
            XCTAssertEqual(Set(per.keys), ["manifest", "manifest#2"])
            XCTAssertEqual(per.values.map(\.count).reduce(0, +), fold.metrics.count)
            let correct = per.values.reduce(0.0) { $0 + $1.accuracy * Double($1.count) }
            XCTAssertEqual(correct / Double(fold.metrics.count), fold.metrics.accuracy, accuracy: 1e-12)
        }
        let summaries = run.result.corpusSummaries(.accuracy)
        XCTAssertEqual(summaries.map(\.corpus), ["manifest", "manifest#2"])
        XCTAssertEqual(summaries.map(\.folds), [2, 2])
        XCTAssertTrue(run.summary.contains("Accuracy by corpus"), run.summary)
        XCTAssertTrue(HTMLReport.render(MetricsReport(title: "t", runs: [run.result], comparisons: [])).contains("By corpus"))
    }

    /// A transcript group transcribes each clip once: the transcripts are stored like features and read back on the
    /// next run, with the same embeddings.
    func testTranscriptsAreCachedInTheStore() throws {
        let tess = Self.repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/tess").path
        guard FileManager.default.fileExists(atPath: tess) else { throw XCTSkip("TESS not found at \(tess)") }
        let whisper = try RealModels.whisperTinyEn()
        let roberta = Self.repoRoot.appendingPathComponent("Tests/TextEncodersTests/Fixtures/tiny-roberta").path
        let dir = NSTemporaryDirectory() + "emokit-transcripts-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var csv = "path,label,speaker\n"
        for (label, folder) in [("angry", "OAF_angry"), ("sad", "OAF_sad")] {
            for f in try FileManager.default.contentsOfDirectory(atPath: tess + "/" + folder).sorted().prefix(2) {
                csv += "\(tess)/\(folder)/\(f),\(label),OAF\n"
            }
        }
        try csv.write(toFile: dir + "/m.csv", atomically: true, encoding: .utf8)
        let text = """
        {"version": 1, "name": "transcript-cache",
         "corpus": {"sources": [{"kind": "manifest", "path": "\(dir)/m.csv"}], "classes": ["angry", "sad"]},
         "featureGroups": [{"name": "words", "component": "roberta", "input": "transcript",
                            "config": {"model": "\(roberta)", "max_tokens": 16},
                            "textFrom": {"component": "whisper-transcript", "config": {"model": "\(whisper)"}}}],
         "split": {"kind": "stratified", "testFraction": 0.5},
         "scaling": {"method": "standard"}, "fusion": {"component": "early"}, "classifier": {"component": "logistic"},
         "training": {"optimizer": "adam", "learningRate": 0.05, "batchSize": 2, "maxEpochs": 2}, "seeds": [1]}
        """
        let spec = try PipelineSpec.parse(Data(text.utf8), file: "transcript-cache.json")
        var logs: [[String]] = [[], []]
        var features: [NDArray] = []
        for round in 0..<2 {
            var runner = try PipelineRunner(spec: spec, host: try host(dir), store: try FeatureStore(path: dir + "/store.sqlite"))
            runner.log = { logs[round].append($0) }
            features.append(try runner.run().features)
        }
        XCTAssertTrue(logs[0].contains { $0.contains("transcripts: 4 made, 0 cached") }, "\(logs[0])")
        XCTAssertTrue(logs[1].contains { $0.contains("transcripts: 0 made, 4 cached") }, "\(logs[1])")
        XCTAssertEqual(features[0], features[1])
    }
}
