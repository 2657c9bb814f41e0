import EmoCore
import EmoPipeline
import EmoRuntime
import Foundation
import XCTest

/// Token attribution through the `roberta` plugin and a two-group head (audio held, text varying, text group
/// scaled), against Captum's LayerIntegratedGradients on the same Hugging Face model (fixture from
/// Tests/Reference/token_explain_reference.py). Encoder and explainer are loaded through `PluginHost`, so every
/// call crosses the plugin C ABI.
///
/// Tolerance: |ours − Captum| ≤ 1e-4 · max|Captum attribution| per embedding value and per token, and the
/// convergence delta within 1e-5 of Captum's (the bounds; the scale is explained in WaveformExplainTests).
final class TokenExplainTests: XCTestCase {
    struct Fixture: Decodable {
        typealias Tensor = FixtureTensor
        struct Head: Decodable { var weight: Tensor; var bias: Tensor }
        struct IGCase: Decodable {
            var method: String
            var n_steps: Int
            var attributions: Tensor
            var per_token: [Float]
            var delta: [Float]
        }
        var checkpoint: String
        var ids: [Int64]
        var baseline_ids: [Int64]
        var tokens: [String]
        var shift: [Double]
        var scale: [Double]
        var audio: Tensor
        var head: Head
        var target: Int
        var probabilities: [Float]
        var f_x: Float
        var f_baseline: Float
        var ig: [IGCase]
    }

    /// Audio group `[B, A]` and text group `[B, C]` concatenated, then `x Wᵀ + b`.
    final class ConcatLinearHead: GroupsToLogits {
        let weight: NDArray  // [K, A + C]
        let bias: NDArray    // [K]
        private var widths: [Int] = []
        init(weight: NDArray, bias: NDArray) {
            self.weight = weight
            self.bias = bias
        }
        func logits(_ groups: [NDArray]) throws -> NDArray {
            widths = groups.map { $0.shape[1] }
            let b = groups[0].shape[0], k = weight.shape[0], d = weight.shape[1]
            var out = NDArray(zeros: [b, k])
            for r in 0..<b {
                let row = groups.flatMap { Array($0.data[(r * $0.shape[1])..<((r + 1) * $0.shape[1])]) }
                for j in 0..<k { out.data[r * k + j] = bias.data[j] + (0..<d).reduce(0) { $0 + row[$1] * weight.data[j * d + $1] } }
            }
            return out
        }
        func groupGradients(_ dLogits: NDArray) throws -> [NDArray] {
            let b = dLogits.shape[0], k = weight.shape[0], d = weight.shape[1]
            var offset = 0
            return widths.map { w in
                var g = NDArray(zeros: [b, w])
                for r in 0..<b { for i in 0..<w { for j in 0..<k { g.data[r * w + i] += dLogits.data[r * k + j] * weight.data[j * d + offset + i] } } }
                offset += w
                return g
            }
        }
    }

    private func load() throws -> (Fixture, TokenModel, host: PluginHost, input: NDArray, baseline: NDArray) {
        let root = TestPlugins.repoRoot
        let url = root.appendingPathComponent("Tests/EmoPipelineTests/Fixtures/tokens/token_explain.json")
        let f = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let host = try TestPlugins.sharedHost()
        let encoder = try host.instantiate(id: "roberta", config: [
            "model": .string(root.appendingPathComponent(f.checkpoint).path), "pooling": "cls", "token_embeddings": true])
        // Word embeddings of the text's ids and of the baseline ids, from the plugin itself.
        func words(_ ids: [Int64]) throws -> NDArray {
            let out = try encoder.forward([.ids(shape: [1, ids.count], values: ids)])
            return try XCTUnwrap(out.last?.array, "roberta returned no word embeddings")
        }
        let input = try words(f.ids), baseline = try words(f.baseline_ids)
        let c = input.shape[2]
        let head = try GroupHead(head: ConcatLinearHead(weight: try f.head.weight.array(), bias: try f.head.bias.array()),
                                 groups: [try f.audio.array(), NDArray(zeros: [1, c])], varying: 1,
                                 scaling: ColumnAffine(shift: f.shift, scale: f.scale))
        let model = TokenModel(encoder: encoder, ids: f.ids, head: head, classes: f.head.bias.data.count)
        return (f, model, host, input, baseline)
    }

    private func check(_ label: String, _ ours: [Float], _ reference: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, reference.count, file: file, line: line)
        let scale = reference.map { Double(abs($0)) }.max() ?? 0
        let diff = zip(ours, reference).map { Double(abs($0 - $1)) }.max() ?? 0
        print("token parity \(label): max |diff| \(diff), scale \(scale)")
        XCTAssertLessThanOrEqual(diff, 1e-4 * scale + 1e-7, "\(label): max |diff| \(diff), scale \(scale)", file: file, line: line)
    }

    func testScoresMatchTheReferenceChain() throws {
        let (f, model, _, input, baseline) = try load()
        let p = try model.scores(input)
        for (a, r) in zip(p.data, f.probabilities) { XCTAssertEqual(a, r, accuracy: 1e-5) }
        XCTAssertEqual(try model.scores(baseline).data[f.target], f.f_baseline, accuracy: 1e-5)
        XCTAssertTrue(model.isDifferentiable)
    }

    func testIntegratedGradientsOverTokensMatchCaptum() throws {
        let (f, model, host, input, baseline) = try load()
        for c in f.ig {
            let ig = try host.instantiate(id: "integrated-gradients", config: [
                "method": .string(c.method), "n_steps": .number(Double(c.n_steps)), "baseline": "given"])
            let a = try ig.explain(model: model, input: input, baseline: baseline, targets: [f.target])
            check("\(c.method) values", a.values.data, c.attributions.data)
            check("\(c.method) per token", TokenModel.perToken(a.values), c.per_token)
            let ours = try XCTUnwrap(a.delta?.first), theirs = try XCTUnwrap(c.delta.first)
            XCTAssertEqual(ours, theirs, accuracy: 1e-5, c.method)
            if c.method == "gausslegendre" {
                // Completeness: Σ attributions = F(x) − F(baseline) up to the (tiny) delta.
                XCTAssertEqual(TokenModel.perToken(a.values).reduce(0, +), f.f_x - f.f_baseline, accuracy: 1e-4)
            }
        }
    }

    func testWrongShapeIsRejectedWithTheExpectedShape() throws {
        let (f, model, _, _, _) = try load()
        XCTAssertThrowsError(try model.scores(NDArray(zeros: [1, f.ids.count + 1, 32]))) { error in
            XCTAssertTrue("\(error)".contains("[B, \(f.ids.count), C]"), "\(error)")
        }
    }
}
