import Dispatch
import EmoCore
import EmoTensor

/// The host-owned training loop over a `[fine-tuned encoders] → [fusion] → classifier` chain.
///
/// Each step: gather a mini-batch, forward through the chain (fine-tuned encoders encode the batch's texts),
/// softmax cross-entropy on the host, backward through the chain (each component accumulates into its own parameter
/// gradients, the encoders' weights included), clip by global norm, add coupled L2 terms, set the scheduled
/// learning rate (per parameter group: head and each encoder), one optimiser step over every learned
/// `ParameterBuffer` (buffers such as batch-norm running statistics are skipped). The components are reached
/// only through EmoCore's protocols, so plugins behind the C ABI train exactly like in-process ones.
///
/// Determinism: the validation split and the per-epoch shuffles come from `config.seed` (each through its own
/// salted stream, distinct from the components' init streams even for equal seeds); initialisation and
/// dropout masks come from the components' own `seed` config. The same seeds give the same curves and states.
/// A last mini-batch of a single row is skipped (batch statistics of one row are undefined; PyTorch raises).
public struct Trainer {
    /// Settings.
    public var config: TrainingConfig
    /// Called after every epoch (progress output).
    public var onEpoch: ((EpochRecord) -> Void)?
    /// Called after every epoch with everything needed to resume from there (`TrainingCheckpoint.write(to:)`).
    public var onCheckpoint: ((TrainingCheckpoint) throws -> Void)?
    /// At most one checkpoint per this many seconds (the last epoch's always): a small head trains an epoch in well
    /// under a second, and writing its weights and moments every epoch would cost more than the epoch.
    public var checkpointInterval: Double = 0

    /// Creates a trainer.
    public init(config: TrainingConfig, onEpoch: ((EpochRecord) -> Void)? = nil) {
        self.config = config
        self.onEpoch = onEpoch
    }

