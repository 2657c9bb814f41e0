import EmoCore
import EmoMedia
import EmoRuntime
import Foundation

/// Runs the explainers a pipeline spec lists (`explainers[]`) on the trained model, over test items of the split
/// the bundled model was trained on, and writes one per-class summary per explainer (`BatchExplanation`).
///
/// What each explainer attributes follows its `inputs`: feature group names → the fused, scaled feature vector
/// through the trained head (features outside the named groups are attributed too and reported with them);
/// `tokens` → each text group's tokens (`Predictor.tokenAttributions`). `waveform` attribution is made per clip by
/// `emo explain BUNDLE CLIP` (a batch over a run's test items would re-run the encoder per item); it is reported
/// as skipped here. Items are chosen class by class in turn (the first `samples` test items that way), each
/// explained towards its predicted class.
public struct SpecExplanations {
    /// One written summary.
    public struct Output: Sendable {
        /// Explainer id.
        public var component: String
        /// What was attributed.
        public var inputs: [String]
        /// Folder with batch.json and batch.html.
        public var folder: String
        /// Items explained.
        public var items: Int
    }

    private let run: PipelineRun
    private let predictor: Predictor
    private let host: PluginHost
    /// Progress and skip notes.
    public var log: (String) -> Void = { _ in }

    /// Prepares a predictor from `bundle` (the run's own).
    public init(run: PipelineRun, bundle: PipelineBundle, host: PluginHost) throws {
        self.run = run
        self.host = host
        predictor = try Predictor(bundle: bundle, host: host)
    }

    /// Runs every explainer of `explainers` and writes `folder/<index>-<component>/batch.{json,html}`.
    public func write(_ explainers: [ExplainerSpec], into folder: String) throws -> [Output] {
        guard let split = run.trainedSplits.first?.split else { return [] }
        let manifest = predictor.bundle.manifest
        let groupNames = Set(manifest.groups.map(\.name))
        // The test rows scaled as the evaluation scaled them (a per-speaker scaler: each speaker's own statistics).
        let scaler = predictor.bundle.scaler
        let scaledTest = try scaler.transform(try FeatureTable(values: run.features, layout: scaler.layout), rows: split.test,
                                              speakers: scaler.spec.perSpeaker ? run.items.map { $0.speaker ?? "" } : nil).values
        let testPosition = Dictionary(split.test.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var outputs: [Output] = []
        for (index, spec) in explainers.enumerated() {
            let wantsFeatures = spec.inputs.contains { groupNames.contains($0) }
            var wantsTokens = spec.inputs.contains("tokens")
            if wantsTokens && scaler.spec.perSpeaker {
                log("explainers[\(index)] \(spec.component): tokens are attributed through one group of the head, which a bundle scaled per speaker cannot isolate; skipped")
                wantsTokens = false
            }
            for other in spec.inputs where !groupNames.contains(other) && other != "tokens" {
                log("explainers[\(index)] \(spec.component): input '\(other)' " + (other == "waveform"
                    ? "is explained per clip with `emo explain BUNDLE CLIP --waveform`; skipped in the run"
                    : "is neither a feature group (\(groupNames.sorted())) nor tokens/waveform; skipped"))
            }
            guard wantsFeatures || wantsTokens else { continue }
            let explainer = try host.instantiate(id: spec.component, config: spec.config)
            let chosen = Self.balanced(split.test, classes: run.items.map(\.classIndex), count: spec.samples)
            let groups = manifest.groups.map { FeatureNames.Group(name: $0.name, width: $0.featureNames.count, dimensionNames: $0.featureNames) }
            var batch = BatchExplanation(
                name: manifest.name, method: "\(spec.component) \(spec.config.serialized())",
                provenance: "\(chosen.count) test items of \(run.trainedSplits[0].split.name) (seed \(run.trainedSplits[0].seed)), chosen class by class, each explained towards its predicted class; inputs \(spec.inputs).",
                groups: groups, classNames: manifest.classes)
            let chain = ChainModel(chain: predictor.chain, layout: predictor.bundle.scaler.layout, classes: manifest.classes.count)
            for (n, i) in chosen.enumerated() {
                let item = run.items[i]
                let width = run.features.shape[1]
                let row = try NDArray(shape: [1, width], data: Array(run.features.data[(i * width)..<((i + 1) * width)]))
                guard let at = testPosition[i] else { continue }
                let scaled = try NDArray(shape: [1, width], data: Array(scaledTest.data[(at * width)..<((at + 1) * width)]))  // [1, ΣC_g]
                let p = try predictor.probabilities(scaled: scaled).data
                let predicted = p.indices.max { p[$0] < p[$1] } ?? 0
                batch.addItem(correct: predicted == item.classIndex)
                if wantsFeatures {
                    let a = try explainer.explain(model: chain, input: scaled, baseline: nil, targets: [predicted])
                    batch.addFeatures(a.values.data, target: predicted)
                }
                if wantsTokens {
                    let texts = try textsOf(item)
                    for (_, t) in try predictor.tokenAttributions(features: row, texts: texts, target: predicted,
                                                                  explainer: explainer, host: host) {
                        batch.addTokens(t.tokens, target: predicted)
                    }
                }
                log("explainers[\(index)] \(spec.component): \(n + 1)/\(chosen.count)")
            }
            let out = folder + "/\(index)-\(spec.component)"
            try batch.write(to: out)
            outputs.append(Output(component: spec.component, inputs: spec.inputs, folder: out, items: chosen.count))
        }
        return outputs
    }

    /// The text each text group of the bundle encodes for `item`: its corpus text, or its transcript.
    private func textsOf(_ item: RunItem) throws -> [Int: String] {
        var texts: [Int: String] = [:]
        var clip: Clip?
        for (g, group) in predictor.bundle.manifest.groups.enumerated() where group.readsText {
            if group.input == "corpus-text" {
                guard let t = item.item.text, !t.isEmpty else {
                    throw RunError.unsupported("\(item.item.path) has no text for group '\(group.name)'")
                }
                texts[g] = t
            } else {
                let decoded = try clip ?? MediaDecoder().decode(path: item.item.path)
                clip = decoded
                texts[g] = try predictor.text(forGroup: g, clip: decoded, given: nil)
            }
        }
        return texts
    }

    /// Up to `count` of `indices`, taking one of each class in turn (class order, then index order within a class).
    static func balanced(_ indices: [Int], classes: [Int], count: Int) -> [Int] {
        var byClass: [Int: [Int]] = [:]
        for i in indices { byClass[classes[i], default: []].append(i) }
        let keys = byClass.keys.sorted()
        var out: [Int] = []
        var round = 0
        while out.count < count {
            var took = false
            for k in keys where out.count < count {
                guard let members = byClass[k], round < members.count else { continue }
                out.append(members[round])
                took = true
            }
            if !took { break }
            round += 1
        }
        return out
    }
}
