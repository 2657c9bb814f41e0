@testable import EmoPipeline
import EmoClassifiers
import EmoCore
import EmoFusion
import EmoRuntime
import EmoTensor
import EmoTestSupport
import XCTest

/// The host trainer on synthetic data, in process and through the C ABI.
final class TrainerTests: XCTestCase {
    private func lateChain(seed: Int) throws -> TrainingChain {
        let fusion = try LateFusion(config: ["inputs": [5, 4], "branch": [12, 8], "batch_norm": true, "seed": .number(Double(seed))])
        let head = try MLPClassifier(config: ["inputs": 16, "classes": 3, "hidden": [8], "dropout": 0.1, "seed": .number(Double(seed))])
        return TrainingChain(fusion: fusion, classifier: head)
    }

    private func config(seed: UInt64 = 1) -> TrainingConfig {
        var c = TrainingConfig()
        c.learningRate = 1e-2
        c.batchSize = 16
        c.maxEpochs = 15
        c.validationFraction = 0.2
        c.seed = seed
        return c
    }

    func testLearnsSeparableDataWithEveryFusion() throws {
        let data = try TrainingFixtures.blobs(rows: 180, widths: [5, 4], classes: 3, seed: 3)
        let fusions: [any TrainableComponent] = [
            try EarlyFusion(config: ["inputs": [5, 4]]),
            try LateFusion(config: ["inputs": [5, 4], "branch": [12, 8], "batch_norm": true, "seed": 1]),
            try AttentionFusion(config: ["inputs": [5, 4], "dim": 8, "seed": 1]),
            try ProjectionFusion(config: ["inputs": [5, 4], "dim": 8, "activation": "relu", "dropout": 0.1, "seed": 1]),
        ]
        let widths = [9, 16, 8, 16]
        for (fusion, width) in zip(fusions, widths) {
            let head = try MLPClassifier(config: ["inputs": .number(Double(width)), "classes": 3, "hidden": [16], "seed": 2])
            let result = try Trainer(config: config()).train(TrainingChain(fusion: fusion, classifier: head), on: data)
            let first = try XCTUnwrap(result.history.first), last = try XCTUnwrap(result.history.last)
            XCTAssertLessThan(last.trainLoss, first.trainLoss, "\(fusion.info.id): training loss falls")
            XCTAssertGreaterThanOrEqual(last.validationAccuracy ?? 0, 0.85, "\(fusion.info.id): blobs are separable")
            XCTAssertEqual(result.validationRows.count, 36, "20 % of 180, stratified: 12 per class")
        }
    }

    func testLogisticRegressionWithoutFusion() throws {
        let data = try TrainingFixtures.blobs(rows: 150, widths: [6], classes: 3, seed: 4)
        let head = try LogisticClassifier(config: ["inputs": 6, "classes": 3, "seed": 5])
        var c = config()
        c.optimizer = .sgd
        c.momentum = 0.9
        c.learningRate = 0.05
        let result = try Trainer(config: c).train(TrainingChain(fusion: nil, classifier: head), on: data)
        XCTAssertGreaterThanOrEqual(result.history.last?.validationAccuracy ?? 0, 0.85)
    }

    /// Training runs with `blasThreads` OpenBLAS threads and gives the process its own setting back, also when
    /// training fails; a thread count below 1 is a named config problem.
    func testTrainingSetsAndRestoresTheBLASThreadCount() throws {
        let data = try TrainingFixtures.blobs(rows: 60, widths: [4], classes: 3, seed: 8)
        let saved = BLASInfo.threadCount
        defer { BLASInfo.setThreadCount(saved) }
        BLASInfo.setThreadCount(2)
        var c = config()
        c.blasThreads = 1
        c.maxEpochs = 2
        var seen: [Int] = []
        let trainer = Trainer(config: c) { _ in seen.append(BLASInfo.threadCount) }
        _ = try trainer.train(TrainingChain(fusion: nil, classifier: try LogisticClassifier(config: ["inputs": 4, "classes": 3, "seed": 1])), on: data)
        XCTAssertEqual(seen, [1, 1], "one BLAS thread during both epochs")
        XCTAssertEqual(BLASInfo.threadCount, 2, "the process's setting is restored")
        c.blasThreads = 0
        XCTAssertTrue(c.problems.contains { $0.contains("threads") }, "\(c.problems)")
        XCTAssertThrowsError(try Trainer(config: c).train(TrainingChain(fusion: nil, classifier: try LogisticClassifier(config: ["inputs": 4, "classes": 3, "seed": 1])), on: data))
        XCTAssertEqual(BLASInfo.threadCount, 2)
    }

