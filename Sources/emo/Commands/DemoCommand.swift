import ArgumentParser
import EmoCore
import EmoPipeline
import EmoRuntime
import Foundation

/// `emo demo`: the README's first command. A committed trained pipeline on a committed speech sample.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Recognise the emotion in a short speech sample with the default pipeline, and explain it.",
        discussion: """
        Uses the pipeline bundled with emo (handcrafted study-a features → standard scaling → early fusion → MLP, \
        trained on RAVDESS + TESS; see Sources/emo/Demo/README.md) and a bundled synthetic speech sample, so it \
        needs no data and no configuration. Prints the class probabilities and the features that pushed the \
        prediction most (Integrated Gradients), and writes OUT/report.html.
          emo demo
          emo demo --audio my-clip.wav --out my-demo
        """)

    @Option(help: "Audio or video file to classify instead of the bundled sample.")
    var audio: String?

    @Option(help: "Pipeline bundle to use instead of the bundled one (an `emo run` output's bundle/).")
    var bundle: String?

    @Option(help: "Output folder for report.html and explanation.json.")
    var out: String = "emo-demo"

    @Flag(help: "Print the result as JSON.")
    var json = false

    /// Folder holding the bundled demo assets (SwiftPM resources of the emo executable).
    static func assets() throws -> String {
        guard let url = Bundle.module.url(forResource: "Demo", withExtension: nil) else {
            throw ValidationError("the demo assets are missing from this build (expected the Demo resource folder next to emo)")
        }
        return url.path
    }

    func run() async throws {
        let assets = try Self.assets()
        let bundlePath = bundle ?? assets + "/bundle"
        let clipPath = audio ?? assets + "/sample.wav"
        let host = PluginHost.standard()
        let loaded = try PipelineBundle.load(bundlePath)
        let predictor = try Predictor(bundle: loaded, host: host)
        let prediction = try predictor.predict(path: clipPath)
        let classes = loaded.manifest.classes
        let p = prediction.probabilities
        let predicted = p.indices.max { p[$0] < p[$1] } ?? 0

        // Why: Integrated Gradients of the predicted class's probability over the scaled features.
        let scaled = try loaded.scaler.transform(prediction.features).values
        let model = ChainModel(chain: predictor.chain, layout: loaded.scaler.layout, classes: classes.count)
        let ig = try host.instantiate(id: "integrated-gradients", config: ["n_steps": 50])
        let attribution = try ig.explain(model: model, input: scaled, baseline: nil, targets: [predicted])
        let groups = loaded.manifest.groups.map {
            FeatureNames.Group(name: $0.name, width: $0.featureNames.count, dimensionNames: $0.featureNames)
        }
        let report = ExplanationReport(
            title: "EmoKit demo: \((clipPath as NSString).lastPathComponent) → \(classes[predicted])",
            classNames: classes, scores: p, target: predicted, method: "integrated-gradients",
            delta: attribution.delta?.first, features: .init(groups: groups, values: attribution.values.data))
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try report.json().serialized(pretty: true).write(toFile: out + "/explanation.json", atomically: true, encoding: .utf8)
        let page = report.html().replacingOccurrences(
            of: "</body>",
            with: "<p>Model: \(ReportSVG.escape(loaded.manifest.name)). Evaluation: \(ReportSVG.escape(loaded.manifest.evaluation)); "
                + String(format: "test accuracy %.1f %%, macro-F1 %.1f %%.", 100 * loaded.manifest.testAccuracy, 100 * loaded.manifest.testMacroF1)
                + "</p></body>")
        try page.write(toFile: out + "/report.html", atomically: true, encoding: .utf8)

        if json {
            let obj: JSONValue = ["clip": .string(clipPath), "predicted": .string(classes[predicted]),
                                  "probabilities": .object(Dictionary(uniqueKeysWithValues: zip(classes, p.map { .number(Double($0)) }))),
                                  "report": .string(out + "/report.html"), "model": .string(loaded.manifest.name),
                                  "evaluation": .string(loaded.manifest.evaluation)]
            print(obj.serialized(pretty: true))
            return
        }
        print("clip: \(clipPath) (\(String(format: "%.2f", prediction.clip.duration)) s, \(prediction.clip.provenance.format))")
        print("model: \(loaded.manifest.name) — \(loaded.manifest.evaluation)")
        print(String(format: "       test accuracy %.1f %%, macro-F1 %.1f %% on its held-out split", 100 * loaded.manifest.testAccuracy, 100 * loaded.manifest.testMacroF1))
        print("")
        for i in p.indices.sorted(by: { p[$0] > p[$1] }) {
            let bar = String(repeating: "█", count: Int((p[i] * 40).rounded()))
            print(classes[i].padding(toLength: 9, withPad: " ", startingAt: 0) + String(format: " %5.1f %% ", 100 * p[i]) + bar)
        }
        print("\nprediction: \(classes[predicted]). Features that pushed it most (Integrated Gradients, 50 steps):")
        let names = FeatureNames.names(for: groups)
        for (i, v) in attribution.values.data.enumerated().sorted(by: { abs($0.element) > abs($1.element) }).prefix(5) {
            print("  " + (i < names.count ? names[i] : "feature \(i)").padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%+.4f", v))
        }
        print("\nwrote \(out)/report.html")
    }
}
