import EmoCore
import EmoPipeline
import EmoRuntime
import Foundation
import XCTest

/// Waveform attribution through a speech encoder plugin and a linear head, against Captum on the same Hugging Face
/// model (fixture from Tests/Reference/waveform_explain_reference.py). The encoder and both explainers are loaded
/// through `PluginHost`, so every forward, backward and explain call crosses the plugin C ABI.
///
/// Tolerance: |ours − Captum| ≤ 1e-4 · max|Captum attribution| (+ 1e-7 absolute for all-zero cases). The scale is
/// the attribution's own maximum because single elements near zero carry float32 rounding of the whole chain
/// (thousands of summed products through the convolutions and attention), which no per-element relative bound
/// survives; the issue asks 1e-4 relative, and this is relative to what a plot of the attributions shows.
final class WaveformExplainTests: XCTestCase {
    static var repoRoot: URL { TestPlugins.repoRoot }

    /// The fixture the reference script writes.
    struct Fixture: Decodable {
        typealias Tensor = FixtureTensor
        struct Head: Decodable { var weight: Tensor; var bias: Tensor }
        struct IGCase: Decodable {
            var baseline: String
            var method: String
            var n_steps: Int
            var attributions: Tensor
            var delta: [Float]
        }
        struct OcclusionCase: Decodable {
            var window: Int
            var stride: Int
            var baseline: Float
            var attributions: Tensor
        }
        var checkpoint: String
        var head: Head
        var input: Tensor
        var given_baseline: Tensor
        var target: Int
        var probabilities: [Float]
        var f_x: Float
        var f_zero: Float
        var f_given: Float
        var ig: [IGCase]
        var occlusion: OcclusionCase
    }

