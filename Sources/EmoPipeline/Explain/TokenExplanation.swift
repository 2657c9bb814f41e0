import EmoCore
import EmoRuntime
import Foundation

extension Predictor {
    /// Attributions of one prediction to the tokens of every text group, with a gradient explainer (Integrated
    /// Gradients) over each group's word embeddings while the other groups keep this clip's values.
    ///
    /// The group's encoder is instantiated again with `token_embeddings: true` (the `roberta` plugin's switch for
    /// returning token ids and word embeddings), so it must be differentiable to its word embeddings. Baselines are
    /// the explainer's own (zero embeddings by default, as in the MELD study). Token strings come from the model
    /// folder's `vocab.json` when the group config names one (`model`), else `#id`.
    /// - Returns: per text group index, the tokens with one attribution each (summed over the embedding width)
    ///   and the explainer's convergence delta.
    public func tokenAttributions(_ prediction: Prediction, target: Int, explainer: LoadedComponent,
                                  host: PluginHost) throws -> [Int: (tokens: ExplanationReport.Tokens, delta: Float?)] {
        try tokenAttributions(features: prediction.features, texts: prediction.texts, target: target,
                              explainer: explainer, host: host)
    }

    /// `tokenAttributions(_:target:explainer:host:)` from a clip's unscaled feature row `[1, ΣC_g]` and the text
    /// each text group encoded (by group index).
    public func tokenAttributions(features: NDArray, texts: [Int: String], target: Int, explainer: LoadedComponent,
                                  host: PluginHost) throws -> [Int: (tokens: ExplanationReport.Tokens, delta: Float?)] {
        let scaled = try singleClipScaler.transform(features).values            // [1, ΣC_g], as predict(clip:) scales
        var result: [Int: (tokens: ExplanationReport.Tokens, delta: Float?)] = [:]
        for (g, group) in bundle.manifest.groups.enumerated() where group.readsText {
            guard let text = texts[g] else { continue }
            let encoder = try host.instantiate(id: group.component, config: group.config.merging(["token_embeddings": true]))
            let out = try encoder.forward([.text(text)])
            guard let (ids, words) = Self.tokenOutputs(out), words.rank == 3, words.shape[0] == 1, words.shape[1] == ids.count else {
                throw RunError.badOutput(component: group.component,
                                         message: "with token_embeddings: true it must also return token ids [1, T] and word embeddings [1, T, C]; it cannot be explained over tokens")
            }
            guard encoder.isDifferentiable else {
                throw RunError.unsupported("\(group.component) has no backward, so its tokens cannot be attributed by gradients")
            }
            let head = try GroupHead(chain: chain, scaler: bundle.scaler, group: g, scaledRow: scaled)
            let model = TokenModel(encoder: encoder, ids: ids, head: head, classes: bundle.manifest.classes.count)
            let attribution = try explainer.explain(model: model, input: words, baseline: nil, targets: [target])
            let names = Self.tokenNames(ids, modelFolder: group.config["model"]?.stringValue)
            result[g] = (ExplanationReport.Tokens(tokens: names, values: TokenModel.perToken(attribution.values)),
                         attribution.delta?.first)
        }
        return result
    }

    /// The `.ids` output and the last rank-3 float output of a text encoder's forward.
    static func tokenOutputs(_ outputs: [Value]) -> ([Int64], NDArray)? {
        var ids: [Int64]?
        for case .ids(_, let values) in outputs { ids = values }
        guard let ids, let words = outputs.compactMap(\.array).last(where: { $0.rank == 3 }) else { return nil }
        return (ids, words)
    }

    /// Token strings for `ids` from `<modelFolder>/vocab.json` (Hugging Face's token → id map), else `#id`.
    static func tokenNames(_ ids: [Int64], modelFolder: String?) -> [String] {
        var byID: [Int64: String] = [:]
        if let folder = modelFolder, let data = FileManager.default.contents(atPath: folder + "/vocab.json"),
           let vocab = try? JSONSerialization.jsonObject(with: data) as? [String: Int] {
            for (token, id) in vocab { byID[Int64(id)] = token }
        }
        return ids.map { byID[$0] ?? "#\($0)" }
    }
}
