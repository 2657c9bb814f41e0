import EmoCore
import XCTest

/// The hand-written Swift toy models must agree with PyTorch before they can judge the explainers.
/// Tolerance: 1e-5 relative plus 1e-6 absolute (torch sums in float32, the Swift models in double).
final class ToyModelTests: XCTestCase {
    func check(_ m: CaptumFixture.Model, _ model: ExplainableModel) throws {
        let x = try m.input.array()
        let s = closeness(try model.scores(x).data, m.scores.data, relative: 1e-5, absolute: 1e-6)
        XCTAssertLessThanOrEqual(s.ratio, 1, "scores: \(s.message)")
        let g = closeness(try model.gradient(x, targets: m.targets).data, m.gradient.data, relative: 1e-5, absolute: 1e-6)
        XCTAssertLessThanOrEqual(g.ratio, 1, "gradient: \(g.message)")
    }

    func testMLPMatchesTorch() throws {
        let f = try CaptumFixture.shared()
        try check(f.mlp, try ToyMLP(f.mlp))
    }

    func testConvMatchesTorch() throws {
        let f = try CaptumFixture.shared()
        try check(f.conv, try ToyConv(f.conv))
    }
}
