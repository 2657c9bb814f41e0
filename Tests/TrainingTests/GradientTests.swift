import EmoClassifiers
import EmoCore
import EmoFusion
import XCTest

/// Backward of every classifier and fusion component against central finite differences.
final class GradientTests: XCTestCase {
    private let batch = 5

    func testLogisticBackward() throws {
        let c = try LogisticClassifier(config: ["inputs": 6, "classes": 3, "l2": 0, "seed": 1])
        try GradientCheck.check(c, inputs: [GradientCheck.random([batch, 6], seed: 2)], outputShapes: [[batch, 3]])
    }

    func testMLPBackwardEvaluationMode() throws {
        let c = try MLPClassifier(config: ["inputs": 6, "classes": 3, "hidden": [7, 5], "batch_norm": false,
                                           "dropout": 0.0, "l2": 0.0, "seed": 3])
        try GradientCheck.check(c, inputs: [GradientCheck.random([batch, 6], seed: 4)], outputShapes: [[batch, 3]])
    }

    /// Batch statistics make every row depend on every other: the full Jacobian, not a per-row one.
    func testMLPWithBatchNormBackwardInTrainingMode() throws {
        let c = try MLPClassifier(config: ["inputs": 6, "classes": 4, "hidden": [8, 5], "batch_norm": true,
                                           "dropout": 0.0, "l2": 0.0, "seed": 5])
        c.setTraining(true)
        try GradientCheck.check(c, inputs: [GradientCheck.random([batch, 6], seed: 6)], outputShapes: [[batch, 4]])
    }

    func testMLPWithBatchNormBackwardInEvaluationMode() throws {
        let c = try MLPClassifier(config: ["inputs": 6, "classes": 4, "hidden": [8], "batch_norm": true,
                                           "dropout": 0.0, "l2": 0.0, "seed": 7])
        // Move the running statistics away from (0, 1) first so the check sees them.
        c.setTraining(true)
        for s in 0..<3 { _ = try c.forward([.array(GradientCheck.random([batch, 6], seed: 70 + UInt64(s), scale: 3))]) }
        c.setTraining(false)
        try GradientCheck.check(c, inputs: [GradientCheck.random([batch, 6], seed: 8)], outputShapes: [[batch, 4]])
    }

    func testEarlyFusionBackward() throws {
        let f = try EarlyFusion(config: ["inputs": [3, 4, 2]])
        let x = [GradientCheck.random([batch, 3], seed: 1), GradientCheck.random([batch, 4], seed: 2), GradientCheck.random([batch, 2], seed: 3)]
        let y = try XCTUnwrap(try f.forward(x.map { .array($0) }).first?.array)
        XCTAssertEqual(y.shape, [batch, 9])
        XCTAssertEqual(Array(y.data[0..<9]), Array(x[0].data[0..<3]) + Array(x[1].data[0..<4]) + Array(x[2].data[0..<2]))
        try GradientCheck.check(f, inputs: x, outputShapes: [[batch, 9]])
    }

    func testLateFusionBackwardWithBatchNormAndFusionLayer() throws {
        let f = try LateFusion(config: ["inputs": [4, 3], "branch": [6, 5], "batch_norm": true, "dropout": 0.0,
                                        "fusion_hidden": 4, "seed": 11])
        f.setTraining(true)
        let x = [GradientCheck.random([batch, 4], seed: 12), GradientCheck.random([batch, 3], seed: 13)]
        try GradientCheck.check(f, inputs: x, outputShapes: [[batch, 4]])
    }

    func testLateFusionWithoutFusionLayerConcatenatesBranches() throws {
        let f = try LateFusion(config: ["inputs": [4, 3, 2], "branch": [5, 3], "seed": 14])
        XCTAssertEqual(f.resolvedDescription["outputs"]?.arrayValue?.first?["dims"], ["B", 9])
        let x = [GradientCheck.random([batch, 4], seed: 15), GradientCheck.random([batch, 3], seed: 16),
                 GradientCheck.random([batch, 2], seed: 17)]
        try GradientCheck.check(f, inputs: x, outputShapes: [[batch, 9]])
    }

    func testAttentionFusionBackwardThroughBothOutputs() throws {
        let f = try AttentionFusion(config: ["inputs": [4, 3, 5], "dim": 6, "seed": 21])
        let x = [GradientCheck.random([batch, 4], seed: 22), GradientCheck.random([batch, 3], seed: 23),
                 GradientCheck.random([batch, 5], seed: 24)]
        // Fused output only, then fused output plus the attention weights.
        try GradientCheck.check(f, inputs: x, outputShapes: [[batch, 6]])
        try GradientCheck.check(f, inputs: x, outputShapes: [[batch, 6], [batch, 3]], seed: 123)
    }

    func testAttentionWeightsAreAProbabilityDistributionPerSample() throws {
        let f = try AttentionFusion(config: ["inputs": [4, 3], "dim": 5, "seed": 25])
        let out = try f.forward([.array(GradientCheck.random([batch, 4], seed: 26, scale: 3)),
                                 .array(GradientCheck.random([batch, 3], seed: 27, scale: 3))])
        let w = try XCTUnwrap(out.last?.array)
        XCTAssertEqual(w.shape, [batch, 2])
        for r in 0..<batch {
            XCTAssertEqual(w.data[2 * r] + w.data[2 * r + 1], 1, accuracy: 1e-6)
            XCTAssertTrue(w.data[2 * r] > 0 && w.data[2 * r + 1] > 0)
        }
    }

    func testProjectionFusionBackward() throws {
        for activation in ["none", "relu", "tanh"] {
            let f = try ProjectionFusion(config: ["inputs": [4, 6], "dim": 3, "activation": .string(activation),
                                                  "dropout": 0.0, "seed": 31])
            let x = [GradientCheck.random([batch, 4], seed: 32), GradientCheck.random([batch, 6], seed: 33)]
            try GradientCheck.check(f, inputs: x, outputShapes: [[batch, 6]])
        }
    }

    /// With dropout active, y = x ⊙ mask and backward of ones returns the mask: dx ⊙ x = y exactly.
    func testDropoutBackwardUsesTheForwardMask() throws {
        let f = try ProjectionFusion(config: ["inputs": [4], "dim": 50, "dropout": 0.5, "seed": 41])
        f.setTraining(true)
        let y = try XCTUnwrap(try f.forward([.array(GradientCheck.random([batch, 4], seed: 42))]).first?.array)
        let zeros = y.data.filter { $0 == 0 }.count
        XCTAssertGreaterThan(zeros, y.count / 4, "about half the elements are dropped")
        XCTAssertLessThan(zeros, 3 * y.count / 4)
        // Project through a known linear map: compare with the undropped projection in evaluation mode.
        f.setTraining(false)
        let clean = try XCTUnwrap(try f.forward([.array(GradientCheck.random([batch, 4], seed: 42))]).first?.array)
        f.setTraining(true)
        let y2 = try XCTUnwrap(try f.forward([.array(GradientCheck.random([batch, 4], seed: 42))]).first?.array)
        let ones = NDArray(zeros: y2.shape).data.map { _ in Float(1) }
        _ = try f.backward([try NDArray(shape: y2.shape, data: ones)])
        for i in 0..<y2.count {
            XCTAssertTrue(y2.data[i] == 0 || abs(y2.data[i] - 2 * clean.data[i]) <= 1e-5 * max(1, abs(clean.data[i])),
                          "kept elements are scaled by 1/(1 − p)")
        }
    }
}
