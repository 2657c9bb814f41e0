/// How the host trains a fusion → classifier chain: EmoKit's one training-settings type. A pipeline spec's
/// `training` block decodes straight into it (`TrainingConfig+Codable.swift`: JSON keys, defaults, allowed
/// values); `seed`, `validationFraction` and `labelSmoothing` are set by the host, not the spec.
///
/// Regularisation, three kinds (all off by default):
/// - the L2 a component asks for per parameter (`ParameterBuffer.weightDecay`, e.g. the MLP's `l2`):
///   `grad += weightDecay · w`, added after clipping, like `torch.optim.Adam(weight_decay=)`;
/// - `l2`: Keras' `kernel_regularizer=l2(λ)` on every weight matrix (rank ≥ 2, not biases): `grad += 2λ · w`;
/// - `weightDecay`: the optimiser's own decay over all learned parameters: coupled for Adam and SGD
///   (`grad += wd · w`, torch.optim.Adam / SGD), decoupled for AdamW (`w ← w · (1 − lr · wd)`, torch.optim.AdamW).
/// The reported loss is the data loss (cross-entropy) without penalty terms, as PyTorch reports it.
public struct TrainingConfig: Sendable, Equatable {
    /// Optimiser.
    public enum Optimizer: String, Sendable, SpecEnum {
        /// Adam (torch.optim.Adam numerics).
        case adam
        /// AdamW: Adam with decoupled weight decay.
        case adamw
        /// Stochastic gradient descent with optional momentum.
        case sgd
    }

    /// A validation quantity a callback watches.
    public enum Monitor: String, Sendable, SpecEnum {
        /// Validation loss (lower is better).
        case validationLoss = "val-loss"
        /// Validation accuracy (higher is better).
        case validationAccuracy = "val-accuracy"
        /// Validation macro F1 (higher is better).
        case validationMacroF1 = "val-macro-f1"

        /// True when larger values are better.
        public var higherIsBetter: Bool { self != .validationLoss }
    }

    /// Stop after `patience` epochs without an improvement larger than `minDelta` (Keras' EarlyStopping).
    public struct EarlyStopping: Sendable, Equatable, Codable {
        /// Quantity watched.
        public var monitor: Monitor
        /// Epochs without improvement before stopping.
        public var patience: Int
        /// Smallest change that counts as an improvement.
        public var minDelta: Double
        /// Reload the best epoch's state (through `loadState`) when training ends.
        public var restoreBestWeights: Bool

        /// Creates the callback settings.
        public init(monitor: Monitor = .validationLoss, patience: Int, minDelta: Double = 0, restoreBestWeights: Bool = true) {
            self.monitor = monitor
            self.patience = patience
            self.minDelta = minDelta
            self.restoreBestWeights = restoreBestWeights
        }
    }

    /// Multiply the learning rate by `factor` when the monitored quantity has not improved (relative threshold
    /// 1e-4) for more than `patience` epochs, never below `minLearningRate` (torch's ReduceLROnPlateau).
    public struct Plateau: Sendable, Equatable, Codable {
        /// Quantity watched.
        public var monitor: Monitor
        /// Factor in (0, 1).
        public var factor: Double
        /// Epochs without improvement tolerated.
        public var patience: Int
        /// Floor of the learning rate.
        public var minLearningRate: Double

        /// Creates the callback settings.
        public init(monitor: Monitor = .validationLoss, factor: Double, patience: Int, minLearningRate: Double = 0) {
            self.monitor = monitor
            self.factor = factor
            self.patience = patience
            self.minLearningRate = minLearningRate
        }
    }

    /// Linear warm-up from 0 over the first `fraction` of all steps, then constant or linear decay to 0 at the
    /// last step (Hugging Face's `get_linear_schedule_with_warmup`).
    public struct Warmup: Sendable, Equatable, Codable {
        /// After warm-up.
        public enum Schedule: String, Sendable, SpecEnum {
            /// Keep the peak learning rate.
            case constant
            /// Decay linearly to 0 at the last step.
            case linear
        }

