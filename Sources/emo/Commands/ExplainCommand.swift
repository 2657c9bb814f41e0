import ArgumentParser
import EmoCore
import EmoPipeline
import EmoRuntime
import Foundation

/// `emo explain BUNDLE CLIP`: why the trained pipeline predicted what it did for one clip.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Attribute one prediction of a trained pipeline to its features (Integrated Gradients or Occlusion).",
        discussion: """
        BUNDLE is a run's bundle folder (emo-runs/<name>/bundle) or a run folder containing one. The clip is decoded, \
        its features extracted, scaled with the bundle's scaler, and the explainer plugin attributes the chosen \
        class's softmax probability to every scaled feature. Writes OUT/explanation.json and OUT/explanation.html \
        (feature bars with readable names, modality shares). \
        Waveform mode (--waveform): for a bundle with a speech-encoder group (wav2vec2, hubert, wavlm), attribute the \
        prediction to the clip's samples through that encoder (other groups held at the clip's values) with both \
        Integrated Gradients (--config) and Occlusion (--occlusion-config, default 0.1 s windows every 0.05 s); the \
        HTML shows the waveform, IG, occlusion and their difference. \
        Batch mode (--corpus): every item of a corpus (or N per class) is explained towards its true class (or \
        the predicted one) and OUT/batch.json + OUT/batch.html give per-class mean attributions and modality shares.
          emo explain emo-runs/study-a-handcrafted-early-mlp clip.wav --method ig --target predicted
          emo explain emo-runs/study-b-wavlm clip.mp4 --waveform --config '{"n_steps": 50}'
          emo explain emo-runs/study-a-handcrafted-early-mlp --corpus ../shared/data/tess --kind tess --per-class 10
        """)

    @Argument(help: "Bundle folder (or a run folder containing bundle/).")
    var bundle: String

    @Argument(help: "Audio or video file to explain (omit with --corpus).")
    var clip: String?

    @Option(help: "Batch mode: a corpus folder or manifest to explain item by item.")
    var corpus: String?

    @Option(help: "Batch mode: corpus format (ravdess, tess, meld, manifest).")
    var kind: String?

    @Option(help: "Batch mode: explain at most this many items per class.")
    var perClass: Int = 10

    @Option(help: "ig (integrated-gradients) or occlusion, or any explainer id.")
    var method: String = "ig"

    @Option(help: "Class to explain: 'predicted' or a class name.")
    var target: String = "predicted"

    @Option(help: "Explainer config as a JSON object (e.g. {\"n_steps\": 100} or {\"window\": 4, \"stride\": 2}).")
    var config: String = "{}"

    @Option(help: "The utterance's text, for bundles with a text group (a transcript group transcribes the clip when it is omitted); with --method ig its tokens are attributed too.")
    var text: String?

    @Flag(help: "Attribute to the waveform samples through the bundle's speech-encoder group (IG and occlusion).")
    var waveform = false

    @Option(help: "Waveform mode: occlusion config as a JSON object (default {\"window\": [1600], \"stride\": [800]}).")
    var occlusionConfig: String?

    @Option(help: "Output folder.")
    var out: String = "emo-explain"

    @Flag(help: "Print the explanation JSON on stdout.")
    var json = false

    func run() async throws {
        let folder = FileManager.default.fileExists(atPath: bundle + "/bundle/bundle.json") ? bundle + "/bundle" : bundle
        let host = PluginHost.standard()
        let loaded = try PipelineBundle.load(folder)
        let predictor = try Predictor(bundle: loaded, host: host)
        if let corpus {
            try runBatch(corpus: corpus, bundle: loaded, predictor: predictor, host: host)
            return
        }
        guard let clip else { throw ValidationError("give a CLIP to explain, or --corpus for batch mode") }
        if waveform {
            try runWaveform(clip: clip, bundle: loaded, predictor: predictor, host: host)
            return
        }
        let classes = loaded.manifest.classes
        let prediction = try predictor.predict(path: clip, text: text)
        let scaled = try loaded.scaler.transform(prediction.features).values
        let model = ChainModel(chain: predictor.chain, layout: loaded.scaler.layout, classes: classes.count)
        let (predicted, targetIndex) = try resolveTarget(probabilities: prediction.probabilities, classes: classes)
        let (explainerID, explainer) = try makeExplainer(host)
        let attribution = try explainer.explain(model: model, input: scaled, baseline: nil, targets: [targetIndex])
        let groups = loaded.manifest.groups.map {
            FeatureNames.Group(name: $0.name, width: $0.featureNames.count, dimensionNames: $0.featureNames)
        }
        // Tokens of the (first) text group, by gradients through its encoder: Integrated Gradients only.
        let tokens = explainerID == "integrated-gradients" && predictor.needsText
            ? try predictor.tokenAttributions(prediction, target: targetIndex, explainer: explainer, host: host)
                .sorted { $0.key < $1.key }.first?.value.tokens
            : nil
        let report = ExplanationReport(
            title: "\((clip as NSString).lastPathComponent): \(explainerID) for '\(classes[targetIndex])' (\(loaded.manifest.name))",
            classNames: classes, scores: prediction.probabilities, target: targetIndex, method: explainerID,
            delta: attribution.delta?.first,
            features: .init(groups: groups, values: attribution.values.data), tokens: tokens)
        if try write(report) { return }
        print("predicted \(classes[predicted]) (p = \(String(format: "%.3f", prediction.probabilities[predicted]))); explaining '\(classes[targetIndex])' with \(explainerID)")
        let names = FeatureNames.names(for: groups)
        let ranked = attribution.values.data.enumerated().sorted { abs($0.element) > abs($1.element) }.prefix(10)
        for (i, v) in ranked {
            let name = i < names.count ? names[i] : "feature \(i)"
            print("  " + name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%+.5f", v))
        }
        if let d = attribution.delta?.first { print(String(format: "convergence delta %.3g", d)) }
        if let tokens {
            print("tokens: " + zip(tokens.tokens, tokens.values).map { "\($0)(\(String(format: "%+.3f", $1)))" }.joined(separator: " "))
        }
        print("wrote \(out)/explanation.json and \(out)/explanation.html")
    }

    /// Writes OUT/explanation.json and OUT/explanation.html; with --json also prints the JSON and returns true.
    func write(_ report: ExplanationReport) throws -> Bool {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let jsonText = report.json().serialized(pretty: true)
        try jsonText.write(toFile: out + "/explanation.json", atomically: true, encoding: .utf8)
        try report.html().write(toFile: out + "/explanation.html", atomically: true, encoding: .utf8)
        if json { print(jsonText) }
        return json
    }

    /// The predicted class (arg max of `probabilities`) and the class to explain: the predicted one for
    /// `--target predicted`, else the named class (a ValidationError naming the classes when there is none).
    func resolveTarget(probabilities p: [Float], classes: [String]) throws -> (predicted: Int, target: Int) {
        let predicted = p.indices.max { p[$0] < p[$1] } ?? 0
        if target == "predicted" { return (predicted, predicted) }
        guard let i = classes.firstIndex(of: target) else {
            throw ValidationError("--target '\(target)' is not 'predicted' or one of \(classes)")
        }
        return (predicted, i)
    }

    /// The explainer plugin named by --method, with --config merged in.
    private func makeExplainer(_ host: PluginHost) throws -> (String, LoadedComponent) {
        let explainerID = ["ig": "integrated-gradients", "occlusion": "occlusion"][method] ?? method
        var explainerConfig: JSONValue
        do { explainerConfig = try JSONValue.parse(config) } catch { throw ValidationError("--config: \(error)") }
        if explainerID == "occlusion" && explainerConfig["window"] == nil {
            explainerConfig = explainerConfig.merging(["window": 1, "stride": 1])
        }
        return (explainerID, try host.instantiate(id: explainerID, config: explainerConfig))
    }

    /// Batch mode: per-class mean attributions and modality shares over corpus items.
    private func runBatch(corpus: String, bundle loaded: PipelineBundle, predictor: Predictor, host: PluginHost) throws {
        guard let kindName = kind, let corpusKind = CorpusKind(rawValue: kindName) else {
            throw ValidationError("--kind must be one of \(CorpusKind.allCases.map(\.rawValue)) in batch mode")
        }
        let classes = loaded.manifest.classes
        var taken = [Int](repeating: 0, count: classes.count)
        var items: [(path: String, label: Int, text: String?)] = []
        for item in try CorpusLoader.load(kind: corpusKind, path: corpus).items {
            guard let c = loaded.manifest.classIndex(ofRawLabel: item.label), taken[c] < perClass else { continue }
            taken[c] += 1
            items.append((item.path, c, item.text))
        }
        guard !items.isEmpty else { throw ValidationError("no corpus item has a label among \(classes)") }
        let (explainerID, explainer) = try makeExplainer(host)
        let model = ChainModel(chain: predictor.chain, layout: loaded.scaler.layout, classes: classes.count)
        let groups = loaded.manifest.groups.map {
            FeatureNames.Group(name: $0.name, width: $0.featureNames.count, dimensionNames: $0.featureNames)
        }
        let towards = self.target == "predicted" ? "predicted" : "true"
        var batch = BatchExplanation(
            name: loaded.manifest.name, method: explainerID,
            provenance: "\(items.count) items from \(corpus) (at most \(self.perClass) per class), explained towards the \(towards) class. Model evaluation: \(loaded.manifest.evaluation).",
            groups: groups, classNames: classes)
        let withTokens = explainerID == "integrated-gradients" && predictor.needsText
        for (n, item) in items.enumerated() {
            let prediction = try predictor.predict(path: item.path, text: item.text)
            let p = prediction.probabilities
            let predicted = p.indices.max { p[$0] < p[$1] } ?? 0
            batch.addItem(correct: predicted == item.label)
            let target = self.target == "predicted" ? predicted : item.label
            let scaled = try loaded.scaler.transform(prediction.features).values
            batch.addFeatures(try explainer.explain(model: model, input: scaled, baseline: nil, targets: [target]).values.data, target: target)
            if withTokens {
                for (_, t) in try predictor.tokenAttributions(prediction, target: target, explainer: explainer, host: host) {
                    batch.addTokens(t.tokens, target: target)
                }
            }
            if !json { stderrLine("explained \(n + 1)/\(items.count)") }
        }
        let report = batch.json()
        try batch.write(to: out)
        let correct = batch.correct
        if json { print(report.serialized(pretty: true)) } else { print("wrote \(out)/batch.json and \(out)/batch.html (\(correct)/\(items.count) predicted correctly)") }
    }
}