    func testValidationSplitIsStratifiedAndDisjoint() {
        let labels = (0..<103).map { $0 % 4 == 3 ? 3 : $0 % 3 }
        let (train, validation) = ValidationSplit.stratified(labels: labels, classes: 4, fraction: 0.25, seed: 9)
        XCTAssertEqual(Set(train).intersection(validation), [])
        XCTAssertEqual(train.count + validation.count, labels.count)
        for c in 0..<4 {
            let n = labels.filter { $0 == c }.count
            let v = validation.filter { labels[$0] == c }.count
            XCTAssertEqual(v, Int((0.25 * Double(n)).rounded()), "class \(c)")
        }
        XCTAssertEqual(ValidationSplit.stratified(labels: labels, classes: 4, fraction: 0.25, seed: 9).validation, validation)
        XCTAssertNotEqual(ValidationSplit.stratified(labels: labels, classes: 4, fraction: 0.25, seed: 10).validation, validation)
    }

    /// Gradient accumulation: two micro-batches of 8 rows per step train the same weights as one batch of 16 (same
    /// shuffles, same schedule; a chain without batch statistics or dropout), up to float rounding; a last
    /// micro-batch of one row joins the one before; a count below 1 is a named config problem.
    func testGradientAccumulationEqualsTheLargerBatch() throws {
        let data = try TrainingFixtures.blobs(rows: 100, widths: [5, 4], classes: 3, seed: 11)
        func chain() throws -> TrainingChain {
            TrainingChain(fusion: try ProjectionFusion(config: ["inputs": [5, 4], "dim": 8, "activation": "relu", "seed": 3]),
                          classifier: try MLPClassifier(config: ["inputs": 16, "classes": 3, "hidden": [8], "seed": 4]))
        }
        var c = config()
        c.maxEpochs = 3
        c.optimizer = .adamw
        c.weightDecay = 0.01
        c.gradientClipNorm = 0.5
        c.warmup = .init(fraction: 0.2, schedule: .linear)
        let one = try chain(), two = try chain()
        let whole = try Trainer(config: c).train(one, on: data)
        c.batchSize = 8
        c.gradientAccumulation = 2
        let accumulated = try Trainer(config: c).train(two, on: data)
        XCTAssertEqual(whole.steps, accumulated.steps, "one optimiser step per 16 rows either way")
        for (a, b) in zip(whole.history, accumulated.history) {
            XCTAssertEqual(a.trainLoss, b.trainLoss, accuracy: 1e-5)
            XCTAssertEqual(a.validationLoss ?? 0, b.validationLoss ?? 1, accuracy: 1e-5)
        }
        let p1 = one.components.flatMap(\.parameters), p2 = two.components.flatMap(\.parameters)
        XCTAssertEqual(p1.map(\.count), p2.map(\.count))
        var worst: Float = 0, moved: Float = 0
        for (a, b) in zip(p1, p2) {
            for i in 0..<a.count { worst = max(worst, abs(a.value[i] - b.value[i])); moved = max(moved, abs(a.value[i])) }
        }
        XCTAssertLessThan(worst, 1e-5 * max(moved, 1), "the same weights up to the order of float sums")
        c.gradientAccumulation = 1
        c.batchSize = 16
        XCTAssertEqual(Trainer.microBatches(17, size: 8), [0..<8, 8..<17])
        XCTAssertEqual(Trainer.microBatches(16, size: 8), [0..<8, 8..<16])
        XCTAssertEqual(Trainer.microBatches(5, size: 8), [0..<5])
        c.gradientAccumulation = 0
        XCTAssertTrue(c.problems.contains { $0.contains("gradientAccumulation") }, "\(c.problems)")
    }

