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
        BUNDLE is a run's bundle folder (emo-runs/<name>/bundle) or a run folder containing one. The clip is decoded,
        its features extracted, scaled with the bundle's scaler, and the explainer plugin attributes the chosen
        class's softmax probability to every scaled feature. Writes OUT/explanation.json and OUT/explanation.html
        (feature bars with readable names, modality shares).
          emo explain emo-runs/study-a-handcrafted-early-mlp clip.wav --method ig --target predicted
        """)

    @Argument(help: "Bundle folder (or a run folder containing bundle/).")
    var bundle: String

    @Argument(help: "Audio or video file to explain.")
    var clip: String

    @Option(help: "ig (integrated-gradients) or occlusion, or any explainer id.")
    var method: String = "ig"

    @Option(help: "Class to explain: 'predicted' or a class name.")
    var target: String = "predicted"

    @Option(help: "Explainer config as a JSON object (e.g. {\"n_steps\": 100} or {\"window\": 4, \"stride\": 2}).")
    var config: String = "{}"

    @Option(help: "Output folder.")
    var out: String = "emo-explain"

    @Flag(help: "Print the explanation JSON on stdout.")
    var json = false

    func run() async throws {
        let folder = FileManager.default.fileExists(atPath: bundle + "/bundle/bundle.json") ? bundle + "/bundle" : bundle
        let host = PluginHost.standard()
        let loaded = try PipelineBundle.load(folder)
        let predictor = try Predictor(bundle: loaded, host: host)
        let classes = loaded.manifest.classes
        let prediction = try predictor.predict(path: clip)
        let scaled = try loaded.scaler.transform(prediction.features).values
        let model = ChainModel(chain: predictor.chain, layout: loaded.scaler.layout, classes: classes.count)
        let predicted = prediction.probabilities.indices.max { prediction.probabilities[$0] < prediction.probabilities[$1] } ?? 0
        let targetIndex: Int
        if target == "predicted" {
            targetIndex = predicted
        } else if let i = classes.firstIndex(of: target) {
            targetIndex = i
        } else {
            throw ValidationError("--target '\(target)' is not 'predicted' or one of \(classes)")
        }
        let explainerID = ["ig": "integrated-gradients", "occlusion": "occlusion"][method] ?? method
        var explainerConfig: JSONValue
        do { explainerConfig = try JSONValue.parse(config) } catch { throw ValidationError("--config: \(error)") }
        if explainerID == "occlusion" && explainerConfig["window"] == nil {
            explainerConfig = explainerConfig.merging(["window": 1, "stride": 1])
        }
        let explainer = try host.instantiate(id: explainerID, config: explainerConfig)
        let attribution = try explainer.explain(model: model, input: scaled, baseline: nil, targets: [targetIndex])
        let groups = loaded.manifest.groups.map {
            FeatureNames.Group(name: $0.name, width: $0.featureNames.count, dimensionNames: $0.featureNames)
        }
        let report = ExplanationReport(
            title: "\((clip as NSString).lastPathComponent): \(explainerID) for '\(classes[targetIndex])' (\(loaded.manifest.name))",
            classNames: classes, scores: prediction.probabilities, target: targetIndex, method: explainerID,
            delta: attribution.delta?.first,
            features: .init(groups: groups, values: attribution.values.data))
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let jsonText = report.json().serialized(pretty: true)
        try jsonText.write(toFile: out + "/explanation.json", atomically: true, encoding: .utf8)
        try report.html().write(toFile: out + "/explanation.html", atomically: true, encoding: .utf8)
        if json {
            print(jsonText)
            return
        }
        print("predicted \(classes[predicted]) (p = \(String(format: "%.3f", prediction.probabilities[predicted]))); explaining '\(classes[targetIndex])' with \(explainerID)")
        let names = FeatureNames.names(for: groups)
        let ranked = attribution.values.data.enumerated().sorted { abs($0.element) > abs($1.element) }.prefix(10)
        for (i, v) in ranked {
            let name = i < names.count ? names[i] : "feature \(i)"
            print("  " + name.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%+.5f", v))
        }
        if let d = attribution.delta?.first { print(String(format: "convergence delta %.3g", d)) }
        print("wrote \(out)/explanation.json and \(out)/explanation.html")
    }
}
