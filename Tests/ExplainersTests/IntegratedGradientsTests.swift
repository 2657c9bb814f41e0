import EmoCore
@testable import EmoExplainers
import XCTest

/// Integrated Gradients against Captum 0.9 on the fixture MLP and conv toy, plus completeness and errors.
final class IntegratedGradientsTests: XCTestCase {
    /// An explainer with the manifest defaults overridden by `config`.
    func explainer(_ config: JSONValue) throws -> IntegratedGradients {
        try IntegratedGradients(config: IntegratedGradients.componentInfo.configDefaults.merging(config))
    }

    /// Every (baseline, method) case of one model: attributions within 1e-4 relative, delta within 1e-5.
    func checkParity(_ m: CaptumFixture.Model, model: ExplainableModel, maxBatchElements: Int) throws {
        let x = try m.input.array()
        XCTAssertEqual(m.integrated_gradients.cases.count, 15)
        var worst = 0.0, worstDelta = 0.0
        defer { print("IG parity: worst attribution ratio \(worst) (≤ 1 passes), worst |Δdelta| \(worstDelta)") }
        for c in m.integrated_gradients.cases {
            let ig = try explainer(["method": .string(c.method), "n_steps": .number(Double(c.n_steps)),
                                    "baseline": c.baseline == "zero" ? "zero" : c.baseline == "mean" ? "mean" : "given",
                                    "max_batch_elements": .number(Double(maxBatchElements))])
            let given = c.baseline == "given" ? try XCTUnwrap(m.integrated_gradients.baselines["given"]).array() : nil
            let result = try ig.explain(model: model, input: x, baseline: given, targets: m.targets)
            XCTAssertEqual(result.values.shape, c.attributions.shape)
            let check = attributionCloseness(result.values.data, c.attributions.data)
            XCTAssertLessThanOrEqual(check.ratio, 1, "\(c.baseline) \(c.method): \(check.message)")
            worst = max(worst, check.ratio)
            let delta = try XCTUnwrap(result.delta)
            for (d, ref) in zip(delta, c.delta) {
                XCTAssertEqual(d, ref, accuracy: 1e-5, "\(c.baseline) \(c.method): delta")
                worstDelta = max(worstDelta, Double(abs(d - ref)))
            }
        }
    }

    func testMLPParityWithCaptum() throws {
        let f = try CaptumFixture.shared()
        try checkParity(f.mlp, model: try ToyMLP(f.mlp), maxBatchElements: 4_194_304)
    }

    func testConvParityWithCaptum() throws {
        let f = try CaptumFixture.shared()
        try checkParity(f.conv, model: try ToyConv(f.conv), maxBatchElements: 4_194_304)
    }

    /// A tight memory bound (one or a few rows per call) changes the batching, not the result.
    func testMemoryBoundKeepsResultsAndBatchSizes() throws {
        let f = try CaptumFixture.shared()
        let x = try f.mlp.input.array()
        let recorder = CallRecorder(try ToyMLP(f.mlp))
        let bounded = try explainer(["method": "riemann_middle", "n_steps": 50, "max_batch_elements": .number(Double(7 * 60 + 1))])
        let whole = try explainer(["method": "riemann_middle", "n_steps": 50])
        let a = try bounded.explain(model: recorder, input: x, baseline: nil, targets: f.mlp.targets)
        let b = try whole.explain(model: try ToyMLP(f.mlp), input: x, baseline: nil, targets: f.mlp.targets)
        XCTAssertLessThanOrEqual(closeness(a.values.data, b.values.data, relative: 1e-6, absolute: 1e-9).ratio, 1)
        XCTAssertTrue(recorder.batchElements.allSatisfy { $0 <= 7 * 60 }, "\(recorder.batchElements)")
        XCTAssertEqual(recorder.batchElements.filter { $0 == 7 * 60 }.count, 200 / 7)
    }

