/// How the host trains a fusion → classifier chain. Field names mirror the pipeline spec's `training` block.
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
    public enum Optimizer: String, Sendable, CaseIterable {
        /// Adam (torch.optim.Adam numerics).
        case adam
        /// AdamW: Adam with decoupled weight decay.
        case adamw
        /// Stochastic gradient descent with optional momentum.
        case sgd
    }

    /// A validation quantity a callback watches.
    public enum Monitor: String, Sendable, CaseIterable {
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
    public struct EarlyStopping: Sendable, Equatable {
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
    public struct Plateau: Sendable, Equatable {
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
    public struct Warmup: Sendable, Equatable {
        /// After warm-up.
        public enum Schedule: String, Sendable, CaseIterable {
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
        /// n / (K · n_c) from the rows actually trained on (scikit-learn's "balanced").
        case balanced
        /// One weight per class index.
        case explicit([Float])
    }

    /// Optimiser.
    public var optimizer: Optimizer = .adam
    /// Peak learning rate.
    public var learningRate: Double = 1e-3
    /// Mini-batch size.
    public var batchSize: Int = 32
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

    /// Problems with the settings (empty when usable), each naming the field.
    public var problems: [String] {
        var out: [String] = []
        if !(learningRate > 0) { out.append("learningRate must be > 0, got \(learningRate)") }
        if batchSize < 1 { out.append("batchSize must be ≥ 1, got \(batchSize)") }
        if maxEpochs < 1 { out.append("maxEpochs must be ≥ 1, got \(maxEpochs)") }
        if !(0..<1).contains(beta1) || !(0..<1).contains(beta2) { out.append("betas must be in [0, 1), got (\(beta1), \(beta2))") }
        if epsilon < 0 || momentum < 0 || l2 < 0 || weightDecay < 0 { out.append("epsilon, momentum, l2 and weightDecay must be ≥ 0") }
        if !(0..<1).contains(validationFraction) { out.append("validationFraction must be in [0, 1), got \(validationFraction)") }
        if !(0..<1).contains(labelSmoothing) { out.append("labelSmoothing must be in [0, 1), got \(labelSmoothing)") }
        if let e = earlyStopping, e.patience < 1 { out.append("earlyStopping.patience must be ≥ 1, got \(e.patience)") }
        if let t = blasThreads, t < 1 { out.append("threads must be ≥ 1, got \(t)") }
        if let p = lrPlateau, !(p.factor > 0 && p.factor < 1) || p.patience < 0 {
            out.append("lrPlateau needs factor in (0, 1) and patience ≥ 0, got \(p.factor), \(p.patience)")
        }
        if let w = warmup, !(0..<1).contains(w.fraction) { out.append("warmup.fraction must be in [0, 1), got \(w.fraction)") }
        if let c = gradientClipNorm, !(c > 0) { out.append("gradientClipNorm must be > 0, got \(c)") }
        return out
    }
}
