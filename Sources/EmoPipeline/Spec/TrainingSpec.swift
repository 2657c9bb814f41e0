/// Optimiser, schedule and regularisation: what the host's trainer does with the fusion + classifier parameters.
///
/// Only `optimizer`, `learningRate`, `batchSize` and `maxEpochs` are required; every block left out is off.
public struct TrainingSpec: Sendable, Equatable, Codable {
    /// Optimiser.
    public enum Optimizer: String, Sendable, SpecEnum {
        /// Adam (L2, if any, coupled to the gradient, as Keras' kernel regulariser).
        case adam
        /// AdamW (decoupled `weightDecay`).
        case adamw
        /// Plain SGD with optional `momentum`.
        case sgd
    }

    /// Which validation quantity a callback watches.
    public enum Monitor: String, Sendable, SpecEnum {
        /// Validation loss (lower is better).
        case validationLoss = "val-loss"
        /// Validation accuracy (higher is better).
        case validationAccuracy = "val-accuracy"
        /// Validation macro F1 (higher is better).
        case validationMacroF1 = "val-macro-f1"
    }

    /// Stop when the monitored quantity has not improved by `minDelta` for `patience` epochs.
    public struct EarlyStopping: Sendable, Equatable, Codable {
        /// Quantity watched; default `val-loss`.
        public var monitor: Monitor
        /// Epochs without improvement before stopping.
        public var patience: Int
        /// Smallest change that counts as improvement; default 0.
        public var minDelta: Double
        /// Restore the best epoch's weights at the end; default true.
        public var restoreBestWeights: Bool

        enum CodingKeys: String, CodingKey, CaseIterable { case monitor, patience, minDelta, restoreBestWeights }

