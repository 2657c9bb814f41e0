import EmoCore

/// A declarative pipeline: corpus, feature groups, split, scaling, fusion, classifier, training, seeds, metrics and
/// explainers. `emo run SPEC` executes one; docs/pipelines/ holds the shipped ones and docs/evaluation.md the format.
///
/// Every struct here is Codable with camelCase JSON keys equal to the property names; optional fields have the
/// defaults their doc comments state. `PipelineSpec.load(from:)` also rejects unknown keys (a typo would otherwise
/// be silently ignored) and checks values (`validate()`).
public struct PipelineSpec: Sendable, Equatable, Codable {
    /// Spec format version; this code reads version 1.
    public var version: Int
    /// Machine name of the pipeline (`[a-z0-9-]+`), used for run folders and bundles.
    public var name: String
    /// One paragraph for people (optional).
    public var description: String?
    /// Which recordings and labels.
    public var corpus: CorpusSpec
    /// How clips are decoded for the audio groups (default: 16 kHz, natural length, no normalisation).
    public var audio: AudioSpec
    /// Feature groups, each produced by one extractor or encoder; order = column order.
    public var featureGroups: [FeatureGroupSpec]
    /// Split protocol and validation part.
    public var split: SplitSpec
    /// Scaling of the feature groups (fit on the training part only).
    public var scaling: ScalingSpec
    /// The fusion component.
    public var fusion: FusionSpec
    /// The classifier component.
    public var classifier: ComponentRef
    /// Optimiser and schedule.
    public var training: TrainingConfig
    /// One run per seed; results are reported as mean ± std over seeds (and folds).
    public var seeds: [UInt64]
    /// Metrics to report (default: all of `MetricName`).
    public var metrics: [MetricName]
    /// Explainers to run on the trained pipeline (default: none).
    public var explainers: [ExplainerSpec]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case version, name, description, corpus, audio, featureGroups, split, scaling, fusion, classifier, training, seeds,
             metrics, explainers
    }

    /// Decodes, applying defaults for `description`, `metrics` and `explainers`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(Int.self, forKey: .version)
        name = try c.decode(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        corpus = try c.decode(CorpusSpec.self, forKey: .corpus)
        audio = try c.decodeIfPresent(AudioSpec.self, forKey: .audio) ?? AudioSpec()
        featureGroups = try c.decode([FeatureGroupSpec].self, forKey: .featureGroups)
        split = try c.decode(SplitSpec.self, forKey: .split)
        scaling = try c.decode(ScalingSpec.self, forKey: .scaling)
        fusion = try c.decode(FusionSpec.self, forKey: .fusion)
        classifier = try c.decode(ComponentRef.self, forKey: .classifier)
        training = try c.decode(TrainingConfig.self, forKey: .training)
        seeds = try c.decode([UInt64].self, forKey: .seeds)
        metrics = try c.decodeIfPresent([MetricName].self, forKey: .metrics) ?? MetricName.allCases
        explainers = try c.decodeIfPresent([ExplainerSpec].self, forKey: .explainers) ?? []
    }
}

/// A component by stable id with its config (merged over the component's manifest defaults at run time).
public struct ComponentRef: Sendable, Equatable, Codable {
    /// Stable machine id (`[a-z0-9-]+`), as in `emo plugins list`.
    public var component: String
    /// Config object; default `{}`.
    public var config: JSONValue

    /// Creates a reference.
    public init(component: String, config: JSONValue = [:]) { self.component = component; self.config = config }

    enum CodingKeys: String, CodingKey, CaseIterable { case component, config }

    /// Decodes, with `config` defaulting to `{}`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        component = try c.decode(String.self, forKey: .component)
        config = try c.decodeIfPresent(JSONValue.self, forKey: .config) ?? [:]
    }
}

/// What a feature group's component reads.
public enum FeatureInput: String, Sendable, SpecEnum {
    /// The decoded clip (extractors, speech encoders).
    case audio
    /// The corpus' own utterance text (MELD's transcripts).
    case corpusText = "corpus-text"
    /// Text transcribed from the clip by the `textFrom` component (Whisper).
    case transcript
}

/// One feature group: a named block of columns produced by one extractor or encoder.
public struct FeatureGroupSpec: Sendable, Equatable, Codable {
    /// Group name (`[a-z0-9-]+`), referenced by scaling overrides, fusion and explainers.
    public var name: String
    /// Extractor or encoder id.
    public var component: String
    /// Its config; default `{}`.
    public var config: JSONValue
    /// What the component reads; default `audio`.
    public var input: FeatureInput
    /// For `input: transcript`: the transcriber that turns the clip into text (`whisper-tiny-en`); nil otherwise.
    public var textFrom: ComponentRef?
    /// Fine-tune this group's encoder end to end with the head (nil: frozen, its features cached).
    public var fineTune: FineTuneSpec?

    enum CodingKeys: String, CodingKey, CaseIterable { case name, component, config, input, textFrom, fineTune }

    /// Creates a group.
    public init(name: String, component: String, config: JSONValue = [:], input: FeatureInput = .audio,
                textFrom: ComponentRef? = nil, fineTune: FineTuneSpec? = nil) {
        self.name = name
        self.component = component
        self.config = config
        self.input = input
        self.textFrom = textFrom
        self.fineTune = fineTune
    }

    /// Decodes, with `config` defaulting to `{}` and `input` to `audio`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        component = try c.decode(String.self, forKey: .component)
        config = try c.decodeIfPresent(JSONValue.self, forKey: .config) ?? [:]
        input = try c.decodeIfPresent(FeatureInput.self, forKey: .input) ?? .audio
        textFrom = try c.decodeIfPresent(ComponentRef.self, forKey: .textFrom)
        fineTune = try c.decodeIfPresent(FineTuneSpec.self, forKey: .fineTune)
    }
}

