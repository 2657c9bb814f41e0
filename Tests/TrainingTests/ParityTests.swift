import EmoClassifiers
import EmoCore
import EmoFusion
import EmoPipeline
import XCTest

/// The host trainer with the in-tree components against PyTorch (Tests/Reference/training_fixtures.py): same
/// initial weights, same batches in the same order, a few optimiser steps with batch norm and no dropout.
/// Tolerances: epoch losses 1e-4 relative, final weights and running statistics 2e-4 (+2e-4 · |w|), logits 1e-3;
/// float32 reductions differ in order between OpenBLAS and PyTorch's kernels, nothing else should.
///
/// One exception, by construction: a Linear bias feeding BatchNorm directly has a true gradient of exactly 0 (the
/// batch mean removes it), so both frameworks see only rounding noise there, which Adam normalises into steps
/// of up to ~lr. Those biases and the running means tracking them (listed by the script as `zero_gradient`) are
/// skipped (the biases are checked to have drifted no more than lr per step), and evaluation logits (which depend on them) are
/// compared only for cases without such layers. Training-mode losses are unaffected and compared everywhere.
final class ParityTests: XCTestCase {
    func testTrainerMatchesPyTorch() throws {
        let cases = try TrainingFixtures.parityCases()
        XCTAssertEqual(cases.count, 3)
        for c in cases { try check(c) }
    }

    private func check(_ c: JSONValue) throws {
        let name = c["name"]?.stringValue ?? "?"
        let widths = (c["groups"]?.arrayValue ?? []).compactMap(\.intValue)
        let classes = try XCTUnwrap(c["classes"]?.intValue)
        let bn = c["batch_norm"]?.boolValue ?? false
        let position: JSONValue = (c["norm_after"]?.boolValue ?? false) ? "after-activation" : "before-activation"
        let zeroGradient = Set((c["zero_gradient"]?.arrayValue ?? []).compactMap(\.stringValue))
        let headHidden = (c["head_hidden"]?.arrayValue ?? []).compactMap(\.intValue)
        let labels = (c["labels"]?.arrayValue ?? []).compactMap(\.intValue)
        let inputs = try zip(widths, c["inputs"]?.arrayValue ?? []).map { w, v in
            try NDArray(shape: [labels.count, w], data: TrainingFixtures.floats(v))
        }
        let fusion: any TrainableComponent
        var fusedWidth = widths.reduce(0, +)
        if let branch = c["branch"]?.arrayValue?.compactMap(\.intValue) {
            fusion = try LateFusion(config: ["inputs": .array(widths.map { .number(Double($0)) }),
                                             "branch": .array(branch.map { .number(Double($0)) }), "batch_norm": .bool(bn),
                                             "batch_norm_position": position])
            fusedWidth = (branch.last ?? 0) * widths.count
        } else {
            fusion = try EarlyFusion(config: ["inputs": .array(widths.map { .number(Double($0)) })])
        }
        let l2 = c["l2"]?.doubleValue ?? 0
        let classifier: any TrainableComponent = headHidden.isEmpty
            ? try LogisticClassifier(config: ["inputs": .number(Double(fusedWidth)), "classes": .number(Double(classes)), "l2": .number(l2)])
            : try MLPClassifier(config: ["inputs": .number(Double(fusedWidth)), "classes": .number(Double(classes)),
                                         "hidden": .array(headHidden.map { .number(Double($0)) }), "batch_norm": .bool(bn),
                                         "batch_norm_position": position, "l2": .number(l2)])
        let chain = TrainingChain(fusion: fusion, classifier: classifier)
        // Load PyTorch's initial weights by name.
        let initial = try XCTUnwrap(c["init"]?.objectValue)
        let parameters = chain.components.flatMap(\.parameters)
        XCTAssertEqual(Set(parameters.map(\.name)), Set(initial.keys), "\(name): parameter names match the torch state_dict")
        for p in parameters {
            let values = TrainingFixtures.floats(initial[p.name])
            XCTAssertEqual(values.count, p.count, "\(name): \(p.name)")
            for i in 0..<min(values.count, p.count) { p.value[i] = values[i] }
        }

        var config = TrainingConfig()
        config.optimizer = try XCTUnwrap(TrainingConfig.Optimizer(rawValue: c["optimizer"]?.stringValue ?? ""))
        config.learningRate = try XCTUnwrap(c["lr"]?.doubleValue)
        config.batchSize = try XCTUnwrap(c["batch"]?.intValue)
        config.maxEpochs = try XCTUnwrap(c["epochs"]?.intValue)
        config.weightDecay = c["weight_decay"]?.doubleValue ?? 0
        config.gradientClipNorm = c["clip"]?.doubleValue
        config.labelSmoothing = c["label_smoothing"]?.doubleValue ?? 0
        if let w = c["class_weights"]?.arrayValue { config.classWeights = .explicit(w.compactMap { $0.doubleValue.map(Float.init) }) }
        config.shuffle = false
        let data = try TrainingSet(groups: inputs, labels: labels, classes: classes)
        let result = try Trainer(config: config).train(chain, on: data)

        let expectedLosses = (c["epoch_losses"]?.arrayValue ?? []).compactMap(\.doubleValue)
        XCTAssertEqual(result.history.count, expectedLosses.count)
        for (record, expected) in zip(result.history, expectedLosses) {
            XCTAssertEqual(record.trainLoss, expected, accuracy: 1e-4 * max(1, abs(expected)), "\(name): epoch \(record.epoch) loss")
        }
        let final = try XCTUnwrap(c["final"]?.objectValue)
        let steps = Float(result.steps)
        for p in parameters {
            let expected = TrainingFixtures.floats(final[p.name])
            if zeroGradient.contains(p.name) {
                guard p.name.hasSuffix(".bias") else { continue }  // running means follow the batch means: not bounded
                let start = TrainingFixtures.floats(initial[p.name])
                for i in 0..<min(start.count, p.count) {
                    XCTAssertLessThanOrEqual(abs(p.value[i] - start[i]), Float(config.learningRate) * steps * 1.01 + 1e-6,
                                             "\(name): \(p.name) moves at most lr per step")
                }
                continue
            }
            var worst: Float = 0
            for i in 0..<min(expected.count, p.count) {
                worst = max(worst, abs(p.value[i] - expected[i]) - 2e-4 * abs(expected[i]))
            }
            XCTAssertLessThanOrEqual(worst, 2e-4, "\(name): \(p.name) after training")
        }
        guard zeroGradient.isEmpty else { return }
        let logits = try chain.predict(inputs)
        let expectedLogits = TrainingFixtures.floats(c["eval_logits"])
        XCTAssertEqual(logits.count, expectedLogits.count)
        let logitError = zip(logits.data, expectedLogits).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(logitError, 1e-3, "\(name): evaluation-mode logits")
    }
}