    /// Trains `chain` on `data`; validation rows are `validation` when given, else a stratified
    /// `config.validationFraction` of `data`. Leaves the chain in evaluation mode holding the selected state.
    /// With `checkpoint` (saved by `onCheckpoint` from a run with the same settings, components and rows) it
    /// continues from that epoch exactly as the uninterrupted run would have; a finished checkpoint only selects
    /// and returns its result.
    public func train(_ chain: TrainingChain, on data: TrainingSet, validation: TrainingSet? = nil,
                      resumingFrom checkpoint: TrainingCheckpoint? = nil) throws -> TrainingResult {
        let problems = config.problems
        guard problems.isEmpty else { throw TrainingError.invalidConfig(problems) }
        let split = validation == nil
            ? ValidationSplit.stratified(labels: data.labels, classes: data.classes, fraction: config.validationFraction, seed: config.seed)
            : (train: Array(data.labels.indices), validation: [Int]())
        let trainSet = split.validation.isEmpty ? data : data.rows(split.train)
        let validationSet = validation ?? (split.validation.isEmpty ? nil : data.rows(split.validation))
        if validationSet == nil && (config.earlyStopping != nil || config.lrPlateau != nil) {
            throw TrainingError.invalidConfig(["earlyStopping and lrPlateau watch validation metrics: set validationFraction > 0 or pass a validation set"])
        }
        guard trainSet.count >= 1 else { throw TrainingError.invalidData("no training rows left after the validation split") }

        let savedThreads = BLASInfo.threadCount
        if let t = config.blasThreads { BLASInfo.setThreadCount(t) }
        defer { BLASInfo.setThreadCount(savedThreads) }
        let loss = CrossEntropy(labelSmoothing: Float(config.labelSmoothing), classWeights: try classWeights(trainSet))
        let n = trainSet.count, micro = config.batchSize, bs = micro * config.gradientAccumulation
        var stepsPerEpoch = (n + bs - 1) / bs
        if n > 1 && n % bs == 1 { stepsPerEpoch -= 1 }  // skip a last batch of one row
        var schedule = LearningRateSchedule(config: config, totalSteps: stepsPerEpoch * config.maxEpochs)
        var stopping = config.earlyStopping.map { BestEpochTracker(settings: $0) }
        var generator = SeededGenerator(seed: config.seed ^ 0x5348_5546_464C_4521)  // own stream: not a component's init stream
        var order = Array(0..<n)
        var history: [EpochRecord] = []
        var step = 0
        var stoppedEarly = false
        var finished = false
        var firstEpoch = 1
        // The optimiser's moments (for AdamW twice the trained weights) live only in this scope: they are released
        // before the final `saveStates`, which would otherwise hold them beside the serialised state.
        do {
            let stepper = try OptimizerStep(chain: chain, config: config, optimizer: makeOptimizer)
            // Hashing the rows costs a pass over the data: only when a checkpoint is read or written.
            let fingerprint = checkpoint == nil && onCheckpoint == nil
                ? "" : TrainingCheckpoint.fingerprint(config: config, chain: chain, data: data, validation: validation)
            if let c = checkpoint {
                guard c.fingerprint == fingerprint else {
                    throw TrainingError.invalidData("the training checkpoint was saved by a run with other settings, components or rows; delete it to train from the start")
                }
                try chain.loadStates(c.componentStates)
                try stepper.restore(c.optimizerStates)
                order = c.order
                generator.state = c.shuffleState
                schedule.restore(plateauFactor: c.plateauFactor, best: c.plateauBest, badEpochs: c.plateauBadEpochs)
                stopping?.restore(best: c.stoppingBest, bestEpoch: c.stoppingBestEpoch, waited: c.stoppingWaited, bestStates: c.stoppingBestStates)
                history = c.history
                step = c.step
                stoppedEarly = c.stoppedEarly
                finished = c.finished
                firstEpoch = c.epochsDone + 1
            }
            var lastCheckpoint = DispatchTime.now().uptimeNanoseconds
            /// The state after `epoch`, for `onCheckpoint` (when the interval has passed or training has finished).
            func save(epoch: Int) throws {
                guard let onCheckpoint else { return }
                let now = DispatchTime.now().uptimeNanoseconds
                guard finished || Double(now - lastCheckpoint) / 1e9 >= checkpointInterval else { return }
                lastCheckpoint = now
                try onCheckpoint(TrainingCheckpoint(
                    epochsDone: epoch, step: step, finished: finished, stoppedEarly: stoppedEarly, order: order,
                    shuffleState: generator.state, plateauFactor: schedule.plateauFactor, plateauBest: schedule.best,
                    plateauBadEpochs: schedule.badEpochs, stoppingBest: stopping?.best, stoppingBestEpoch: stopping?.bestEpoch ?? 0,
                    stoppingWaited: stopping?.waited ?? 0, stoppingBestStates: stopping?.bestStates, history: history,
                    componentStates: try chain.saveStates(), optimizerStates: stepper.states(), fingerprint: fingerprint))
            }

            for epoch in stride(from: firstEpoch, through: finished ? 0 : config.maxEpochs, by: 1) {
                if config.shuffle { ValidationSplit.shuffle(&order, &generator) }
                chain.setTraining(true)
                var lossSum = 0.0, correct = 0, normSum = 0.0
                for b in 0..<stepsPerEpoch {
                    let rows = Array(order[(b * bs)..<min(n, (b + 1) * bs)])
                    let micros = Self.microBatches(rows.count, size: micro).map { trainSet.rows(Array(rows[$0])) }
                    let out = try stepper.run(micros, loss: loss, learningRate: schedule.rate(at: step), epoch: epoch, step: step)
                    step += 1
                    lossSum += out.loss * Double(rows.count)
                    correct += out.correct
                    normSum += out.gradientNorm ?? 0
                }
                let seen = Double(max(1, min(n, stepsPerEpoch * bs)))
                var record = EpochRecord(epoch: epoch, trainLoss: lossSum / seen, trainAccuracy: Double(correct) / seen,
                                         validationLoss: nil, validationAccuracy: nil, validationMacroF1: nil,
                                         learningRate: stepper.headOptimizer.learningRate,
                                         meanGradientNorm: config.gradientClipNorm == nil ? nil : normSum / Double(max(stepsPerEpoch, 1)))
                if let v = validationSet {
                    let logits = try chain.predict(v.groups, live: v.liveInputs, batchSize: max(micro, chain.evaluationBatchSize))
                    let out = loss.evaluate(logits: logits, labels: v.labels)
                    record.validationLoss = out.loss
                    record.validationAccuracy = Double(out.correct) / Double(max(v.count, 1))
                    record.validationMacroF1 = Self.macroF1(logits: logits, labels: v.labels, classes: v.classes)
                }
                history.append(record)
                onEpoch?(record)
                if let plateau = config.lrPlateau, let value = Self.monitored(plateau.monitor, record) {
                    _ = schedule.observe(value)
                }
                if let value = stopping.flatMap({ Self.monitored($0.settings.monitor, record) }),
                   try stopping?.observe(value, epoch: epoch, chain: chain) == true {
                    stoppedEarly = epoch < config.maxEpochs
                    finished = true
                    try save(epoch: epoch)
                    break
                }
                finished = epoch == config.maxEpochs
                try save(epoch: epoch)
            }
        }
        var selected = history.count
        if let tracker = stopping, let states = tracker.bestStates {
            try chain.loadStates(states)
            selected = tracker.bestEpoch
        }
        chain.setTraining(false)
        return TrainingResult(history: history, selectedEpoch: selected, stoppedEarly: stoppedEarly,
                              states: try chain.saveStates(), trainRows: split.train, validationRows: split.validation,
                              steps: step)
    }