    /// A run stopped after any epoch and resumed from its checkpoint (written to disk and read back) ends with the
    /// same curves and the same final bytes as the uninterrupted run: dropout streams, batch statistics, Adam's
    /// moments, the shuffle stream, the plateau schedule and early stopping all continue where they stood.
    func testResumedTrainingContinuesBitIdentically() throws {
        let data = try TrainingFixtures.blobs(rows: 120, widths: [5, 4], classes: 3, seed: 6)
        var c = config()
        c.maxEpochs = 7
        c.optimizer = .adamw
        c.weightDecay = 0.01
        c.gradientClipNorm = 1
        c.warmup = .init(fraction: 0.2, schedule: .linear)
        c.lrPlateau = .init(factor: 0.5, patience: 1, minLearningRate: 1e-4)
        c.earlyStopping = .init(monitor: .validationLoss, patience: 4, restoreBestWeights: true)
        func chain() throws -> TrainingChain {
            TrainingChain(fusion: try ProjectionFusion(config: ["inputs": [5, 4], "dim": 8, "activation": "relu", "dropout": 0.2, "seed": 3]),
                          classifier: try MLPClassifier(config: ["inputs": 16, "classes": 3, "hidden": [12], "dropout": 0.3,
                                                                  "batch_norm": true, "seed": 4]))
        }
        var checkpoints: [TrainingCheckpoint] = []
        var trainer = Trainer(config: c)
        trainer.onCheckpoint = { checkpoints.append($0) }
        let whole = try trainer.train(try chain(), on: data)
        XCTAssertEqual(checkpoints.count, whole.history.count)
        XCTAssertEqual(checkpoints.last?.finished, true)
        let dir = try TestRepository.temporaryFolder(self).path + "/checkpoint"
        for k in [1, 3, whole.history.count - 1] {
            try checkpoints[k - 1].write(to: dir)
            let read = try XCTUnwrap(try TrainingCheckpoint.read(from: dir))
            XCTAssertEqual(read, checkpoints[k - 1], "the checkpoint survives the disk")
            let resumed = try Trainer(config: c).train(try chain(), on: data, resumingFrom: read)
            XCTAssertEqual(resumed.history, whole.history, "resumed after epoch \(k)")
            XCTAssertEqual(resumed.states, whole.states, "resumed after epoch \(k): the same final bytes")
            XCTAssertEqual(resumed.steps, whole.steps)
        }
        // Without the random streams in the state (what a version-1 state gives), masks would restart: a different run.
        let done = try Trainer(config: c).train(try chain(), on: data, resumingFrom: checkpoints.last)
        XCTAssertEqual(done.history, whole.history, "a finished checkpoint returns its result without training")
        // Another run's checkpoint is refused.
        var other = c
        other.learningRate = 0.02
        XCTAssertThrowsError(try Trainer(config: other).train(try chain(), on: data, resumingFrom: checkpoints[0])) {
            XCTAssertTrue("\($0)".contains("other settings, components or rows"), "\($0)")
        }
        XCTAssertNil(try TrainingCheckpoint.read(from: dir + "-none"))
        try FileManager.default.removeItem(atPath: dir + "/optimizer-0.state")
        XCTAssertThrowsError(try TrainingCheckpoint.read(from: dir)) { XCTAssertTrue("\($0)".contains("optimizer-0.state is missing"), "\($0)") }
    }

    /// Same seeds → the same curves and the same final bytes; another shuffle seed → a different run.
    func testTrainingIsDeterministicGivenTheSeeds() throws {
        let data = try TrainingFixtures.blobs(rows: 120, widths: [5, 4], classes: 3, seed: 6)
        var c = config()
        c.maxEpochs = 4
        let a = try Trainer(config: c).train(try lateChain(seed: 7), on: data)
        let b = try Trainer(config: c).train(try lateChain(seed: 7), on: data)
        XCTAssertEqual(a.history, b.history)
        XCTAssertEqual(a.states, b.states)
        c.seed = 2
        let d = try Trainer(config: c).train(try lateChain(seed: 7), on: data)
        XCTAssertNotEqual(a.history.map(\.trainLoss), d.history.map(\.trainLoss))
    }

    /// With early stopping the chain ends holding the best epoch's state: its validation loss, recomputed from
    /// the final state, is the best one in the history.
    func testEarlyStoppingRestoresTheBestEpoch() throws {
        let data = try TrainingFixtures.blobs(rows: 90, widths: [5, 4], classes: 3, seed: 8)
        var c = config()
        c.learningRate = 0.05
        c.maxEpochs = 80
        c.earlyStopping = .init(monitor: .validationLoss, patience: 3)
        let chain = try lateChain(seed: 9)
        let result = try Trainer(config: c).train(chain, on: data)
        XCTAssertTrue(result.stoppedEarly, "a 72-row training set overfits long before 80 epochs at lr 0.05")
        let losses = result.history.compactMap(\.validationLoss)
        let bestEpoch = (losses.indices.min { losses[$0] < losses[$1] } ?? 0) + 1
        XCTAssertEqual(result.selectedEpoch, bestEpoch)
        XCTAssertEqual(result.history.count, bestEpoch + 3, "stops after `patience` epochs without improvement")
        let validation = data.rows(result.validationRows)
        let logits = try chain.predict(validation.groups)
        let recomputed = CrossEntropy().evaluate(logits: logits, labels: validation.labels).loss
        XCTAssertEqual(recomputed, losses[bestEpoch - 1], accuracy: 1e-9)
    }

