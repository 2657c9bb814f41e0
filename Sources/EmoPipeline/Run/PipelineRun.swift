import EmoCore
import Foundation

/// What a trained pipeline needs to predict: the fitted scaler and the components' states and configs.
public struct TrainedModel: Sendable {
    /// Scaler fitted on the training rows.
    public var scaler: FittedScaler
    /// Fusion state bytes (`saveState`).
    public var fusionState: [UInt8]
    /// Classifier state bytes.
    public var classifierState: [UInt8]
    /// The fusion's resolved config (widths, seed, ...).
    public var fusionConfig: JSONValue
    /// The classifier's resolved config.
    public var classifierConfig: JSONValue
    /// Fine-tuned groups' encoder weights (group name → `saveState`: a safetensors file under Hugging Face's names).
    public var encoderStates: [String: [UInt8]] = [:]
}

/// Everything one `emo run` produced: the report's `RunResult` (folds × seeds with metrics, overlap and curves)
/// plus the corpus, feature groups and the model trained on the first split.
public struct PipelineRun: Sendable {
    /// A feature group's identity and columns.
    public struct GroupInfo: Sendable, Codable, Equatable {
        /// Group name.
        public var name: String
        /// Component id, version and config hash.
        public var component: String, version: String, configHash: String
        /// C_g.
        public var width: Int
        /// Column names.
        public var featureNames: [String]
    }

    /// The spec that ran.
    public var spec: PipelineSpec
    /// The corpus after label mapping.
    public var corpus: RunCorpus
    /// Feature groups used.
    public var groups: [GroupInfo]
    /// Clips that could not be decoded or extracted (dropped from every group).
    public var extractionFailures: [ExtractionFailure]
    /// Per fold × seed results, in the form reports read.
    public var result: RunResult
    /// Wall time of each trained split (seconds), in `result.folds` order.
    public var splitSeconds: [Double]
    /// The model trained on the first seed's first split (what a bundle ships).
    public var model: TrainedModel?
    /// The items trained and tested on (the corpus minus extraction failures); split indices refer to these.
    public var items: [RunItem] = []
    /// Unscaled features of `items`, all groups side by side, `[N, ΣC_g]` (non-finite values as extracted).
    public var features = NDArray(zeros: [0, 0])
    /// Every trained split with its seed, in `result.folds` order.
    public var trainedSplits: [SeededSplit] = []

    /// The protocol in words: corpus, classes, split, seeds, overlap.
    public var protocolDescription: String {
        let sources = spec.corpus.sources.map(\.kind).joined(separator: "+")
        let speakers = result.folds.map(\.overlap.sharedSpeakers.count).max() ?? 0
        let texts = result.folds.map(\.overlap.sharedTexts.count).max() ?? 0
        return "\(sources), \(corpus.classes.count) classes, \(corpus.items.count) items, \(spec.split.method.displayName), "
            + "scaling \(result.runProtocol.scaling), seeds \(spec.seeds.map(String.init).joined(separator: ",")), "
            + "\(result.folds.count) trained splits; at most \(speakers) speakers and \(texts) texts shared between train and test"
            + corporaDescription
    }

    /// "; corpora train ravdess / test tess" per distinct pair of sides, or "" when the items name no corpus.
    var corporaDescription: String {
        var seen: [String] = []
        for f in result.folds where !(f.overlap.trainCorpora.isEmpty && f.overlap.testCorpora.isEmpty) {
            let line = f.overlap.corporaSummary
            if !seen.contains(line) { seen.append(line) }
        }
        return seen.isEmpty ? "" : "; " + seen.joined(separator: ", ")
    }

    /// A few lines for the terminal.
    public var summary: String {
        var lines = ["\(spec.name): \(protocolDescription)"]
        for m in SummaryMetric.allCases {
            if let s = result.summary(m) {
                lines.append("  " + m.title.padding(toLength: 15, withPad: " ", startingAt: 0) + s.formatted(digits: 2, scale: 100) + " %")
            }
        }
        for m in [SummaryMetric.accuracy, .macroF1] {
            let per = result.corpusSummaries(m)
            guard !per.isEmpty else { continue }
            lines.append("  \(m.title) by corpus: "
                         + per.map { "\($0.corpus) \($0.summary.formatted(digits: 2, scale: 100)) % (\($0.folds) folds)" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}