    /// Index ranges of the micro-batches of an effective batch of `count` rows: `size` rows each, the last one
    /// shorter; a last micro-batch of one row joins the one before it (batch statistics of one row are undefined).
    static func microBatches(_ count: Int, size: Int) -> [Range<Int>] {
        var out = stride(from: 0, to: count, by: max(size, 1)).map { $0..<min(count, $0 + max(size, 1)) }
        if out.count > 1, let last = out.last, last.count == 1 {
            out.removeLast()
            out[out.count - 1] = out[out.count - 1].lowerBound..<count
        }
        return out
    }

    private func makeOptimizer(_ views: [ParameterView], learningRate: Double) throws -> any Optimizer {
        switch config.optimizer {
        case .adam:
            return try Adam(parameters: views, learningRate: learningRate, beta1: config.beta1,
                            beta2: config.beta2, eps: config.epsilon,
                            numerics: .vectorized(threads: BLASInfo.threadCount), zeroesGradients: true)
        case .adamw:
            return try Adam.adamW(parameters: views, learningRate: learningRate, beta1: config.beta1,
                                  beta2: config.beta2, eps: config.epsilon, weightDecay: config.weightDecay,
                                  numerics: .vectorized(threads: BLASInfo.threadCount), zeroesGradients: true)
        case .sgd:
            return try SGD(parameters: views, learningRate: learningRate, momentum: config.momentum)
        }
    }

    private func classWeights(_ set: TrainingSet) throws -> [Float]? {
        switch config.classWeights {
        case .none: return nil
        case .balanced: return CrossEntropy.balancedWeights(classCounts: set.classCounts).map { Float($0) }
        case .explicit(let w):
            guard w.count == set.classes, w.allSatisfy({ $0 >= 0 }) else {
                throw TrainingError.invalidConfig(["classWeights must list \(set.classes) non-negative weights, got \(w.count)"])
            }
            return w
        case .named:
            throw TrainingError.invalidConfig(["classWeights by class name must be resolved against the class names first (ClassWeights.resolved)"])
        }
    }

    /// The monitored value signed so that lower is better.
    static func monitored(_ m: TrainingConfig.Monitor, _ r: EpochRecord) -> Double? {
        switch m {
        case .validationLoss: return r.validationLoss
        case .validationAccuracy: return r.validationAccuracy.map { -$0 }
        case .validationMacroF1: return r.validationMacroF1.map { -$0 }
        }
    }

