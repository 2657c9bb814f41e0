@testable import EmoPipeline
import EmoClassifiers
import EmoCore
import EmoTensor
import XCTest

/// A stand-in fine-tuned encoder: each text `"k"` maps to row k of a learned `[V, C]` table (what an embedding
/// layer does), so the trainer's handling of encoder parameters can be checked exactly.
private final class TableEncoder: TrainableComponent, @unchecked Sendable {
    static let componentInfo = ComponentInfo(kind: .encoder, id: "table-encoder", version: "1.0.0", displayName: "table",
                                             manifest: ["trainable": true])
    let rows: Int, width: Int, exposes: Bool
    let table: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>
    private var lastIDs: [Int] = []
    /// The gradient each backward added, in call order.
    var seen: [[Float]] = []

    init(rows: Int, width: Int, exposes: Bool = true) {
        (self.rows, self.width, self.exposes) = (rows, width, exposes)
        table = .allocate(capacity: rows * width)
        grad = .allocate(capacity: rows * width)
        for i in 0..<(rows * width) { table[i] = Float(i % 7) * 0.1 - 0.3 }
        grad.initialize(repeating: 0, count: rows * width)
    }

    var info: ComponentInfo { Self.componentInfo }
    var resolvedDescription: JSONValue { ["config": [:], "outputs": [["name": "embedding", "dims": ["B", .number(Double(width))]]]] }

    deinit { table.deallocate(); grad.deallocate() }

    var parameters: [ParameterBuffer] {
        exposes ? [ParameterBuffer(name: "table", shape: [rows, width], value: table, grad: grad)] : []
    }
    func setTraining(_ training: Bool) {}
    func saveState() throws -> [UInt8] { Array(UnsafeRawBufferPointer(start: table, count: rows * width * 4)) }
    func loadState(_ bytes: [UInt8]) throws {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.bindMemory(to: Float.self).baseAddress else { return }
            table.update(from: base, count: rows * width)
        }
    }

    func forward(_ inputs: [Value]) throws -> [Value] {
        lastIDs = inputs.compactMap { $0.text.flatMap { Int($0) } }
        var out: [Float] = []
        for id in lastIDs { out += UnsafeBufferPointer(start: table + id * width, count: width) }
        return [.array(try NDArray(shape: [lastIDs.count, width], data: out))]
    }

    func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        let g = gradOutputs[0].data
        let before = Array(UnsafeBufferPointer(start: grad, count: rows * width))
        for (r, id) in lastIDs.enumerated() { for k in 0..<width { grad[id * width + k] += g[r * width + k] } }
        seen.append(zip(UnsafeBufferPointer(start: grad, count: rows * width), before).map { $0 - $1 })
        return []
    }
}

/// The trainer with a fine-tuned encoder in the chain: per-group learning rates, live inputs, refusal.
final class FineTuneTrainerTests: XCTestCase {
    private func data(_ n: Int) throws -> TrainingSet {
        try TrainingSet(groups: [NDArray(zeros: [n, 0])], labels: (0..<n).map { $0 % 2 }, classes: 2,
                        liveInputs: [0: (0..<n).map { .text("\($0 % 4)") }])
    }

    func testEncoderStepsAtItsOwnLearningRateWithTheSharedSchedule() throws {
        let encoder = TableEncoder(rows: 4, width: 3)
        let head = try LogisticClassifier(config: ["inputs": 3, "classes": 2, "seed": 1])
        let chain = TrainingChain(encoders: [0: encoder], encoderLearningRates: [0: 0.5], fusion: nil, classifier: head)
        var c = TrainingConfig()
        c.optimizer = .sgd
        c.learningRate = 0.1
        c.batchSize = 8
        c.maxEpochs = 1
        c.shuffle = false
        c.warmup = .init(fraction: 0.5, schedule: .constant)  // 2 steps: step 0 at rate 0, step 1 at the peak
        let start = Array(UnsafeBufferPointer(start: encoder.table, count: 12))
        let result = try Trainer(config: c).train(chain, on: try data(16))
        XCTAssertEqual(result.steps, 2)
        XCTAssertEqual(encoder.seen.count, 2, "one encoder backward per step")
        // Step 0 has rate 0 (warm-up), step 1 the encoder's own peak 0.5 (not the head's 0.1): w1 = w0 − 0.5 g1.
        let end = Array(UnsafeBufferPointer(start: encoder.table, count: 12))
        for i in 0..<12 { XCTAssertEqual(end[i], start[i] - 0.5 * encoder.seen[1][i], accuracy: 1e-6, "table[\(i)]") }
        XCTAssertTrue(encoder.seen[1].contains { $0 != 0 })
        // Live inputs follow the rows through the validation split and predict.
        let logits = try chain.predict(try data(6).groups, live: try data(6).liveInputs, batchSize: 4)
        XCTAssertEqual(logits.shape, [6, 2])
    }

    func testAnEncoderWithoutParametersIsRefusedByName() throws {
        let head = try LogisticClassifier(config: ["inputs": 3, "classes": 2, "seed": 1])
        let chain = TrainingChain(encoders: [0: TableEncoder(rows: 4, width: 3, exposes: false)], fusion: nil, classifier: head)
        XCTAssertThrowsError(try Trainer(config: TrainingConfig()).train(chain, on: try data(8))) {
            XCTAssertTrue("\($0)".contains("cannot fine-tune component table-encoder: it exposes no parameters"), "\($0)")
        }
        // A live group whose inputs are missing from the batch is named too.
        let missing = try TrainingSet(groups: [NDArray(zeros: [8, 0])], labels: (0..<8).map { $0 % 2 }, classes: 2)
        let ok = TrainingChain(encoders: [0: TableEncoder(rows: 4, width: 3)], fusion: nil, classifier: head)
        XCTAssertThrowsError(try Trainer(config: TrainingConfig()).train(ok, on: missing)) {
            XCTAssertTrue("\($0)".contains("carries no inputs"), "\($0)")
        }
    }

    /// Clips of a live audio group reach the encoder as one zero-padded `[B, S]` batch with its lengths, the speech
    /// encoders' input; texts pass as they are; a group mixing the two is refused.
    func testLiveClipsArePaddedIntoOneBatchWithTheirLengths() throws {
        let clips: [Value] = [.array(try NDArray(shape: [3], data: [1, 2, 3])), .array(try NDArray(shape: [5], data: [4, 5, 6, 7, 8]))]
        let batch = try TrainingChain.encoderInput(clips)
        XCTAssertEqual(batch.count, 2)
        XCTAssertEqual(batch[0].array?.shape, [2, 5])
        XCTAssertEqual(batch[0].array?.data, [1, 2, 3, 0, 0, 4, 5, 6, 7, 8])
        XCTAssertEqual(batch[1].array?.data, [3, 5])
        XCTAssertEqual(try TrainingChain.encoderInput([.text("a"), .text("b")]).compactMap(\.text), ["a", "b"])
        XCTAssertThrowsError(try TrainingChain.encoderInput([.text("a")] + clips)) {
            XCTAssertTrue("\($0)".contains("all texts or all one-dimensional clips"), "\($0)")
        }
    }
}
