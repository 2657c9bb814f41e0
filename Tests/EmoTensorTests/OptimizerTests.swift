// Optimisers, clipping, schedules and losses against torch (fixture from Tests/Reference/tensor_fixtures.py).
import EmoTestSupport
import Foundation
import XCTest
@testable import EmoTensor

/// The torch results in Tests/EmoTensorTests/Fixtures/torch_reference.json.
struct TorchReference: Decodable {
    struct OptimizerRun: Decodable {
        struct Config: Decodable {
            let kind: String
            let lr: Double
            let momentum: Double?
            let dampening: Double?
            let weight_decay: Double
            let nesterov: Bool?
            let betas: [Double]?
            let eps: Double?
        }
        let config: Config
        let history: [[[Float]]]  // [step][parameter][element]
    }
    struct Clip: Decodable { let max_norm: Double; let total_norm: Double; let clipped: [[Float]] }
    struct Plateau: Decodable {
        let metrics: [Double]; let factor: Double; let patience: Int; let threshold: Double; let cooldown: Int
        let min_lr: Double; let lrs: [Double]
    }
    struct CrossEntropy: Decodable {
        let logits: [Float]; let targets: [Int]; let weights: [Float]; let label_smoothing: Float
        let loss: Float; let grad: [Float]
    }
    struct BatchNorm: Decodable {
        let x: [Float]; let weight: [Float]; let bias: [Float]; let train: [Float]; let eval: [Float]
        let running_mean: [Float]; let running_var: [Float]
    }
    struct EncoderOps: Decodable {
        struct Conv: Decodable {
            let x: [Float]; let weight: [Float]; let bias: [Float]; let stride: Int; let padding: Int
            let dilation: Int; let groups: Int; let y: [Float]; let y_shape: [Int]; let dy: [Float]
            let dx: [Float]; let dw: [Float]; let db: [Float]
        }
        struct Norm: Decodable { let x: [Float]; let gamma: [Float]; let beta: [Float]; let y: [Float]; let groups: Int? }
        struct GELU: Decodable { let x: [Float]; let erf: [Float]; let tanh: [Float] }
        struct Attention: Decodable {
            let q: [Float]; let k: [Float]; let v: [Float]; let bias: [Float]; let mask: [Int]
            let batch: Int; let heads: Int; let head_dim: Int; let tq: Int; let tk: Int; let out: [Float]
        }
        let conv: Conv
        let group_norm: Norm
        let layer_norm: Norm
        let gelu: GELU
        let attention: Attention
    }
    let torch: String
    let encoder_ops: EncoderOps
    let shapes: [[Int]]
    let initial: [[Float]]
    let grads: [[[Float]]]
    let optimizers: [String: OptimizerRun]
    let clip: Clip
    let plateau: Plateau
    let cross_entropy: CrossEntropy
    let batch_norm: BatchNorm

    static func load() throws -> TorchReference {
        let url = TestRepository.root.appendingPathComponent("Tests/EmoTensorTests/Fixtures/torch_reference.json")
        return try JSONDecoder().decode(TorchReference.self, from: Data(contentsOf: url))
    }
}

final class OptimizerTests: XCTestCase {
    /// Largest distance in units in the last place between two Float arrays.
    func maxULP(_ a: [Float], _ b: [Float]) -> Int {
        zip(a, b).map { x, y in
            x == y ? 0 : Int(abs(Int64(Int32(bitPattern: x.bitPattern)) - Int64(Int32(bitPattern: y.bitPattern))))
        }.max() ?? 0
    }