    /// The validation macro-F1 early stopping watches: the one the reports print (`ClassificationMetrics.macroF1`,
    /// every class counted, as scikit-learn's `f1_score(labels=range(K), average="macro")`).
    static func macroF1(logits: NDArray, labels: [Int], classes: Int) -> Double {
        let predicted = labels.indices.map { i -> Int in
            let row = logits.data[(i * classes)..<((i + 1) * classes)]
            return (row.indices.max { row[$0] < row[$1] } ?? i * classes) - i * classes
        }
        return ClassificationMetrics.macroF1(truth: labels, predicted: predicted, classes: classes)
    }
}

/// One optimiser step over a chain: zero, forward, loss, backward, clip, coupled L2, update.
///
/// The fusion's and classifier's weights (the head) step at the schedule's rate; each fine-tuned encoder's at its
/// own peak (`TrainingChain.encoderLearningRates`, else the head's) scaled by the same warm-up/decay/plateau factor,
/// each through its own optimiser of the configured kind. Clipping is over the global norm of all of them
/// (`torch.nn.utils.clip_grad_norm_` over every trained parameter); Keras-style `l2` and the components' own L2
/// requests apply to the head only.
private struct OptimizerStep {
    let chain: TrainingChain
    let config: TrainingConfig
    /// The head's optimiser, then one per fine-tuned encoder, each with its peak learning rate.
    let optimizers: [(optimizer: any Optimizer, peak: Double)]
    let views: [ParameterView]
    let coupledL2: [(ParameterBuffer, Float)]
    let zeroedByHost: [ParameterBuffer]
    let fusionLearns: Bool

    /// The head's optimiser.
    var headOptimizer: any Optimizer { optimizers[0].optimizer }

    /// Collects the chain's learned parameters (buffers are skipped) and builds the optimisers over them.
    init(chain: TrainingChain, config: TrainingConfig, optimizer make: ([ParameterView], Double) throws -> any Optimizer) throws {
        let head = chain.head.flatMap(\.parameters)
        let headLearned = head.filter { !$0.isBuffer }
        guard !headLearned.isEmpty else { throw TrainingError.invalidChain("the chain exposes no learned parameters") }
        var encoderGroups: [(params: [ParameterBuffer], peak: Double)] = []
        for (g, encoder) in chain.orderedEncoders {
            let params = encoder.parameters.filter { !$0.isBuffer }
            guard !params.isEmpty else {
                throw TrainingError.invalidChain("cannot fine-tune component \(encoder.info.id): it exposes no parameters")
            }
            encoderGroups.append((params, chain.encoderLearningRates[g] ?? config.learningRate))
        }
        self.chain = chain
        self.config = config
        func viewsOf(_ ps: [ParameterBuffer]) -> [ParameterView] { ps.map { ParameterView(value: $0.value, grad: $0.grad, count: $0.count) } }
        var optimizers = [(try make(viewsOf(headLearned), config.learningRate), config.learningRate)]
        for group in encoderGroups { optimizers.append((try make(viewsOf(group.params), group.peak), group.peak)) }
        self.optimizers = optimizers
        views = viewsOf(headLearned + encoderGroups.flatMap(\.params))
        let encoderDecay = config.optimizer == .adamw ? 0 : config.weightDecay
        coupledL2 = headLearned.compactMap { p -> (ParameterBuffer, Float)? in
            let c = Double(p.weightDecay) + (p.shape.count >= 2 ? 2 * config.l2 : 0)
                + (config.optimizer == .adamw ? 0 : config.weightDecay)
            return c > 0 ? (p, Float(c)) : nil
        } + (encoderDecay > 0 ? encoderGroups.flatMap(\.params).map { ($0, Float(encoderDecay)) } : [])
        // Adam zeroes learned gradients as it reads them; buffers' and SGD's gradients are zeroed here.
        let all = chain.components.flatMap(\.parameters)
        zeroedByHost = (optimizers[0].0 as? Adam)?.zeroesGradients == true ? all.filter(\.isBuffer) : all
        for p in all { p.grad.update(repeating: 0, count: p.count) }
        fusionLearns = chain.fusion?.parameters.contains { !$0.isBuffer } ?? false
    }

