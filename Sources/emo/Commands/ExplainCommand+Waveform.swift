import ArgumentParser
import EmoCore
import EmoPipeline
import EmoRuntime
import Foundation

extension ExplainCommand {
    /// Waveform mode: IG and occlusion over the clip's samples through the bundle's speech-encoder group.
    func runWaveform(clip: String, bundle loaded: PipelineBundle, predictor: Predictor, host: PluginHost) throws {
        let classes = loaded.manifest.classes
        let prediction = try predictor.predict(path: clip)
        let scaled = try loaded.scaler.transform(prediction.features).values
        let p = prediction.probabilities
        let (predicted, targetIndex) = try resolveTarget(probabilities: p, classes: classes)
        let group = try BundleWaveform.encoderGroup(of: predictor)
        let igConfig: JSONValue, occConfig: JSONValue
        do {
            igConfig = try JSONValue.parse(config)
            occConfig = try occlusionConfig.map { try JSONValue.parse($0) } ?? BundleWaveform.defaultOcclusionConfig
        } catch { throw ValidationError("--config / --occlusion-config: \(error)") }
        if !json { stderrLine("explaining \(prediction.clip.samples.count) samples through '\(loaded.manifest.groups[group].name)' with integrated-gradients and occlusion ...") }
        let a = try BundleWaveform.attribute(samples: prediction.clip.samples, target: targetIndex, host: host,
                                             igConfig: igConfig, occlusionConfig: occConfig) { tape in
            try BundleWaveform.model(predictor: predictor, host: host, group: group, scaledRow: scaled, tape: tape)
        }
        let report = ExplanationReport(
            title: "\((clip as NSString).lastPathComponent): waveform attribution for '\(classes[targetIndex])' through \(loaded.manifest.groups[group].name) (\(loaded.manifest.name))",
            classNames: classes, scores: p, target: targetIndex, method: "integrated-gradients + occlusion", delta: a.delta,
            waveform: .init(samples: prediction.clip.samples, sampleRate: prediction.clip.sampleRate,
                            integratedGradients: a.integratedGradients, occlusion: a.occlusion))
        if try write(report) { return }
        print("predicted \(classes[predicted]) (p = \(String(format: "%.3f", p[predicted]))); explained '\(classes[targetIndex])' over the waveform")
        if let d = a.delta { print(String(format: "IG convergence delta %.3g", d)) }
        print("wrote \(out)/explanation.json and \(out)/explanation.html")
    }
}