    func testOptimizersMatchTorch() throws {
        let ref = try TorchReference.load()
        for (name, run) in ref.optimizers.sorted(by: { $0.key < $1.key }) {
            let params = ref.initial.enumerated().map { i, values in TestParameter(name: "p\(i)", values: values) }
            let views = params.map(\.view)
            let c = run.config
            let optimizer: Optimizer
            switch c.kind {
            case "sgd":
                optimizer = try SGD(parameters: views, learningRate: c.lr, momentum: c.momentum ?? 0,
                                    dampening: c.dampening ?? 0, weightDecay: c.weight_decay, nesterov: c.nesterov ?? false)
            case "adam":
                optimizer = try Adam(parameters: views, learningRate: c.lr, beta1: c.betas?[0] ?? 0.9,
                                     beta2: c.betas?[1] ?? 0.999, eps: c.eps ?? 1e-8, weightDecay: c.weight_decay)
            default:
                optimizer = try Adam.adamW(parameters: views, learningRate: c.lr, beta1: c.betas?[0] ?? 0.9,
                                           beta2: c.betas?[1] ?? 0.999, eps: c.eps ?? 1e-8, weightDecay: c.weight_decay)
            }
            var worst = 0
            defer { print("\(name): max \(worst) ulp from torch \(ref.torch) over \(run.history.count) steps") }
            for (step, expected) in run.history.enumerated() {
                for (p, g) in zip(params, ref.grads[step]) { p.grad.update(from: g, count: p.count) }
                optimizer.step()
                for (p, e) in zip(params, expected) {
                    // Same operation order as torch's single-tensor CPU path: at most 1 ulp apart (libm sqrt/pow).
                    let ulp = maxULP(p.values, e)
                    worst = max(worst, ulp)
                    XCTAssertLessThanOrEqual(ulp, 1, "\(name) step \(step + 1) \(p.name)")
                }
            }
        }
    }

    func testClipGradientNormMatchesTorch() throws {
        let ref = try TorchReference.load()
        let params = ref.grads[0].map { TestParameter(name: "p", values: $0) }
        for (p, g) in zip(params, ref.grads[0]) { p.grad.update(from: g, count: p.count) }
        let total = clipGradientNorm(params.map(\.view), maxNorm: ref.clip.max_norm)
        XCTAssertEqual(total, ref.clip.total_norm, accuracy: 1e-6 * ref.clip.total_norm)
        for (p, e) in zip(params, ref.clip.clipped) {
            assertClose(Array(UnsafeBufferPointer(start: p.grad, count: p.count)), e, rtol: 1e-6, atol: 0, "clipped")
        }
    }

    func testReduceLROnPlateauMatchesTorch() throws {
        let ref = try TorchReference.load().plateau
        let p = TestParameter(name: "p", values: [0])
        let sgd = try SGD(parameters: [p.view], learningRate: 0.1)
        let scheduler = try ReduceLROnPlateau(mode: .min, factor: ref.factor, patience: ref.patience,
                                              threshold: ref.threshold, cooldown: ref.cooldown,
                                              minLearningRate: ref.min_lr)
        var lrs: [Double] = []
        for m in ref.metrics {
            scheduler.step(metric: m, optimizer: sgd)
            lrs.append(sgd.learningRate)
        }
        XCTAssertEqual(lrs, ref.lrs)
    }

    func testLinearWarmupDecay() throws {
        let s = try LinearWarmupDecay(baseLearningRate: 1e-3, warmupSteps: 10, totalSteps: 110)
        // From the definition: step/10 during warm-up, then (110 − step)/100.
        XCTAssertEqual(s.learningRate(at: 0), 0)
        XCTAssertEqual(s.learningRate(at: 5), 5e-4, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(at: 10), 1e-3, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(at: 60), 5e-4, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(at: 110), 0)
        XCTAssertEqual(s.learningRate(at: 200), 0)
        XCTAssertThrowsError(try LinearWarmupDecay(baseLearningRate: 1, warmupSteps: 5, totalSteps: 3))
    }

    func testEarlyStoppingRestoresBestState() throws {
        var values: [Float] = [1, 1], grads: [Float] = [0, 0]
        try values.withUnsafeMutableBufferPointer { v in
            try grads.withUnsafeMutableBufferPointer { g in
                let view = try XCTUnwrap(v.baseAddress.flatMap { vp in g.baseAddress.map { ParameterView(value: vp, grad: $0, count: 2) } })
                let stopper = EarlyStopping(mode: .min, patience: 2, minDelta: 0.01)
                let losses = [1.0, 0.8, 0.795, 0.9]  // best at epoch 1; 0.795 is not better by minDelta
                var stoppedAt: Int?
                for (epoch, loss) in losses.enumerated() {
                    v[0] = Float(epoch); v[1] = Float(epoch) * 2
                    if stopper.update(metric: loss, parameters: [view]) { stoppedAt = epoch; break }
                }
                XCTAssertEqual(stoppedAt, 3)
                XCTAssertEqual(stopper.bestEpoch, 1)
                try stopper.restoreBest(into: [view])
            }
        }
        XCTAssertEqual(values, [1, 2])
    }
}