    /// Completeness: Σ attributions ≈ F(x) − F(baseline) (Sundararajan et al., axiom). The trained ReLU MLP's
    /// integrand jumps where a unit switches, so quadrature converges like 1/N: 1000 steps, tolerance 1e-3.
    /// The reported delta must be exactly that gap.
    func testCompleteness() throws {
        let f = try CaptumFixture.shared()
        for (m, model) in [(f.mlp, try ToyMLP(f.mlp) as ExplainableModel), (f.conv, try ToyConv(f.conv))] {
            let x = try m.input.array()
            let ig = try explainer(["method": "gausslegendre", "n_steps": 1000])
            let attr = try ig.explain(model: model, input: x, baseline: nil, targets: m.targets)
            let delta = try XCTUnwrap(attr.delta)
            let fx = try model.scores(x), f0 = try model.scores(NDArray(zeros: x.shape))
            let rows = x.shape[0], perRow = x.count / rows, k = model.numClasses
            for b in 0..<rows {
                let sum = attr.values.data[(b * perRow)..<((b + 1) * perRow)].reduce(0.0) { $0 + Double($1) }
                let t = m.targets[b]
                let change = Double(fx.data[b * k + t] - f0.data[b * k + t])
                XCTAssertEqual(sum, change, accuracy: 1e-3 * max(1, abs(change)), "row \(b)")
                XCTAssertEqual(Double(delta[b]), sum - change, accuracy: 1e-5, "row \(b): delta")
            }
        }
    }

    /// A baseline may be one row (`[F]` or `[1, F]`) shared by every input row.
    func testOneRowBaselineIsBroadcast() throws {
        let f = try CaptumFixture.shared()
        let model = try ToyMLP(f.mlp), x = try f.mlp.input.array()
        let row = (0..<60).map { Float($0 % 7) * 0.1 - 0.3 }
        let full = try NDArray(shape: [4, 60], data: Array([[Float]](repeating: row, count: 4).joined()))
        let ig = try explainer(["method": "riemann_right", "n_steps": 8])
        let a = try ig.explain(model: model, input: x, baseline: full, targets: f.mlp.targets)
        for shape in [[60], [1, 60]] {
            let b = try ig.explain(model: model, input: x, baseline: try NDArray(shape: shape, data: row), targets: f.mlp.targets)
            XCTAssertEqual(a, b, "\(shape)")
        }
    }

    func testNotDifferentiableIsAClearError() throws {
        let f = try CaptumFixture.shared()
        let ig = try explainer([:])
        XCTAssertThrowsError(try ig.explain(model: BlackBox(inner: try ToyMLP(f.mlp)), input: try f.mlp.input.array(),
                                            baseline: nil, targets: f.mlp.targets)) { error in
            XCTAssertTrue(String(describing: error).contains("not differentiable"), "\(error)")
            XCTAssertTrue(String(describing: error).contains("occlusion"), "\(error)")
        }
    }

    func testConfigAndInputErrors() throws {
        XCTAssertThrowsError(try explainer(["method": "simpson"]))
        XCTAssertThrowsError(try explainer(["method": "riemann_left", "n_steps": 1]))
        XCTAssertNoThrow(try explainer(["method": "gausslegendre", "n_steps": 1]))
        XCTAssertThrowsError(try explainer(["baseline": "median"]))
        let f = try CaptumFixture.shared()
        let model = try ToyMLP(f.mlp), x = try f.mlp.input.array()
        let ig = try explainer([:])
        XCTAssertThrowsError(try ig.explain(model: model, input: x, baseline: nil, targets: [0]))
        XCTAssertThrowsError(try ig.explain(model: model, input: x, baseline: nil, targets: [0, 1, 2, 7]))
        XCTAssertThrowsError(try ig.explain(model: model, input: x, baseline: NDArray(zeros: [59]), targets: f.mlp.targets))
        XCTAssertThrowsError(try explainer(["baseline": "given"]).explain(model: model, input: x, baseline: nil,
                                                                          targets: f.mlp.targets))
    }
}