    /// `[B, C]` → `[B, K]` logits `x Wᵀ + b` with fixed weights, and its input gradient.
    final class LinearHead: DifferentiableComponent {
        let weight: NDArray  // [K, C]
        let bias: NDArray    // [K]
        init(weight: NDArray, bias: NDArray) {
            self.weight = weight
            self.bias = bias
        }
        var info: ComponentInfo {
            ComponentInfo(kind: .classifier, id: "test-linear-head", version: "1", displayName: "test head", manifest: .object([:]))
        }
        var resolvedDescription: JSONValue { .object([:]) }
        func forward(_ inputs: [Value]) throws -> [Value] {
            guard let x = inputs.first?.array else { throw ComponentError.invalidInput(component: "test-linear-head", message: "no input") }
            let (b, c, k) = (x.shape[0], x.shape[1], weight.shape[0])
            var out = NDArray(zeros: [b, k])
            for r in 0..<b {
                for j in 0..<k {
                    var s = bias.data[j]
                    for i in 0..<c { s += x.data[r * c + i] * weight.data[j * c + i] }
                    out.data[r * k + j] = s
                }
            }
            return [.array(out)]
        }
        func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
            guard let g = gradOutputs.first else { throw ComponentError.invalidInput(component: "test-linear-head", message: "no gradient") }
            let (b, k, c) = (g.shape[0], weight.shape[0], weight.shape[1])
            var dx = NDArray(zeros: [b, c])
            for r in 0..<b {
                for i in 0..<c {
                    var s: Float = 0
                    for j in 0..<k { s += g.data[r * k + j] * weight.data[j * c + i] }
                    dx.data[r * c + i] = s
                }
            }
            return [dx]
        }
    }

    /// A plugin host over the plugins built beside the tests, probing into `dir`.
    static func pluginHost(_ dir: String) throws -> PluginHost { try TestPlugins.host(cacheFolder: dir) }

    /// The fixture and the chain; `keepActivations` sets the encoder's tape (backward without recomputation).
    /// The reference script's fixture.
    static func fixture() throws -> Fixture {
        let url = repoRoot.appendingPathComponent("Tests/EmoPipelineTests/Fixtures/waveform/waveform_explain.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// A fresh temporary folder.
    static func temporaryFolder() throws -> String {
        let dir = NSTemporaryDirectory() + "emokit-wave-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    private func load(keepActivations: Bool = false) throws -> (Fixture, WaveformModel, PluginHost) {
        let f = try Self.fixture()
        let host = try Self.pluginHost(try Self.temporaryFolder())
        let checkpoint = Self.repoRoot.appendingPathComponent(f.checkpoint).path
        let encoder = try host.instantiate(id: "wav2vec2", config: ["model": .string(checkpoint),
                                                                     "keep_activations": .bool(keepActivations)])
        let head = LinearHead(weight: try f.head.weight.array(), bias: try f.head.bias.array())
        let model = WaveformModel(encoder: encoder, head: .component(head), classes: f.head.bias.data.count)
        return (f, model, host)
    }

    /// Max |a − r| over max|r|-scaled tolerance; `ratio ≤ 1` passes.
    private func check(_ label: String, _ ours: [Float], _ reference: [Float], relative: Double = 1e-4,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, reference.count, file: file, line: line)
        let scale = reference.map { Double(abs($0)) }.max() ?? 0
        let diff = zip(ours, reference).map { Double(abs($0 - $1)) }.max() ?? 0
        let bound = relative * scale + 1e-7
        print("waveform parity \(label): max |diff| \(diff), scale \(scale), diff/scale \(scale > 0 ? diff / scale : 0)")
        XCTAssertLessThanOrEqual(diff, bound, "max |diff| \(diff) vs bound \(bound) (scale \(scale))", file: file, line: line)
    }

    func testScoresMatchTheReferenceChain() throws {
        let (f, model, _) = try load()
        let p = try model.scores(try f.input.array())
        for (a, r) in zip(p.data, f.probabilities) { XCTAssertEqual(a, r, accuracy: 1e-5) }
        XCTAssertEqual(try model.scores(NDArray(zeros: f.input.shape)).data[f.target], f.f_zero, accuracy: 1e-5)
        XCTAssertTrue(model.isDifferentiable)
    }

    func testIntegratedGradientsMatchCaptumAndAreComplete() throws {
        try checkIntegratedGradients(keepActivations: false)
    }

    /// The same with the encoder keeping its activations (the tape-reading backward `emo explain` uses).
    func testIntegratedGradientsWithKeptActivationsMatchCaptum() throws {
        try checkIntegratedGradients(keepActivations: true)
    }

    private func checkIntegratedGradients(keepActivations: Bool) throws {
        let (f, model, host) = try load(keepActivations: keepActivations)
        let x = try f.input.array()
        for c in f.ig {
            let ig = try host.instantiate(id: "integrated-gradients", config: [
                "method": .string(c.method), "n_steps": .number(Double(c.n_steps)),
                "baseline": .string(c.baseline == "zero" ? "zero" : "given")])
            let baseline = c.baseline == "given" ? try f.given_baseline.array() : nil
            let a = try ig.explain(model: model, input: x, baseline: baseline, targets: [f.target])
            check("ig \(c.baseline) \(c.method) n=\(c.n_steps)", a.values.data, c.attributions.data)
            // Convergence delta against Captum's (the 1e-5), relative to the output difference's scale.
            let ours = try XCTUnwrap(a.delta?.first), theirs = try XCTUnwrap(c.delta.first)
            // One case is held to 5e-5: the zero baseline with a rule that evaluates the path's end point α = 0,
            // exact silence, where the gradient runs through the input normaliser's 1/√1e-7 and the first conv
            // layer's GroupNorm of an all-zero signal (1/√1e-5); there the sum is dominated by that one
            // ill-conditioned step, and any rounding-level change in the forward moves the delta by 1e-5 to 3e-5.
            // Measured on the trapezoid rule (delta 0.89877): direct conv paths 1.4e-6 from Captum; Winograd conv
            // layers alone +1.3e-5; FFT positional conv alone +0.8e-5; both −2.2e-5 (−2.95e-5 with the AVX2/FMA
            // kernels). Every other case: the 1e-5.
            let silentEndpoint = c.baseline == "zero" && (c.method == "riemann_trapezoid" || c.method == "riemann_left")
            XCTAssertEqual(ours, theirs, accuracy: (silentEndpoint ? 5e-5 : 1e-5) * max(1, abs(theirs)), "\(c.baseline) \(c.method)")
            // The delta is what it says: Σ attributions − (F(x) − F(baseline)), with F from the reference.
            let fBase = c.baseline == "zero" ? f.f_zero : f.f_given
            let sum = a.values.data.reduce(0, +)
            print("waveform ig \(c.baseline) \(c.method): delta ours \(ours) Captum \(theirs); sum \(sum), F(x)-F(b) \(f.f_x - fBase)")
            XCTAssertEqual(ours, sum - (f.f_x - fBase), accuracy: 1e-5, "\(c.baseline) \(c.method)")
            if c.baseline == "given" {
                // Completeness: with a baseline whose path stays away from silence, 32 Gauss–Legendre steps
                // integrate the chain to within 1e-3 of the output difference.
                XCTAssertEqual(sum, f.f_x - f.f_given, accuracy: 1e-3 * abs(f.f_x - f.f_given))
            }
        }
    }

    func testOcclusionMatchesCaptum() throws {
        let (f, model, host) = try load()
        let occ = try host.instantiate(id: "occlusion", config: [
            "window": [.number(Double(f.occlusion.window))], "stride": [.number(Double(f.occlusion.stride))],
            "baseline": .number(Double(f.occlusion.baseline))])
        let a = try occ.explain(model: model, input: try f.input.array(), baseline: nil, targets: [f.target])
        check("occlusion", a.values.data, f.occlusion.attributions.data)
    }
}
