import EmoCore
import EmoPipeline
import EmoRuntime
import Foundation
import XCTest

/// Waveform attribution of a bundle-shaped chain: tiny wav2vec2 group + a fixed handcrafted group, standard
/// scaling fitted on a few rows, early fusion and an MLP (random initial weights, plugins through the C ABI).
/// `GroupHead` must reproduce scaler + chain exactly, and its gradient to the samples must match central
/// finite differences of the scores (expected values from the definition, not from our code).
final class WaveformExplainBundleTests: XCTestCase {
    func testGroupHeadReproducesScalerAndChainAndDifferentiatesToTheSamples() throws {
        let f = try WaveformExplainTests.fixture()
        let host = try WaveformExplainTests.pluginHost(try WaveformExplainTests.temporaryFolder())
        let checkpoint = WaveformExplainTests.repoRoot.appendingPathComponent(f.checkpoint).path
        let encoder = try host.instantiate(id: "wav2vec2", config: ["model": .string(checkpoint), "keep_activations": true])
        let x = try f.input.array()                                                    // [1, N]
        let emb = try XCTUnwrap(try encoder.forward([.array(x)]).first?.array).data    // [C]
        let c = emb.count, hand: [Float] = [0.3, -0.2, 0.5]
        let layout = FeatureLayout(groups: [.init(name: "wav2vec2", width: c), .init(name: "handcrafted", width: 3)])
        // Six training rows around the clip's row, so the scaler's statistics are non-trivial.
        var rows = [Float]()
        for r in 0..<6 {
            rows += emb.enumerated().map { j, v in v + Float((r * 7 + j * 3) % 11) / 20 - 0.25 }
            rows += hand.enumerated().map { j, v in v * Float(r + 1) / 3 + Float(j) }
        }
        let table = try FeatureTable(values: try NDArray(shape: [6, c + 3], data: rows), layout: layout)
        let split = Split(name: "fit", train: Array(0..<6), test: [], items: (0..<6).map { _ in LabelledItem(label: "a") })
        let scaler = try ScalingSpec(method: .standard).fit(table, layout: layout, split: split)
        let fusion = try host.instantiate(id: "early", config: ["inputs": [.number(Double(c)), 3]])
        let mlp = try host.instantiate(id: "mlp", config: ["inputs": .number(Double(c + 3)), "classes": 3, "hidden": [8], "seed": 7])
        let chain = TrainingChain(fusion: fusion, classifier: mlp)
        chain.setTraining(false)

        // The reference path: FittedScaler.transform, then the chain on the split groups.
        let scaled = try scaler.transform(try NDArray(shape: [1, c + 3], data: emb + hand)).values
        let logits = try chain.forward([try NDArray(shape: [1, c], data: Array(scaled.data[0..<c])),
                                        try NDArray(shape: [1, 3], data: Array(scaled.data[c...]))]).data
        let mx = logits.max() ?? 0
        let e = logits.map { expf($0 - mx) }
        let expected = e.map { $0 / e.reduce(0, +) }

        let head = try GroupHead(chain: chain, scaler: scaler, group: 0, scaledRow: scaled)
        let model = WaveformModel(encoder: encoder, head: .component(head), classes: 3)
        XCTAssertTrue(model.isDifferentiable)
        let p = try model.scores(x).data
        for k in 0..<3 { XCTAssertEqual(p[k], expected[k], accuracy: 1e-6, "class \(k)") }

        // d p[target] / d samples against central differences on the largest-gradient samples and a few fixed ones.
        let target = p.indices.max { p[$0] < p[$1] } ?? 0
        let g = try model.gradient(x, targets: [target]).data
        let scale = g.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 0)
        let n = x.count
        let picks = Array(g.indices.sorted { abs(g[$0]) > abs(g[$1]) }.prefix(4)) + [0, n / 2, n - 1]
        let eps: Float = 1e-2
        for i in picks {
            var xp = x, xm = x
            xp.data[i] += eps
            xm.data[i] -= eps
            let fd = (Double(try model.scores(xp).data[target]) - Double(try model.scores(xm).data[target])) / Double(2 * eps)
            XCTAssertEqual(Double(g[i]), fd, accuracy: 0.05 * Double(scale), "sample \(i)")
        }

        // Both explainers through BundleWaveform; IG's delta is Σ attributions − (F(x) − F(0)).
        let a = try BundleWaveform.attribute(samples: x.data, target: target, host: host, igConfig: ["n_steps": 8],
                                             occlusionConfig: ["window": [.number(Double(n / 8))], "stride": [.number(Double(n / 8))]]) { tape in
            guard !tape else { return model }
            // Occlusion's model as `emo explain` makes it: a second encoder instance without the tape (its forward
            // splits the batch across threads); the attributions must not change.
            let plain = try host.instantiate(id: "wav2vec2", config: ["model": .string(checkpoint), "keep_activations": false])
            return WaveformModel(encoder: plain, head: .component(head), classes: 3)
        }
        let occ = try host.instantiate(id: "occlusion", config: ["window": [.number(Double(n / 8))], "stride": [.number(Double(n / 8))]])
        let taped = try occ.explain(model: model, input: x, baseline: nil, targets: [target]).values.data
        let occScale = taped.map(abs).max() ?? 0
        for i in stride(from: 0, to: n, by: max(1, n / 64)) {
            XCTAssertEqual(a.occlusion[i], taped[i], accuracy: 1e-5 * max(occScale, 1e-3), "occlusion with and without the tape, sample \(i)")
        }
        XCTAssertEqual(a.integratedGradients.count, n)
        XCTAssertEqual(a.occlusion.count, n)
        let f0 = try model.scores(NDArray(zeros: [1, n])).data[target]
        let delta = try XCTUnwrap(a.delta)
        XCTAssertEqual(delta, a.integratedGradients.reduce(0, +) - (p[target] - f0), accuracy: 1e-5)
        XCTAssertTrue(a.occlusion.contains { $0 != 0 })
    }
}