        /// Decodes with the stated defaults.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            monitor = try c.decodeIfPresent(Monitor.self, forKey: .monitor) ?? .validationLoss
            patience = try c.decode(Int.self, forKey: .patience)
            minDelta = try c.decodeIfPresent(Double.self, forKey: .minDelta) ?? 0
            restoreBestWeights = try c.decodeIfPresent(Bool.self, forKey: .restoreBestWeights) ?? true
        }
    }

    /// Multiply the learning rate by `factor` after `patience` epochs without improvement (Keras' ReduceLROnPlateau).
    public struct Plateau: Sendable, Equatable, Codable {
        /// Quantity watched; default `val-loss`.
        public var monitor: Monitor
        /// Factor in (0, 1).
        public var factor: Double
        /// Epochs without improvement before reducing.
        public var patience: Int
        /// Floor for the learning rate; default 0.
        public var minLearningRate: Double

        enum CodingKeys: String, CodingKey, CaseIterable { case monitor, factor, patience, minLearningRate }

        /// Decodes with the stated defaults.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            monitor = try c.decodeIfPresent(Monitor.self, forKey: .monitor) ?? .validationLoss
            factor = try c.decode(Double.self, forKey: .factor)
            patience = try c.decode(Int.self, forKey: .patience)
            minLearningRate = try c.decodeIfPresent(Double.self, forKey: .minLearningRate) ?? 0
        }
    }

    /// Linear warm-up of the learning rate from 0 over the first steps, then `schedule`.
    public struct Warmup: Sendable, Equatable, Codable {
        /// Fraction of all optimiser steps spent warming up, in [0, 1).
        public var fraction: Double
        /// After warm-up: constant or linear decay to 0 (the Hugging Face `linear` schedule).
        public var schedule: Schedule

        /// What follows warm-up.
        public enum Schedule: String, Sendable, SpecEnum {
            /// Keep the peak learning rate.
            case constant
            /// Decay linearly to 0 at the last step.
            case linear
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case fraction, schedule }

        /// Decodes; `schedule` defaults to `linear`.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            fraction = try c.decode(Double.self, forKey: .fraction)
            schedule = try c.decodeIfPresent(Schedule.self, forKey: .schedule) ?? .linear
        }
    }

    /// Class weights in the loss.
    public enum ClassWeights: Sendable, Equatable, Codable {
        /// All 1.
        case none
        /// n / (K · n_c) from the training part (scikit-learn's "balanced").
        case balanced
        /// Explicit weight per class name (unnamed classes get 1).
        case explicit([String: Double])

        /// Decodes `"none"`, `"balanced"` or an object of weights.
        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) {
                switch s {
                case "none": self = .none
                case "balanced": self = .balanced
                default:
                    throw DecodingError.dataCorruptedError(
                        in: c, debugDescription: "\"\(s)\" is not \"none\", \"balanced\" or an object of class weights")
                }
            } else {
                self = .explicit(try c.decode([String: Double].self))
            }
        }

        /// Encodes as the string or the object.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .none: try c.encode("none")
            case .balanced: try c.encode("balanced")
            case .explicit(let w): try c.encode(w)
            }
        }
    }

    /// Optimiser.
    public var optimizer: Optimizer
    /// Peak learning rate.
    public var learningRate: Double
    /// Mini-batch size.
    public var batchSize: Int
    /// Maximum epochs (early stopping may end sooner).
    public var maxEpochs: Int
    /// Adam betas; default [0.9, 0.999].
    public var betas: [Double]
    /// Adam epsilon; default 1e-8 (Keras uses 1e-7: set it to match a Keras study).
    public var epsilon: Double
    /// SGD momentum; default 0.
    public var momentum: Double
    /// Default L2 coefficient for trainable components whose config sets no `l2` of its own (the component's
    /// manifest defines how it applies: for the in-tree fusion and classifier plugins the host adds l2·w to each
    /// weight's gradient); default 0. Prefer setting `l2` in the component configs, as the shipped specs do.
    public var l2: Double
    /// Decoupled weight decay (AdamW); default 0 (0.01 is the usual AdamW value: state it).
    public var weightDecay: Double
    /// Early stopping; nil = off.
    public var earlyStopping: EarlyStopping?
    /// Reduce LR on plateau; nil = off.
    public var lrPlateau: Plateau?
    /// Warm-up; nil = off.
    public var warmup: Warmup?
    /// Clip the global gradient L2 norm to this value; nil = off.
    public var gradientClipNorm: Double?
    /// Class weights; default none.
    public var classWeights: ClassWeights
    /// Shuffle the training part every epoch (seeded); default true.
    public var shuffle: Bool
    /// OpenBLAS threads while training; default 1 (mini-batch products are too small to split: see
    /// `TrainingConfig.blasThreads`).
    public var threads: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case optimizer, learningRate, batchSize, maxEpochs, betas, epsilon, momentum, l2, weightDecay, earlyStopping,
             lrPlateau, warmup, gradientClipNorm, classWeights, shuffle, threads
    }

    /// Decodes with the stated defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        optimizer = try c.decode(Optimizer.self, forKey: .optimizer)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        maxEpochs = try c.decode(Int.self, forKey: .maxEpochs)
        betas = try c.decodeIfPresent([Double].self, forKey: .betas) ?? [0.9, 0.999]
        epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon) ?? 1e-8
        momentum = try c.decodeIfPresent(Double.self, forKey: .momentum) ?? 0
        l2 = try c.decodeIfPresent(Double.self, forKey: .l2) ?? 0
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? 0
        earlyStopping = try c.decodeIfPresent(EarlyStopping.self, forKey: .earlyStopping)
        lrPlateau = try c.decodeIfPresent(Plateau.self, forKey: .lrPlateau)
        warmup = try c.decodeIfPresent(Warmup.self, forKey: .warmup)
        gradientClipNorm = try c.decodeIfPresent(Double.self, forKey: .gradientClipNorm)
        classWeights = try c.decodeIfPresent(ClassWeights.self, forKey: .classWeights) ?? .none
        shuffle = try c.decodeIfPresent(Bool.self, forKey: .shuffle) ?? true
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? 1
    }
}

extension TrainingSpec.ClassWeights {
    /// One loss weight per class id, from the training part's labels (class ids in `0..<classes.count`).
    ///
    /// `balanced` is `CrossEntropy.balancedWeights` (scikit-learn's `compute_class_weight("balanced")`:
    /// n / (K · n_c); a class without training items gets 1).
    public func resolved(classes: [String], trainingLabels: [Int]) -> [Double] {
        let k = classes.count
        switch self {
        case .none:
            return [Double](repeating: 1, count: k)
        case .balanced:
            var counts = [Int](repeating: 0, count: k)
            for y in trainingLabels where (0..<k).contains(y) { counts[y] += 1 }
            return CrossEntropy.balancedWeights(classCounts: counts)
        case .explicit(let w):
            return classes.map { w[$0] ?? 1 }
        }
    }
}