    func testPlateauHalvesTheRateAfterPatienceEpochsWithoutImprovement() throws {
        let plateau = TrainingConfig.Plateau(factor: 0.5, patience: 1, minLearningRate: 0.3)
        var c = TrainingConfig()
        c.learningRate = 1
        c.lrPlateau = plateau
        var s = LearningRateSchedule(config: c, totalSteps: 10)
        XCTAssertFalse(s.observe(1.0))  // best
        XCTAssertFalse(s.observe(1.0))  // 1 bad epoch: not more than patience
        XCTAssertTrue(s.observe(1.0))  // 2 bad epochs: reduce
        XCTAssertEqual(s.rate(at: 5), 0.5)
        XCTAssertFalse(s.observe(0.5))  // improvement resets
        XCTAssertFalse(s.observe(0.6))
        XCTAssertTrue(s.observe(0.6))
        XCTAssertEqual(s.rate(at: 5), 0.3, "never below minLearningRate")
    }

    func testWarmupThenLinearDecay() {
        var c = TrainingConfig()
        c.learningRate = 2
        c.warmup = .init(fraction: 0.2, schedule: .linear)
        let s = LearningRateSchedule(config: c, totalSteps: 10)
        // w = 2: s/w for s < 2, then (10 − s)/8.
        let expected: [Double] = [0, 1, 2, 1.75, 1.5, 1.25, 1, 0.75, 0.5, 0.25]
        for (step, e) in expected.enumerated() { XCTAssertEqual(s.rate(at: step), e, accuracy: 1e-12, "step \(step)") }
    }

    /// PyTorch's formula with ε = 0.2 and weights (1, 3) on two rows, computed by hand:
    /// row 0 (label 0), logits (0, 0): −log p = log 2 for both classes; row 1 (label 1), logits (ln 3, 0):
    /// p = (3/4, 1/4). W = 1 + 3 = 4.
    func testCrossEntropyWithSmoothingAndWeightsFollowsTorchsDefinition() throws {
        let logits = try NDArray(shape: [2, 2], data: [0, 0, Float(log(3.0)), 0])
        let ce = CrossEntropy(labelSmoothing: 0.2, classWeights: [1, 3])
        let out = ce.evaluate(logits: logits, labels: [0, 1])
        let l2 = log(2.0), l4 = log(4.0), l43 = log(4.0 / 3.0)
        let nll = (1 * l2 + 3 * l4) / 4
        let smooth = ((1 * l2 + 3 * l2) + (1 * l43 + 3 * l4)) / 4
        XCTAssertEqual(out.loss, 0.8 * nll + 0.2 / 2 * smooth, accuracy: 1e-6)
        XCTAssertEqual(out.correct, 1, "row 0 ties and takes class 0 (its label); row 1's arg-max is class 0, not its label")
        // Gradient rows sum to zero (softmax) and match central differences.
        for i in 0..<4 {
            var plus = logits, minus = logits
            plus.data[i] += 1e-3
            minus.data[i] -= 1e-3
            let numeric = (ce.evaluate(logits: plus, labels: [0, 1]).loss - ce.evaluate(logits: minus, labels: [0, 1]).loss) / 2e-3
            XCTAssertEqual(Double(out.gradient.data[i]), numeric, accuracy: 1e-4)
        }
        XCTAssertEqual(out.gradient.data[0] + out.gradient.data[1], 0, accuracy: 1e-6)
    }