        /// Fraction of all optimiser steps spent warming up, in [0, 1).
        public var fraction: Double
        /// What follows warm-up.
        public var schedule: Schedule

        /// Creates the warm-up settings.
        public init(fraction: Double, schedule: Schedule = .linear) {
            self.fraction = fraction
            self.schedule = schedule
        }
    }

    /// Per-class weights of the loss.
    public enum ClassWeights: Sendable, Equatable {
        /// All 1.
        case none
        /// n / (K · n_c) from the rows actually trained on (`CrossEntropy.balancedWeights`).
        case balanced
        /// One weight per class index.
        case explicit([Float])
        /// One weight per class name (a spec's object form; unnamed classes get 1). `resolved(classes:...)` turns
        /// it into `explicit` before training.
        case named([String: Double])
    }

    /// Optimiser.
    public var optimizer: Optimizer = .adam
    /// Peak learning rate.
    public var learningRate: Double = 1e-3
    /// Mini-batch size (rows per forward and backward).
    public var batchSize: Int = 32
    /// Micro-batches of `batchSize` rows whose gradients are summed before each optimiser step (Hugging Face's
    /// `gradient_accumulation_steps`): the effective batch is `batchSize × gradientAccumulation` rows, with the
    /// memory of `batchSize`. Each micro-batch's loss is weighted by its share of the effective batch, so the step
    /// equals one over the whole effective batch (up to rounding, and except batch statistics, which stay per
    /// micro-batch).
    public var gradientAccumulation: Int = 1
    /// Maximum epochs (early stopping may end sooner).
    public var maxEpochs: Int = 100
    /// Adam β1.
    public var beta1: Double = 0.9
    /// Adam β2.
    public var beta2: Double = 0.999
    /// Adam ε.
    public var epsilon: Double = 1e-8
    /// SGD momentum.
    public var momentum: Double = 0
    /// Keras-style L2 λ on weight matrices (see the type's notes).
    public var l2: Double = 0
    /// Optimiser weight decay (coupled for Adam/SGD, decoupled for AdamW).
    public var weightDecay: Double = 0
    /// Fraction of the training rows held out, stratified by class, for validation (0 = none).
    public var validationFraction: Double = 0
    /// Early stopping; nil = off.
    public var earlyStopping: EarlyStopping?
    /// Reduce-LR-on-plateau; nil = off.
    public var lrPlateau: Plateau?
    /// Warm-up schedule; nil = constant learning rate.
    public var warmup: Warmup?
    /// Clip the global gradient L2 norm to this value; nil = off.
    public var gradientClipNorm: Double?
    /// Label smoothing ε of the cross-entropy, in [0, 1).
    public var labelSmoothing: Double = 0
    /// Class weights of the cross-entropy.
    public var classWeights: ClassWeights = .none
    /// Shuffle the training rows every epoch.
    public var shuffle: Bool = true
    /// Seed of the validation split and the shuffling (initialisation and dropout seeds are component config).
    public var seed: UInt64 = 0
    /// OpenBLAS threads while training (restored afterwards); nil leaves the process's setting. Default 1: the
    /// mini-batch products (32 rows) are too small to split, and OpenBLAS's waiting threads then cost more than
    /// they give. Measured on the 2-core machine with one other job running: a study-a MLP run 22.2 s wall and
    /// 0.4 s system time with 1 thread, 43.4 s and 24.2 s with 2; `emo bench training`'s 2364-input MLP 1.58
    /// s/epoch with 1 thread, 2.50 with 2.
    public var blasThreads: Int? = 1

    /// The defaults above (Adam 1e-3, batch 32, 100 epochs, nothing else, one BLAS thread).
    public init() {}

    /// Problems with the settings (empty when usable), each naming the field: `issues(classes:)` without the
    /// spec-only rules, as text.
    public var problems: [String] {
        issues(classes: nil).map { "\($0.path) \($0.message)" }
    }
}
