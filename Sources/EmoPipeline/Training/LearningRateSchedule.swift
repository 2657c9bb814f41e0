/// The learning rate at every step: peak × warm-up/decay factor × plateau factor.
///
/// Warm-up (Hugging Face `get_linear_schedule_with_warmup`): factor `s / w` for step `s < w`, then 1
/// (`constant`) or `(S − s) / (S − w)` (`linear`), with `w = floor(fraction · S)` and S the total steps.
/// Plateau (torch `ReduceLROnPlateau`, relative threshold 1e-4, no cooldown): after more than `patience`
/// epochs without improvement the plateau factor is multiplied by `factor`, keeping the rate ≥ `minLearningRate`.
struct LearningRateSchedule {
    let peak: Double
    let warmupSteps: Int
    let totalSteps: Int
    let decay: TrainingConfig.Warmup.Schedule
    let plateau: TrainingConfig.Plateau?
    private(set) var plateauFactor = 1.0
    private(set) var best: Double?
    private(set) var badEpochs = 0

    /// Restores the plateau state a checkpoint saved.
    mutating func restore(plateauFactor: Double, best: Double?, badEpochs: Int) {
        self.plateauFactor = plateauFactor
        self.best = best
        self.badEpochs = badEpochs
    }

    init(config: TrainingConfig, totalSteps: Int) {
        peak = config.learningRate
        self.totalSteps = max(totalSteps, 1)
        warmupSteps = config.warmup.map { Int(($0.fraction * Double(totalSteps)).rounded(.down)) } ?? 0
        decay = config.warmup?.schedule ?? .constant
        plateau = config.lrPlateau
    }

    /// The rate for optimiser step `step` (0-based).
    func rate(at step: Int) -> Double {
        var factor = 1.0
        if step < warmupSteps {
            factor = Double(step) / Double(max(1, warmupSteps))
        } else if decay == .linear {
            factor = max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
        }
        return peak * factor * plateauFactor
    }

    /// Feeds one epoch's monitored value (already signed so that lower is better); returns true when the
    /// rate was reduced.
    mutating func observe(_ value: Double) -> Bool {
        guard let plateau else { return false }
        if let b = best, !(value < b - 1e-4 * abs(b)) {
            badEpochs += 1
        } else {
            best = value
            badEpochs = 0
        }
        guard badEpochs > plateau.patience else { return false }
        badEpochs = 0
        let floorFactor = plateau.minLearningRate / peak
        let next = max(plateauFactor * plateau.factor, floorFactor)
        guard next < plateauFactor else { return false }
        plateauFactor = next
        return true
    }
}
