import Foundation

/// Loss and accuracy per epoch of one training run (train and, when there is one, validation).
public struct TrainingCurves: Sendable, Equatable, Codable {
    /// One epoch's record.
    public struct Epoch: Sendable, Equatable, Codable {
        /// 1-based epoch number.
        public var epoch: Int
        /// Mean training loss.
        public var trainLoss: Double
        /// Validation loss, nil without a validation part.
        public var validationLoss: Double?
        /// Training accuracy, if measured.
        public var trainAccuracy: Double?
        /// Validation accuracy, if measured.
        public var validationAccuracy: Double?
        /// Learning rate used in this epoch.
        public var learningRate: Double?

        /// Creates a record.
        public init(epoch: Int, trainLoss: Double, validationLoss: Double? = nil, trainAccuracy: Double? = nil,
                    validationAccuracy: Double? = nil, learningRate: Double? = nil) {
            self.epoch = epoch
            self.trainLoss = trainLoss
            self.validationLoss = validationLoss
            self.trainAccuracy = trainAccuracy
            self.validationAccuracy = validationAccuracy
            self.learningRate = learningRate
        }
    }

    /// Epochs in order.
    public var epochs: [Epoch]
    /// The epoch whose weights were kept (early stopping's best), if any.
    public var bestEpoch: Int?

    /// Creates curves.
    public init(epochs: [Epoch], bestEpoch: Int? = nil) { self.epochs = epochs; self.bestEpoch = bestEpoch }
}

/// The result of one trained model on one split of one seed.
public struct FoldResult: Sendable, Equatable, Codable {
    /// The seed of this run.
    public var seed: UInt64
    /// The split's name ("speaker-independent 5-fold fold 2/5 seed 42").
    public var split: String
    /// Speaker and text overlap between its training side and its test part.
    public var overlap: SplitOverlap
    /// Test-set metrics.
    public var metrics: ClassificationMetrics
    /// Training curves, if recorded.
    public var curves: TrainingCurves?
    /// Values imputed (train + test) because they were NaN or infinite.
    public var imputedValues: Int
    /// With several corpora in the run: the test metrics of each corpus's items in this fold (absent otherwise,
    /// and in results written before this field existed).
    public var perCorpus: [String: ClassificationMetrics]?

    /// Creates a fold result.
    public init(seed: UInt64, split: String, overlap: SplitOverlap, metrics: ClassificationMetrics,
                curves: TrainingCurves? = nil, imputedValues: Int = 0, perCorpus: [String: ClassificationMetrics]? = nil) {
        self.seed = seed
        self.split = split
        self.overlap = overlap
        self.metrics = metrics
        self.curves = curves
        self.imputedValues = imputedValues
        self.perCorpus = perCorpus
    }

    /// Key used to pair folds of two runs for paired tests: seed and fold position.
    var pairKey: String { "\(seed)|\(split)" }
}

/// Which protocol produced a run: every accuracy figure carries it (DESIGN.md §6).
public struct RunProtocol: Sendable, Equatable, Codable {
    /// Corpus description ("RAVDESS+TESS, 7 classes, calm→neutral").
    public var corpus: String
    /// Split protocol display name ("speaker-independent 5-fold").
    public var split: String
    /// Scaling display name ("scaled (standard)", "unscaled").
    public var scaling: String
    /// Seeds run.
    public var seeds: [UInt64]

    /// Creates a protocol record.
    public init(corpus: String, split: String, scaling: String, seeds: [UInt64]) {
        self.corpus = corpus
        self.split = split
        self.scaling = scaling
        self.seeds = seeds
    }
}

/// One model under one protocol: all its folds × seeds, and their summary.
public struct RunResult: Sendable, Equatable, Codable {
    /// Model or pipeline name (a row of the reference table).
    public var model: String
    /// The protocol.
    public var runProtocol: RunProtocol
    /// One entry per (seed, fold).
    public var folds: [FoldResult]

    /// Creates a run result.
    public init(model: String, runProtocol: RunProtocol, folds: [FoldResult]) {
        self.model = model
        self.runProtocol = runProtocol
        self.folds = folds
    }

    /// Values of `metric` over all folds and seeds, in order.
    public func values(_ metric: SummaryMetric) -> [Double] { folds.compactMap { metric.value(in: $0.metrics) } }

    /// Mean ± std (ddof 1) of `metric` over all folds and seeds; nil if no fold has it.
    public func summary(_ metric: SummaryMetric) -> MeanStd? {
        let v = values(metric)
        return v.isEmpty ? nil : MeanStd(v)
    }

    /// Per corpus: mean ± std of `metric` over the folds whose test part holds items of that corpus, with the
    /// number of such folds. Empty for single-corpus runs.
    public func corpusSummaries(_ metric: SummaryMetric) -> [(corpus: String, summary: MeanStd, folds: Int)] {
        var values: [String: [Double]] = [:]
        for f in folds {
            for (corpus, m) in f.perCorpus ?? [:] { if let v = metric.value(in: m) { values[corpus, default: []].append(v) } }
        }
        return values.keys.sorted().compactMap { c in values[c].map { (c, MeanStd($0), $0.count) } }
    }

    /// Per corpus (sorted names), its test items' confusion matrices summed over all folds and seeds; empty for a
    /// run over one corpus.
    public var pooledConfusionByCorpus: [(corpus: String, matrix: [[Int]])] {
        var sums: [String: [[Int]]] = [:]
        for f in folds {
            for (corpus, m) in f.perCorpus ?? [:] {
                var sum = sums[corpus] ?? m.confusion.map { $0.map { _ in 0 } }
                for (i, row) in m.confusion.enumerated() where i < sum.count {
                    for (j, v) in row.enumerated() where j < sum[i].count { sum[i][j] += v }
                }
                sums[corpus] = sum
            }
        }
        return sums.keys.sorted().compactMap { c in sums[c].map { (c, $0) } }
    }

    /// Summed confusion matrix over all folds and seeds (each test item counted once per seed).
    public var pooledConfusion: [[Int]] {
        guard let first = folds.first?.metrics.confusion else { return [] }
        var sum = first.map { $0.map { _ in 0 } }
        for f in folds {
            for (i, row) in f.metrics.confusion.enumerated() where i < sum.count {
                for (j, v) in row.enumerated() where j < sum[i].count { sum[i][j] += v }
            }
        }
        return sum
    }
}

/// The scalar metrics that get a mean ± std.
public enum SummaryMetric: String, Sendable, Codable, CaseIterable {
    /// Accuracy.
    case accuracy
    /// Balanced accuracy.
    case balancedAccuracy = "balanced-accuracy"
    /// Macro F1.
    case macroF1 = "macro-f1"
    /// Weighted F1.
    case weightedF1 = "weighted-f1"
    /// Macro one-vs-rest AUC.
    case macroAUC = "macro-auc"

    /// Column title.
    public var title: String {
        switch self {
        case .accuracy: return "Accuracy"
        case .balancedAccuracy: return "Balanced acc."
        case .macroF1: return "Macro F1"
        case .weightedF1: return "Weighted F1"
        case .macroAUC: return "Macro AUC"
        }
    }

    /// The value in `m`, nil when undefined (AUC without scores).
    public func value(in m: ClassificationMetrics) -> Double? {
        switch self {
        case .accuracy: return m.accuracy
        case .balancedAccuracy: return m.balancedAccuracy
        case .macroF1: return m.macroF1
        case .weightedF1: return m.weightedF1
        case .macroAUC: return m.macroAUC
        }
    }
}
