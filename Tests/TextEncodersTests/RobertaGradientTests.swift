import EmoCore
import EmoTextEncoders
import Foundation
import XCTest

/// RoBERTa's input gradient (d pooled · R / d word embeddings) against torch.autograd on the tiny checkpoint.
final class RobertaGradientTests: XCTestCase {
    static let modelFolder = Fixtures.folder.appendingPathComponent("tiny-roberta").path

    func testWordEmbeddingGradientMatchesTorchAutograd() throws {
        let fx = try Fixtures.json("tiny_roberta_activations.json")
        let ids = try XCTUnwrap(fx["input_ids"] as? [[Any]]).map { ints($0) }
        let b = ids.count, t = ids[0].count
        let cases = try XCTUnwrap(fx["gradients"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 4)
        for c in cases {
            let pooling = try XCTUnwrap(c["pooling"] as? String)
            let layer = try XCTUnwrap(c["layer"] as? Int)
            let alpha = Float(try XCTUnwrap(c["alpha"] as? Double))
            let encoder = try RobertaEncoder(config: ["model": .string(Self.modelFolder), "max_tokens": 24,
                                                      "pooling": .string(pooling), "layer": .number(Double(layer)),
                                                      "token_embeddings": true])
            // Text forward gives the ids and word embeddings to scale (what an IG explainer does).
            let texts = try XCTUnwrap(fx["texts"] as? [String]).map { Value.text($0) }
            let first = try encoder.forward(texts)
            XCTAssertEqual(first.count, 3)
            guard case .ids(let shape, let values) = first[1] else { return XCTFail("second output must be the token ids") }
            XCTAssertEqual(shape, [b, t])
            XCTAssertEqual(values.map { Int($0) }, ids.joined().map { $0 })
            let words = try XCTUnwrap(first[2].array)
            let scaled = try NDArray(shape: words.shape, data: words.data.map { $0 * alpha })
            let out = try encoder.forward([.array(scaled), first[1]])
            let pooled = try XCTUnwrap(out[0].array)
            let refPooled = floats(c["pooled"])
            let pooledDiff = zip(pooled.data, refPooled).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(pooledDiff, 1e-4, "\(pooling) layer \(layer) alpha \(alpha): pooled output")
            let grads = try encoder.backward([try NDArray(shape: [b, 32], data: floats(c["grad_output"]))])
            XCTAssertEqual(grads.count, 1)
            XCTAssertEqual(grads[0].shape, [b, t, 32])
            let ref = floats(c["grad_input"])
            var diff: Float = 0, scale: Float = 0
            for (x, y) in zip(grads[0].data, ref) { diff = max(diff, abs(x - y)); scale = max(scale, abs(y)) }
            XCTAssertGreaterThan(scale, 0)
            XCTAssertLessThanOrEqual(diff / scale, 1e-4, "\(pooling) layer \(layer) alpha \(alpha): gradient off by \(diff) (scale \(scale))")
            print("tiny-roberta input gradient (\(pooling), hidden state \(layer), alpha \(alpha)): max diff \(diff) / max |grad| \(scale) = \(diff / scale)")
        }
    }

    func testBackwardWithoutADifferentiableForwardIsExplained() throws {
        let encoder = try RobertaEncoder(config: ["model": .string(Self.modelFolder)])
        _ = try encoder.forward([.text("Kids are talking by the door")])
        XCTAssertThrowsError(try encoder.backward([NDArray(zeros: [1, 32])])) {
            XCTAssertTrue("\($0)".contains("word embeddings"), "\($0)")
        }
    }
}
