import EmoTestSupport
import EmoCore
import Foundation
import XCTest

/// `Tests/ExplainersTests/Fixtures/captum_reference.json`, written by `Tests/Reference/captum_reference.py`.
struct CaptumFixture: Decodable {
    /// A tensor as the script writes it.
    struct Tensor: Decodable {
        let shape: [Int]
        let data: [Float]
        /// As an NDArray.
        func array() throws -> NDArray { try NDArray(shape: shape, data: data) }
    }
    /// Captum's step sizes and alphas for one method and n.
    struct Rule: Decodable {
        let step_sizes: [Double]
        let alphas: [Double]
    }
    /// One `IntegratedGradients.attribute` call.
    struct IGCase: Decodable {
        let baseline: String
        let method: String
        let n_steps: Int
        let attributions: Tensor
        let delta: [Float]
    }
    /// All IG calls of one model, with the baselines they used.
    struct IGCases: Decodable {
        let baselines: [String: Tensor]
        let cases: [IGCase]
    }
    /// One `Occlusion.attribute` call.
    struct OcclusionCase: Decodable {
        let input_shape: [Int]
        let window: [Int]
        let stride: [Int]
        let baseline: Float
        /// A baseline tensor (replaces `baseline` when present).
        let baseline_values: Tensor?
        let attributions: Tensor
    }
    /// `FeatureAblation.attribute` with a group mask.
    struct Ablation: Decodable {
        let groups: [[Int]]
        let baseline: Float
        let attributions: Tensor
    }
    /// One toy model: weights, inputs, torch's scores and gradient, and Captum's results.
    struct Model: Decodable {
        let weights: [String: Tensor]
        let input: Tensor
        let targets: [Int]
        let scores: Tensor
        let gradient: Tensor
        let integrated_gradients: IGCases
        let occlusion: [OcclusionCase]
        let feature_ablation: Ablation?
    }

    let versions: [String: String]
    let rules: [String: [String: Rule]]
    let mlp: Model
    let conv: Model

    /// Loads the fixture from the repository.
    static func load() throws -> CaptumFixture {
        let url = TestRepository.root.appendingPathComponent("Tests/ExplainersTests/Fixtures/captum_reference.json")
        return try JSONDecoder().decode(CaptumFixture.self, from: Data(contentsOf: url))
    }

    /// Loaded once for the whole test run.
    nonisolated(unsafe) static var cached: CaptumFixture?
    /// The shared fixture.
    static func shared() throws -> CaptumFixture {
        if let cached { return cached }
        let f = try load()
        cached = f
        return f
    }
}

/// Checks `|a − b| ≤ relative · |b| + absolute` element by element; returns the worst ratio
/// `|a − b| / (relative · |b| + absolute)` (≤ 1 passes) and a message naming the worst element.
func closeness(_ a: [Float], _ b: [Float], relative: Double, absolute: Double) -> (ratio: Double, message: String) {
    guard a.count == b.count else { return (.infinity, "\(a.count) vs \(b.count) elements") }
    var worst = 0.0, at = 0
    for i in 0..<a.count {
        let r = abs(Double(a[i]) - Double(b[i])) / (relative * Double(abs(b[i])) + absolute)
        if r > worst { worst = r; at = i }
    }
    let detail = a.isEmpty ? "" : "worst element \(at): \(a[at]) vs reference \(b[at])"
    return (worst, "ratio \(worst) (relative \(relative), absolute \(absolute)); \(detail)")
}

/// Largest `|b|`.
func maxAbs(_ b: [Float]) -> Double { b.reduce(0.0) { max($0, Double(abs($1))) } }

/// Attribution tolerance: 1e-4 relative per element, with an absolute floor of 1e-7 · max|reference| (elements
/// a thousand times smaller than the largest are compared at the largest one's scale).
func attributionCloseness(_ a: [Float], _ b: [Float]) -> (ratio: Double, message: String) {
    closeness(a, b, relative: 1e-4, absolute: 1e-7 * maxAbs(b))
}
