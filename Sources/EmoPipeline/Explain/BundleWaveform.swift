import EmoCore
import EmoRuntime

/// Waveform attribution of a trained bundle: the prediction seen as a function of the clip's samples through the
/// bundle's audio-encoder group (`WaveformModel` = encoder → `GroupHead`), explained with Integrated Gradients
/// and Occlusion over the samples, as in the MELD study's figures.
public enum BundleWaveform {
    /// Index of the first group whose component is a differentiable encoder reading audio (wav2vec2, HuBERT,
    /// WavLM); throws when the bundle has none.
    public static func encoderGroup(of predictor: Predictor) throws -> Int {
        for (i, c) in predictor.extractors.enumerated()
        where c.info.kind == .encoder && c.info.manifest["differentiable"]?.boolValue == true
            && (predictor.bundle.manifest.groups[i].input ?? "audio") == "audio" {
            return i
        }
        let groups = predictor.bundle.manifest.groups.map { "\($0.name) (\($0.component))" }.joined(separator: ", ")
        throw ComponentError.unsupported(
            component: "bundle-waveform",
            call: "waveform attribution of a bundle without a differentiable audio encoder group (groups: \(groups)); train with a wav2vec2, hubert or wavlm group")
    }

    /// The bundle's prediction over waveforms `[B, N]` for one clip whose scaled feature row is `scaledRow` `[1, ΣC]`:
    /// a fresh instance of group `group`'s encoder, then `GroupHead`. Scores are class probabilities. With `tape`
    /// (for gradient explainers), the encoder keeps each forward's activations (`keep_activations`) so backward
    /// recomputes nothing; forward-only explainers (Occlusion) want it off: no tape to write, and the encoder
    /// splits each batch across threads.
    public static func model(predictor: Predictor, host: PluginHost, group: Int, scaledRow: NDArray,
                             tape: Bool = true) throws -> WaveformModel {
        let g = predictor.bundle.manifest.groups[group]
        var config = g.config
        if predictor.extractors[group].info.manifest["config"]?["keep_activations"] != nil {
            config = config.merging(["keep_activations": .bool(tape)])
        }
        let encoder = try host.instantiate(id: g.component, config: config)
        let head = try GroupHead(chain: predictor.chain, scaler: predictor.bundle.scaler, group: group, scaledRow: scaledRow)
        return WaveformModel(encoder: encoder, head: .component(head), classes: predictor.bundle.manifest.classes.count)
    }

    /// IG and Occlusion attributions `[N]` of `target`'s probability for `samples`, with the explainer plugins
    /// `integrated-gradients` (`igConfig`) and `occlusion` (`occlusionConfig`); the IG convergence delta too.
    /// `model(tape)` makes the model each explainer runs (`tape` true for IG, false for Occlusion; see `model`),
    /// one at a time, so only one encoder instance is alive at once.
    public static func attribute(samples: [Float], target: Int, host: PluginHost, igConfig: JSONValue,
                                 occlusionConfig: JSONValue, model: (_ tape: Bool) throws -> WaveformModel) throws
        -> (integratedGradients: [Float], occlusion: [Float], delta: Float?) {
        let x = try NDArray(shape: [1, samples.count], data: samples)  // [1, N]
        let ig = try host.instantiate(id: "integrated-gradients", config: igConfig)
        let igResult = try ig.explain(model: try model(true), input: x, baseline: nil, targets: [target])
        let occ = try host.instantiate(id: "occlusion", config: occlusionConfig)
        let occResult = try occ.explain(model: try model(false), input: x, baseline: nil, targets: [target])
        return (igResult.values.data, occResult.values.data, igResult.delta?.first)
    }

    /// Occlusion's default over 16 kHz samples: 0.1 s windows every 0.05 s (the MELD study's setting).
    public static let defaultOcclusionConfig: JSONValue = ["window": [1600], "stride": [800], "baseline": 0]
}
