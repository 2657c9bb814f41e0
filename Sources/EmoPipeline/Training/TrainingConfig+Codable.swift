// The pipeline spec's `training` block is a `TrainingConfig` in JSON: keys, defaults and allowed values, and the one
// validation both the spec loader and the trainer use.

extension TrainingConfig: Codable {
    /// The spec's keys (`PipelineSpec+Load` refuses any other). Only `optimizer`, `learningRate`, `batchSize` and
    /// `maxEpochs` are required; every block left out is off.
    enum CodingKeys: String, CodingKey, CaseIterable {
        case optimizer, learningRate, batchSize, maxEpochs, betas, epsilon, momentum, l2, weightDecay, earlyStopping,
             lrPlateau, warmup, gradientClipNorm, classWeights, shuffle, threads, gradientAccumulation
    }

    /// Decodes a spec's `training` block: `betas` (two numbers, default [0.9, 0.999]), `epsilon` (1e-8; Keras uses
    /// 1e-7: set it to match a Keras study), `momentum` (0), `l2` (0: the default for trainable components whose
    /// config sets no `l2` of its own), `weightDecay` (0; 0.01 is the usual AdamW value: state it), `classWeights`
    /// (`"none"`, `"balanced"` or an object of weights by class name), `shuffle` (true), `threads` (OpenBLAS threads
    /// while training, 1), `gradientAccumulation` (1: micro-batches of `batchSize` rows per optimiser step).
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        optimizer = try c.decode(Optimizer.self, forKey: .optimizer)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        maxEpochs = try c.decode(Int.self, forKey: .maxEpochs)
        if let betas = try c.decodeIfPresent([Double].self, forKey: .betas) {
            guard betas.count == 2 else {
                throw DecodingError.dataCorruptedError(forKey: .betas, in: c, debugDescription: "give two numbers in [0, 1)")
            }
            (beta1, beta2) = (betas[0], betas[1])
        }
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
        blasThreads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? 1
        gradientAccumulation = try c.decodeIfPresent(Int.self, forKey: .gradientAccumulation) ?? 1
    }

    /// Encodes the spec's keys (the host-set `seed`, `validationFraction` and `labelSmoothing` are not part of it).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(maxEpochs, forKey: .maxEpochs)
        try c.encode([beta1, beta2], forKey: .betas)
        try c.encode(epsilon, forKey: .epsilon)
        try c.encode(momentum, forKey: .momentum)
        try c.encode(l2, forKey: .l2)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encodeIfPresent(earlyStopping, forKey: .earlyStopping)
        try c.encodeIfPresent(lrPlateau, forKey: .lrPlateau)
        try c.encodeIfPresent(warmup, forKey: .warmup)
        try c.encodeIfPresent(gradientClipNorm, forKey: .gradientClipNorm)
        try c.encode(classWeights, forKey: .classWeights)
        try c.encode(shuffle, forKey: .shuffle)
        try c.encode(blasThreads ?? 1, forKey: .threads)
        if gradientAccumulation != 1 { try c.encode(gradientAccumulation, forKey: .gradientAccumulation) }
    }

    /// Problems with the settings, with paths under `training.`. With `classes` (a spec being loaded) it also
    /// applies the spec's own rules: class-weight names must be corpus classes, and decoupled `weightDecay` needs
    /// `adamw` (use `l2` with adam); without (`problems`, the trainer's check) only what training itself needs.
    func issues(classes: [String]?) -> [SpecIssue] {
        var out: [SpecIssue] = []
        func fail(_ path: String, _ message: String) { out.append(SpecIssue(path: "training.\(path)", message: message)) }
        if !(learningRate > 0 && learningRate.isFinite) { fail("learningRate", "must be a positive number, got \(learningRate)") }
        if batchSize < 1 { fail("batchSize", "must be at least 1, got \(batchSize)") }
        if gradientAccumulation < 1 { fail("gradientAccumulation", "must be at least 1 (micro-batches per optimiser step), got \(gradientAccumulation)") }
        if maxEpochs < 1 { fail("maxEpochs", "must be at least 1, got \(maxEpochs)") }
        if ![beta1, beta2].allSatisfy({ $0 >= 0 && $0 < 1 }) { fail("betas", "give two numbers in [0, 1), got (\(beta1), \(beta2))") }
        if !(epsilon >= 0) { fail("epsilon", "must be ≥ 0") }
        if !(momentum >= 0 && momentum < 1) { fail("momentum", "must lie in [0, 1)") }
        if !(l2 >= 0) { fail("l2", "must be ≥ 0") }
        if !(weightDecay >= 0) { fail("weightDecay", "must be ≥ 0") }
        if !(0..<1).contains(validationFraction) { fail("validationFraction", "must lie in [0, 1), got \(validationFraction)") }
        if !(0..<1).contains(labelSmoothing) { fail("labelSmoothing", "must lie in [0, 1), got \(labelSmoothing)") }
        if let e = earlyStopping {
            if e.patience < 1 { fail("earlyStopping.patience", "must be at least 1") }
            if !(e.minDelta >= 0) { fail("earlyStopping.minDelta", "must be ≥ 0") }
        }
        if let p = lrPlateau {
            if !(p.factor > 0 && p.factor < 1) { fail("lrPlateau.factor", "must lie strictly between 0 and 1, got \(p.factor)") }
            if p.patience < 0 { fail("lrPlateau.patience", "must be ≥ 0") }
            if !(p.minLearningRate >= 0) { fail("lrPlateau.minLearningRate", "must be ≥ 0") }
        }
        if let w = warmup, !(w.fraction >= 0 && w.fraction < 1) { fail("warmup.fraction", "must lie in [0, 1)") }
        if let g = gradientClipNorm, !(g > 0) { fail("gradientClipNorm", "must be positive") }
        if let t = blasThreads, t < 1 { fail("threads", "must be at least 1 (OpenBLAS threads while training)") }
        if case .explicit(let w) = classWeights, !w.allSatisfy({ $0 >= 0 }) { fail("classWeights", "weights must be ≥ 0") }
        guard let classes else {
            if case .named = classWeights { fail("classWeights", "weights by class name must be resolved against the classes first (ClassWeights.resolved)") }
            return out
        }
        // The spec's own rules.
        if !(epsilon > 0) { fail("epsilon", "must be positive") }
        if let p = lrPlateau, p.patience < 1 { fail("lrPlateau.patience", "must be at least 1") }
        if weightDecay > 0 && optimizer != .adamw { fail("weightDecay", "decoupled weight decay needs optimizer \"adamw\"; use l2 with adam") }
        if case .named(let weights) = classWeights {
            for (label, w) in weights.sorted(by: { $0.key < $1.key }) {
                if !classes.contains(label) { fail("classWeights.\(label)", "\"\(label)\" is not one of corpus.classes") }
                if !(w > 0) { fail("classWeights.\(label)", "weight must be positive") }
            }
        }
        return out
    }
}

