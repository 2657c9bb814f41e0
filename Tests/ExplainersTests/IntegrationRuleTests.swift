@testable import EmoExplainers
import XCTest

/// Step sizes and alphas against the ones Captum 0.9 built (fixture `rules`).
final class IntegrationRuleTests: XCTestCase {
    func testEveryMethodMatchesCaptum() throws {
        let f = try CaptumFixture.shared()
        for method in IntegrationMethod.allCases {
            for n in [2, 7, 32, 50] {
                let ref = try XCTUnwrap(f.rules[method.rawValue]?[String(n)], "\(method) n=\(n) missing in fixture")
                let (steps, alphas) = try method.rule(steps: n)
                XCTAssertEqual(steps.count, n)
                for i in 0..<n {
                    // Captum multiplies by float32(step) and scales the input by float32(alpha); a few float32 ulps
                    // of freedom remain where torch.linspace vectorises.
                    XCTAssertEqual(Double(steps[i]), Double(Float(ref.step_sizes[i])), accuracy: 1e-7, "\(method) n=\(n) step \(i)")
                    XCTAssertEqual(Double(alphas[i]), ref.alphas[i], accuracy: 3e-7, "\(method) n=\(n) alpha \(i)")
                }
            }
        }
    }

    func testTooFewStepsIsAnError() {
        XCTAssertThrowsError(try IntegrationMethod.riemannLeft.rule(steps: 1))
        XCTAssertNoThrow(try IntegrationMethod.gaussLegendre.rule(steps: 1))
    }

    /// Gauss–Legendre with n nodes integrates polynomials up to degree 2n − 1 exactly (math, not Captum).
    func testGaussLegendreIsExactForPolynomials() {
        for n in [1, 3, 8, 50] {
            let (nodes, weights) = IntegrationMethod.gaussLegendre(n)
            for degree in 0...(2 * n - 1) where degree <= 20 {
                let integral = zip(nodes, weights).reduce(0.0) { $0 + $1.1 * pow($1.0, Double(degree)) }
                let exact = degree % 2 == 1 ? 0 : 2 / Double(degree + 1)
                XCTAssertEqual(integral, exact, accuracy: 1e-12, "n=\(n) degree \(degree)")
            }
        }
    }
}
