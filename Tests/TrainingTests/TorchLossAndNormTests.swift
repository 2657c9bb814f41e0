@testable import EmoPipeline
import EmoLayers
import EmoClassifiers
import EmoCore
import EmoTestSupport
import Foundation
import XCTest

/// The trainer's cross-entropy and the classifiers' batch norm against PyTorch itself (the `cross_entropy` and
/// `batch_norm` entries of Tests/EmoTensorTests/Fixtures/torch_reference.json, made by Tests/Reference/tensor_fixtures.py):
/// `F.cross_entropy` with class weights and label smoothing, and `nn.BatchNorm1d` in training and eval mode.
final class TorchLossAndNormTests: XCTestCase {
    struct Reference: Decodable {
        struct CE: Decodable {
            let logits: [Float]; let targets: [Int]; let weights: [Float]; let label_smoothing: Float
            let loss: Float; let grad: [Float]
        }
        struct BN: Decodable {
            let x: [Float]; let weight: [Float]; let bias: [Float]; let train: [Float]; let eval: [Float]
            let running_mean: [Float]; let running_var: [Float]
        }
        let cross_entropy: CE
        let batch_norm: BN

        static func load() throws -> Reference {
            let url = TestRepository.root.appendingPathComponent("Tests/EmoTensorTests/Fixtures/torch_reference.json")
            return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        }
    }

    func close(_ a: [Float], _ b: [Float], rtol: Float, atol: Float, _ what: String) {
        XCTAssertEqual(a.count, b.count, what)
        for (i, (x, y)) in zip(a, b).enumerated() where abs(x - y) > atol + rtol * abs(y) {
            XCTFail("\(what): element \(i): \(x) vs \(y)")
            return
        }
    }

    func testCrossEntropyMatchesTorch() throws {
        let ref = try Reference.load().cross_entropy
        let k = ref.weights.count
        let ce = CrossEntropy(labelSmoothing: ref.label_smoothing, classWeights: ref.weights)
        let out = ce.evaluate(logits: try NDArray(shape: [ref.targets.count, k], data: ref.logits), labels: ref.targets)
        XCTAssertEqual(out.loss, Double(ref.loss), accuracy: 1e-6 * abs(Double(ref.loss)))
        close(out.gradient.data, ref.grad, rtol: 1e-5, atol: 1e-7, "cross-entropy gradient")
    }

    func testBatchNormLayerMatchesTorch() throws {
        let ref = try Reference.load().batch_norm
        let bn = BatchNormLayer(3)
        bn.weight.value.update(from: ref.weight, count: 3)
        bn.bias.value.update(from: ref.bias, count: 3)
        let train = try Array(UnsafeBufferPointer(start: try bn.forward(ref.x, batch: 5, training: true), count: 15))
        close(train, ref.train, rtol: 1e-5, atol: 1e-6, "train")
        close(Array(UnsafeBufferPointer(start: bn.runningMean.value, count: 3)), ref.running_mean, rtol: 1e-6, atol: 1e-7, "running mean")
        close(Array(UnsafeBufferPointer(start: bn.runningVar.value, count: 3)), ref.running_var, rtol: 1e-6, atol: 1e-7, "running var")
        let eval = try Array(UnsafeBufferPointer(start: try bn.forward(ref.x, batch: 5, training: false), count: 15))
        close(eval, ref.eval, rtol: 1e-5, atol: 1e-6, "eval")
    }
}