    /// One training-settings type: a spec's `training` block decodes into the trainer's `TrainingConfig` with the
    /// spec's defaults, encodes back to the same keys (what the peer protocol sends), and names a bad `betas`.
    func testSpecTrainingBlockIsTheTrainersConfig() throws {
        let json = #"{"optimizer": "adamw", "learningRate": 0.002, "batchSize": 16, "maxEpochs": 7, "weightDecay": 0.01,"# +
            #" "classWeights": {"angry": 2}, "threads": 2, "earlyStopping": {"patience": 3, "monitor": "val-macro-f1"},"# +
            #" "warmup": {"fraction": 0.1}}"#
        let c = try JSONDecoder().decode(TrainingConfig.self, from: Data(json.utf8))
        XCTAssertEqual(c.optimizer, .adamw)
        XCTAssertEqual(c.learningRate, 0.002)
        XCTAssertEqual([c.beta1, c.beta2], [0.9, 0.999])
        XCTAssertEqual(c.epsilon, 1e-8)
        XCTAssertEqual(c.blasThreads, 2)
        XCTAssertEqual(c.earlyStopping, .init(monitor: .validationMacroF1, patience: 3))
        XCTAssertEqual(c.warmup, .init(fraction: 0.1, schedule: .linear))
        XCTAssertEqual(c.classWeights, .named(["angry": 2]))
        XCTAssertEqual(c.classWeights.resolved(classes: ["neutral", "angry"], trainingLabels: []), [1, 2])
        XCTAssertTrue(c.problems.contains { $0.contains("classWeights") }, "named weights must be resolved before training")
        let again = try JSONDecoder().decode(TrainingConfig.self, from: try JSONEncoder().encode(c))
        XCTAssertEqual(again, c)
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: try JSONEncoder().encode(c)) as? [String: Any]).keys
        XCTAssertEqual(Set(keys), Set(TrainingConfig.CodingKeys.allCases.map(\.rawValue)).subtracting(["lrPlateau", "gradientClipNorm", "gradientAccumulation"]), "every key but the absent blocks and gradientAccumulation at its default (1, left out so that specs written before it encode as before)")
        let bad = #"{"optimizer": "adam", "learningRate": 0.001, "batchSize": 8, "maxEpochs": 2, "betas": [0.9]}"#
        XCTAssertThrowsError(try JSONDecoder().decode(TrainingConfig.self, from: Data(bad.utf8))) { error in
            XCTAssertTrue("\(error)".contains("give two numbers"), "\(error)")
        }
    }

    /// Early stopping watches the macro-F1 the reports print: with a class absent from labels and predictions,
    /// the trainer's number equals `ClassificationMetrics.compute(...).macroF1` (the old trainer-only
    /// definition skipped absent classes and said 0.75 here, the report 0.5).
    func testTrainerMacroF1IsTheReportedOne() throws {
        // 4 classes; class 3 never appears. Rows: truth 0,0,1,2 predicted 0,1,1,2.
        let logits = try NDArray(shape: [4, 4], data: [9, 0, 0, 0, 0, 9, 0, 0, 0, 9, 0, 0, 0, 0, 9, 0])
        let truth = [0, 0, 1, 2]
        let trainer = Trainer.macroF1(logits: logits, labels: truth, classes: 4)
        let reported = try ClassificationMetrics.compute(truth: truth, predicted: [0, 1, 1, 2], classes: ["a", "b", "c", "d"]).macroF1
        XCTAssertEqual(trainer, reported, accuracy: 1e-12)
        XCTAssertEqual(reported, (2.0 / 3 + 2.0 / 3 + 1 + 0) / 4, accuracy: 1e-12)
    }

    /// An explicit validation set replaces the carved-out one; balanced weights follow n / (K · n_c); AdamW with
    /// warm-up, clipping and a plateau runs and reports its schedule.
    func testExplicitValidationBalancedWeightsAndScheduleSettings() throws {
        let data = try TrainingFixtures.blobs(rows: 120, widths: [5, 4], classes: 3, seed: 21)
        let unbalanced = data.rows(Array(0..<120).filter { $0 % 3 != 2 || $0 < 30 })  // class 2 keeps 10 rows
        XCTAssertEqual(unbalanced.classCounts, [40, 40, 10])
        XCTAssertEqual(CrossEntropy.balancedWeights(classCounts: unbalanced.classCounts), [0.75, 0.75, 3])
        // One rule everywhere: a class with no rows gets 1 from the trainer's function and from the spec's.
        XCTAssertEqual(CrossEntropy.balancedWeights(classCounts: [6, 0, 2]), [8.0 / 18, 1, 8.0 / 6])
        XCTAssertEqual(TrainingConfig.ClassWeights.balanced.resolved(classes: ["a", "b", "c"], trainingLabels: [0, 0, 0, 0, 0, 0, 2, 2]),
                       [8.0 / 18, 1, 8.0 / 6])
        let validation = try TrainingFixtures.blobs(rows: 30, widths: [5, 4], classes: 3, seed: 22)
        var c = config()
        c.optimizer = .adamw
        c.weightDecay = 0.01
        c.classWeights = .balanced
        c.warmup = .init(fraction: 0.3, schedule: .linear)
        c.gradientClipNorm = 1
        c.lrPlateau = .init(factor: 0.5, patience: 1)
        c.maxEpochs = 6
        let result = try Trainer(config: c).train(try lateChain(seed: 23), on: unbalanced, validation: validation)
        XCTAssertEqual(result.validationRows, [], "nothing carved out when a validation set is given")
        XCTAssertEqual(result.trainRows.count, 90)
        XCTAssertEqual(result.steps, 6 * 6, "90 rows in batches of 16: 6 steps per epoch")
        XCTAssertTrue(result.history.allSatisfy { $0.validationLoss != nil && $0.meanGradientNorm != nil })
        // Linear decay after warm-up: the last epoch's rate is below the peak.
        XCTAssertLessThan(result.history.last?.learningRate ?? 1, c.learningRate)
    }

    func testBadSettingsAreReportedByName() throws {
        var c = TrainingConfig()
        c.earlyStopping = .init(patience: 2)
        let data = try TrainingFixtures.blobs(rows: 30, widths: [3], classes: 3, seed: 1)
        let head = try LogisticClassifier(config: ["inputs": 3, "classes": 3])
        XCTAssertThrowsError(try Trainer(config: c).train(TrainingChain(fusion: nil, classifier: head), on: data)) { error in
            XCTAssertTrue("\(error)".contains("validationFraction"), "\(error)")
        }
        c = TrainingConfig()
        c.batchSize = 0
        XCTAssertThrowsError(try Trainer(config: c).train(TrainingChain(fusion: nil, classifier: head), on: data)) { error in
            XCTAssertTrue("\(error)".contains("batchSize"), "\(error)")
        }
        let wrongHead = try LogisticClassifier(config: ["inputs": 3, "classes": 4])
        XCTAssertThrowsError(try Trainer(config: TrainingConfig()).train(TrainingChain(fusion: nil, classifier: wrongHead), on: data)) { error in
            XCTAssertTrue("\(error)".contains("classes"), "\(error)")
        }
    }

    /// The host trains plugins it sees only through the C ABI (dlopen'ed fusion and classifier libraries):
    /// the curves and final state equal those of the same components trained in process.
    func testTrainsPluginsThroughTheCABIExactlyAsInProcess() throws {
        let host = try TrainingFixtures.pluginHost()
        XCTAssertEqual(host.problems, [])
        let fusionConfig: JSONValue = ["inputs": [5, 4], "branch": [12, 8], "batch_norm": true, "seed": 7]
        let headConfig: JSONValue = ["inputs": 16, "classes": 3, "hidden": [8], "dropout": 0.1, "seed": 7]
        let fusion = try host.instantiate(id: "late", config: fusionConfig)
        let head = try host.instantiate(id: "mlp", config: headConfig)
        XCTAssertTrue(fusion.isTrainable && head.isTrainable)
        let data = try TrainingFixtures.blobs(rows: 120, widths: [5, 4], classes: 3, seed: 6)
        var c = config()
        c.maxEpochs = 4
        c.earlyStopping = .init(patience: 2)
        let viaABI = try Trainer(config: c).train(TrainingChain(fusion: fusion, classifier: head), on: data)
        let inProcess = try Trainer(config: c).train(
            TrainingChain(fusion: try LateFusion(config: fusionConfig), classifier: try MLPClassifier(config: headConfig)), on: data)
        XCTAssertEqual(viaABI.history.count, inProcess.history.count)
        for (a, b) in zip(viaABI.history, inProcess.history) {
            XCTAssertEqual(a.trainLoss, b.trainLoss, accuracy: 1e-9)
            XCTAssertEqual(a.validationLoss ?? -1, b.validationLoss ?? -2, accuracy: 1e-9)
        }
        XCTAssertEqual(viaABI.states, inProcess.states, "the same bytes: the plugin state format is the component's own")
        XCTAssertGreaterThan(viaABI.history.last?.validationAccuracy ?? 0, 0.8)
    }
}
