// Learning-rate schedules and early stopping.

/// Linear warm-up from 0 to the base rate over `warmupSteps`, then linear decay to 0 at `totalSteps`
/// (Hugging Face `get_linear_schedule_with_warmup`).
public struct LinearWarmupDecay: Sendable {
    /// Steps of warm-up.
    public let warmupSteps: Int
    /// Step at which the rate reaches 0.
    public let totalSteps: Int
    /// The rate at the end of warm-up.
    public let baseLearningRate: Double

    /// Creates a schedule; throws unless 0 ≤ warmupSteps ≤ totalSteps.
    public init(baseLearningRate: Double, warmupSteps: Int, totalSteps: Int) throws {
        guard warmupSteps >= 0, totalSteps >= warmupSteps else {
            throw TensorError.invalidArgument("LinearWarmupDecay: need 0 ≤ warmupSteps (\(warmupSteps)) ≤ totalSteps (\(totalSteps))")
        }
        self.baseLearningRate = baseLearningRate
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// Multiplier of the base rate at `step` (0-based: the factor used for the step-th optimiser step).
    public func factor(at step: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        return max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
    }

    /// The learning rate at `step`.
    public func learningRate(at step: Int) -> Double { baseLearningRate * factor(at: step) }

    /// Sets `optimizer.learningRate` for `step`.
    public func apply(step: Int, to optimizer: Optimizer) { optimizer.learningRate = learningRate(at: step) }
}

/// Whether a monitored metric should go down (loss) or up (accuracy).
public enum MetricMode: String, Sendable, Codable {
    /// Lower is better.
    case min
    /// Higher is better.
    case max
}

/// Multiplies the learning rate by `factor` when the metric has not improved for `patience` epochs
/// (torch.optim.lr_scheduler.ReduceLROnPlateau, relative threshold).
public final class ReduceLROnPlateau {
    /// Direction of improvement.
    public let mode: MetricMode
    /// Multiplier applied on a plateau.
    public let factor: Double
    /// Epochs without improvement tolerated.
    public let patience: Int
    /// Relative improvement needed to count (1e-4 = 0.01 %).
    public let threshold: Double
    /// Epochs to wait after a reduction before counting again.
    public let cooldown: Int
    /// Lower bound of the learning rate.
    public let minLearningRate: Double
    /// Reductions smaller than this are skipped.
    public let eps: Double
    /// Best metric so far.
    public private(set) var best: Double
    /// Epochs since the last improvement.
    public private(set) var badEpochs = 0
    private var cooldownCounter = 0

    /// Creates the scheduler (torch's defaults).
    public init(mode: MetricMode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                cooldown: Int = 0, minLearningRate: Double = 0, eps: Double = 1e-8) throws {
        guard factor < 1, factor >= 0 else {
            throw TensorError.invalidArgument("ReduceLROnPlateau: factor must be in [0, 1), got \(factor)")
        }
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.minLearningRate = minLearningRate
        self.eps = eps
        best = mode == .min ? .infinity : -.infinity
    }

    private func isBetter(_ value: Double) -> Bool {
        mode == .min ? value < best * (1 - threshold) : value > best * (1 + threshold)
    }

    /// Records one epoch's metric; returns true when it reduced `optimizer.learningRate`.
    @discardableResult
    public func step(metric: Double, optimizer: Optimizer) -> Bool {
        if isBetter(metric) {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            badEpochs = 0
        }
        guard badEpochs > patience else { return false }
        cooldownCounter = cooldown
        badEpochs = 0
        let old = optimizer.learningRate
        let new = max(old * factor, minLearningRate)
        guard old - new > eps else { return false }
        optimizer.learningRate = new
        return true
    }
}

/// Stops training when the metric has not improved by `minDelta` for `patience` epochs, keeping a copy of the
/// best parameter values to restore (Keras `EarlyStopping(restore_best_weights=True)`).
public final class EarlyStopping {
    /// Direction of improvement.
    public let mode: MetricMode
    /// Epochs without improvement tolerated.
    public let patience: Int
    /// Smallest change that counts as improvement.
    public let minDelta: Double
    /// Best metric so far.
    public private(set) var best: Double
    /// Epoch index (0-based count of `update` calls) of the best metric.
    public private(set) var bestEpoch = -1
    /// Epochs since the best.
    public private(set) var badEpochs = 0
    private var epoch = 0
    private var snapshot: [[Float]] = []

    /// Creates the monitor.
    public init(mode: MetricMode = .min, patience: Int = 10, minDelta: Double = 0) {
        self.mode = mode
        self.patience = patience
        self.minDelta = minDelta
        best = mode == .min ? .infinity : -.infinity
    }

    /// Records one epoch's metric; on improvement copies the values of `parameters` (include batch-norm buffers).
    /// Returns true when training should stop.
    public func update(metric: Double, parameters: [ParameterView]) -> Bool {
        defer { epoch += 1 }
        let improved = mode == .min ? metric < best - minDelta : metric > best + minDelta
        if improved {
            best = metric
            bestEpoch = epoch
            badEpochs = 0
            snapshot = parameters.map { Array(UnsafeBufferPointer(start: $0.value, count: $0.count)) }
            return false
        }
        badEpochs += 1
        return badEpochs >= patience
    }

    /// Copies the best values back into `parameters` (the same list, in the same order, as given to `update`).
    public func restoreBest(into parameters: [ParameterView]) throws {
        guard !snapshot.isEmpty else { return }
        guard snapshot.count == parameters.count, zip(snapshot, parameters).allSatisfy({ $0.count == $1.count }) else {
            throw TensorError.shapeMismatch("EarlyStopping.restoreBest: parameters differ from those given to update")
        }
        for (values, p) in zip(snapshot, parameters) { p.value.update(from: values, count: p.count) }
    }
}