/// How a feature group's encoder is fine-tuned (`"fineTune": {"layers": "all", "learningRate": 5e-5}`): the encoder
/// gets `fine_tune: layers` and the run's seed in its config, its weights train with the head every step, its
/// embeddings are computed afresh from each batch's texts or decoded clips (never cached), and the bundle keeps its weights.
public struct FineTuneSpec: Sendable, Equatable, Codable {
    /// `all` (every weight, embeddings included) or `top-K` (the top K layers).
    public var layers: String
    /// Peak learning rate of the encoder's weights (the same warm-up and decay as the head); nil = the training
    /// block's `learningRate`.
    public var learningRate: Double?

    enum CodingKeys: String, CodingKey, CaseIterable { case layers, learningRate }

    /// Creates the settings.
    public init(layers: String = "all", learningRate: Double? = nil) {
        self.layers = layers
        self.learningRate = learningRate
    }

    /// Decodes, with `layers` defaulting to `all`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layers = try c.decodeIfPresent(String.self, forKey: .layers) ?? "all"
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate)
    }
}

/// Split protocol (flattened into this object: `{"kind": "speaker-kfold", "folds": 5, "validationFraction": 0.1}`).
public struct SplitSpec: Sendable, Equatable, Codable {
    /// The protocol.
    public var method: SplitProtocol
    /// Fraction of the training part carved out (stratified) for early stopping and LR plateau; nil = none.
    /// Ignored by `official` splits that name a validation partition.
    public var validationFraction: Double?
    /// How the validation part is drawn: `stratified` (default), `speaker` or `text` (whole groups).
    public var validationGrouping: ValidationGrouping

    /// Creates a split spec.
    public init(method: SplitProtocol, validationFraction: Double? = nil, validationGrouping: ValidationGrouping = .stratified) {
        self.method = method
        self.validationFraction = validationFraction
        self.validationGrouping = validationGrouping
    }

    enum CodingKeys: String, CodingKey { case validationFraction, validationGrouping }

    /// Decodes the protocol's keys, `validationFraction` and `validationGrouping` from one object.
    public init(from decoder: Decoder) throws {
        method = try SplitProtocol(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction)
        validationGrouping = try c.decodeIfPresent(ValidationGrouping.self, forKey: .validationGrouping) ?? .stratified
    }

    /// Encodes as one flat object.
    public func encode(to encoder: Encoder) throws {
        try method.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(validationFraction, forKey: .validationFraction)
        try c.encode(validationGrouping, forKey: .validationGrouping)
    }

    /// The splits of `items` for `seed`, each with its validation part carved out when `validationFraction` is set.
    public func splits<Item: SplitItem>(of items: [Item], seed: UInt64) throws(SplitError) -> [Split] {
        let base = try method.splits(of: items, seed: seed)
        guard let v = validationFraction else { return base }
        var out: [Split] = []
        for s in base { out.append(try s.withValidation(fraction: v, items: items, seed: seed, grouping: validationGrouping)) }
        return out
    }

    static let knownKeys: Set<String> = SplitProtocol.knownKeys.union(["validationFraction", "validationGrouping"])
}

/// The fusion component and which feature groups it fuses.
public struct FusionSpec: Sendable, Equatable, Codable {
    /// Fusion id ("early", "late", "attention", "projection").
    public var component: String
    /// Its config; default `{}`.
    public var config: JSONValue
    /// Feature groups fused, in order; default all, in `featureGroups` order.
    public var groups: [String]?

    enum CodingKeys: String, CodingKey, CaseIterable { case component, config, groups }

    /// Decodes, with `config` defaulting to `{}`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        component = try c.decode(String.self, forKey: .component)
        config = try c.decodeIfPresent(JSONValue.self, forKey: .config) ?? [:]
        groups = try c.decodeIfPresent([String].self, forKey: .groups)
    }
}

/// A metric a run reports.
public enum MetricName: String, Sendable, SpecEnum {
    /// Fraction correct.
    case accuracy
    /// Mean per-class recall.
    case balancedAccuracy = "balanced-accuracy"
    /// Unweighted mean F1.
    case macroF1 = "macro-f1"
    /// Support-weighted mean F1.
    case weightedF1 = "weighted-f1"
    /// Per-class precision, recall, F1 and support.
    case perClass = "per-class"
    /// Confusion matrix (rows true, columns predicted).
    case confusionMatrix = "confusion-matrix"
    /// One-vs-rest ROC AUC per class and macro/weighted.
    case aucOvR = "auc-ovr"
}

/// An explainer to run after training.
public struct ExplainerSpec: Sendable, Equatable, Codable {
    /// Explainer id ("integrated-gradients", "occlusion").
    public var component: String
    /// Its config (baseline, steps, window, stride, ...); default `{}`.
    public var config: JSONValue
    /// What to attribute over: feature group names, or "waveform" / "tokens" (through a differentiable encoder).
    public var inputs: [String]
    /// How many test items to explain; default 16.
    public var samples: Int

    enum CodingKeys: String, CodingKey, CaseIterable { case component, config, inputs, samples }

    /// Decodes, with defaults for `config` and `samples`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        component = try c.decode(String.self, forKey: .component)
        config = try c.decodeIfPresent(JSONValue.self, forKey: .config) ?? [:]
        inputs = try c.decode([String].self, forKey: .inputs)
        samples = try c.decodeIfPresent(Int.self, forKey: .samples) ?? 16
    }
}