    /// Every optimiser's state (the head's first), for a checkpoint.
    func states() -> [[UInt8]] { optimizers.map { $0.optimizer.state() } }

    /// Restores `states()`.
    func restore(_ states: [[UInt8]]) throws {
        guard states.count == optimizers.count else {
            throw TrainingError.invalidData("the training checkpoint holds \(states.count) optimiser states, this chain has \(optimizers.count)")
        }
        for (o, s) in zip(optimizers, states) { try o.optimizer.restore(s) }
    }

    /// Trains on one effective batch given as its micro-batches (gradients summed, each micro-batch's loss weighted
    /// by its share of the rows); returns the batch's mean loss, correct count and (when clipping) the gradient
    /// norm before clipping.
    func run(_ micros: [TrainingSet], loss: CrossEntropy, learningRate: Double, epoch: Int, step: Int) throws
        -> (loss: Double, correct: Int, gradientNorm: Double?) {
        for p in zeroedByHost { p.grad.update(repeating: 0, count: p.count) }
        let rows = micros.reduce(0) { $0 + $1.count }
        var lossSum = 0.0, correct = 0
        for batch in micros {
            let logits = try chain.forward(batch.groups, live: batch.liveInputs)
            guard logits.shape == [batch.count, batch.classes] else {
                throw TrainingError.invalidChain("classifier output \(logits.shape), expected [\(batch.count), \(batch.classes)] (check its 'classes' config)")
            }
            var out = loss.evaluate(logits: logits, labels: batch.labels)
            guard out.loss.isFinite else { throw TrainingError.diverged(epoch: epoch, step: step) }
            if micros.count > 1 {
                let share = Float(batch.count) / Float(rows)
                for i in out.gradient.data.indices { out.gradient.data[i] *= share }
            }
            try chain.backward(out.gradient, throughFusion: fusionLearns)
            lossSum += out.loss * Double(batch.count)
            correct += out.correct
        }
        let norm = config.gradientClipNorm.map { clipGradientNorm(views, maxNorm: $0) }
        for (p, c) in coupledL2 {
            let v = p.value, g = p.grad
            for i in 0..<p.count { g[i] += c * v[i] }
        }
        let factor = learningRate / config.learningRate  // warm-up / decay / plateau, shared by every group
        for (optimizer, peak) in optimizers {
            optimizer.learningRate = peak * factor
            optimizer.step()
        }
        return (lossSum / Double(max(rows, 1)), correct, norm)
    }
}

/// Early stopping's bookkeeping: the best monitored value (lower is better), its epoch and saved states.
private struct BestEpochTracker {
    let settings: TrainingConfig.EarlyStopping
    private(set) var best: Double?
    private(set) var bestEpoch = 0
    private(set) var bestStates: [[UInt8]]?
    private(set) var waited = 0

    init(settings: TrainingConfig.EarlyStopping) { self.settings = settings }

    /// Restores the bookkeeping a checkpoint saved.
    mutating func restore(best: Double?, bestEpoch: Int, waited: Int, bestStates: [[UInt8]]?) {
        self.best = best
        self.bestEpoch = bestEpoch
        self.waited = waited
        self.bestStates = bestStates
    }

    /// Records an epoch's value; returns true when training should stop.
    mutating func observe(_ value: Double, epoch: Int, chain: TrainingChain) throws -> Bool {
        if best.map({ value < $0 - settings.minDelta }) ?? true {
            best = value
            bestEpoch = epoch
            waited = 0
            if settings.restoreBestWeights { bestStates = try chain.saveStates() }
            return false
        }
        waited += 1
        return waited >= settings.patience
    }
}