extension TrainingConfig.EarlyStopping {
    enum CodingKeys: String, CodingKey, CaseIterable { case monitor, patience, minDelta, restoreBestWeights }

    /// Decodes `patience` (required), `monitor` (`val-loss`), `minDelta` (0), `restoreBestWeights` (true).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(monitor: try c.decodeIfPresent(TrainingConfig.Monitor.self, forKey: .monitor) ?? .validationLoss,
                  patience: try c.decode(Int.self, forKey: .patience),
                  minDelta: try c.decodeIfPresent(Double.self, forKey: .minDelta) ?? 0,
                  restoreBestWeights: try c.decodeIfPresent(Bool.self, forKey: .restoreBestWeights) ?? true)
    }
}

extension TrainingConfig.Plateau {
    enum CodingKeys: String, CodingKey, CaseIterable { case monitor, factor, patience, minLearningRate }

    /// Decodes `factor` and `patience` (required), `monitor` (`val-loss`), `minLearningRate` (0).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(monitor: try c.decodeIfPresent(TrainingConfig.Monitor.self, forKey: .monitor) ?? .validationLoss,
                  factor: try c.decode(Double.self, forKey: .factor), patience: try c.decode(Int.self, forKey: .patience),
                  minLearningRate: try c.decodeIfPresent(Double.self, forKey: .minLearningRate) ?? 0)
    }
}

extension TrainingConfig.Warmup {
    enum CodingKeys: String, CodingKey, CaseIterable { case fraction, schedule }

    /// Decodes `fraction` (required) and `schedule` (`linear`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(fraction: try c.decode(Double.self, forKey: .fraction),
                  schedule: try c.decodeIfPresent(Schedule.self, forKey: .schedule) ?? .linear)
    }
}

extension TrainingConfig.ClassWeights: Codable {
    /// Decodes `"none"`, `"balanced"`, an object of weights by class name, or an array of weights by class index.
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
        } else if let byIndex = try? c.decode([Float].self) {
            self = .explicit(byIndex)
        } else {
            self = .named(try c.decode([String: Double].self))
        }
    }

    /// Encodes as the string, the object or the array.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .none: try c.encode("none")
        case .balanced: try c.encode("balanced")
        case .explicit(let w): try c.encode(w)
        case .named(let w): try c.encode(w)
        }
    }

    /// One loss weight per class id, from the training part's labels (class ids in `0..<classes.count`).
    ///
    /// `balanced` is `CrossEntropy.balancedWeights` (scikit-learn's `compute_class_weight("balanced")`:
    /// n / (K · n_c); a class without training items gets 1); `named` looks each class up by name (1 when absent).
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
            return (0..<k).map { $0 < w.count ? Double(w[$0]) : 1 }
        case .named(let w):
            return classes.map { w[$0] ?? 1 }
        }
    }
}
