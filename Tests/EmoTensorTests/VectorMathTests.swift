// Vectorised exp / erf / tanh against Double libm over their whole useful range and at the edges.
import Foundation
import XCTest
@testable import EmoTensor

final class VectorMathTests: XCTestCase {
    /// Applies an 8-lane function to `values` (padded to a multiple of 8).
    func apply(_ f: (SIMD8<Float>) -> SIMD8<Float>, _ values: [Float]) -> [Float] {
        var out: [Float] = []
        var i = 0
        while i < values.count {
            var v = SIMD8<Float>(repeating: 0)
            for k in 0..<8 where i + k < values.count { v[k] = values[i + k] }
            let r = f(v)
            for k in 0..<8 where i + k < values.count { out.append(r[k]) }
            i += 8
        }
        return out
    }

    func testExpRelativeErrorAndEdges() {
        let xs = stride(from: Float(-87), through: 88, by: 0.0137).map { $0 }
        let got = apply(Kernels.exp8, xs)
        var worst = 0.0
        for (x, y) in zip(xs, got) {
            let e = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(y) - e) / e)
        }
        XCTAssertLessThan(worst, 3e-7, "exp8 worst relative error")
        let edges = apply(Kernels.exp8, [-.infinity, -1000, -87.5, 0, 89, .infinity, .nan, 1])
        XCTAssertEqual(Array(edges[0..<3]), [0, 0, 0])
        XCTAssertEqual(edges[3], 1)
        XCTAssertEqual(edges[4], .infinity)
        XCTAssertEqual(edges[5], .infinity)
        XCTAssertTrue(edges[6].isNaN)
        XCTAssertEqual(edges[7], Float(M_E), accuracy: 1e-6)
    }

    func testExpNonPositiveMatchesExp() {
        let xs = stride(from: Float(-90), through: 0, by: 0.0071).map { $0 } + [-.infinity, -1e30]
        XCTAssertEqual(apply(Kernels.expNonPositive8, xs), apply(Kernels.exp8, xs))
    }

    func testErfAndTanhAbsoluteError() {
        let xs = stride(from: Float(-6), through: 6, by: 0.00131).map { $0 }
        let erfs = apply(Kernels.erf8, xs), tanhs = apply(Kernels.tanh8, xs)
        var worstErf = 0.0, worstTanh = 0.0
        for (i, x) in xs.enumerated() {
            worstErf = max(worstErf, abs(Double(erfs[i]) - Foundation.erf(Double(x))))
            worstTanh = max(worstTanh, abs(Double(tanhs[i]) - Foundation.tanh(Double(x))))
        }
        XCTAssertLessThan(worstErf, 6e-7, "erf8 worst absolute error (1.5e-7 formula + Float32 evaluation)")
        XCTAssertLessThan(worstTanh, 3e-7, "tanh8 worst absolute error")
        XCTAssertEqual(apply(Kernels.erf8, [50, -50]), [1, -1])
        XCTAssertEqual(apply(Kernels.tanh8, [50, -50, 0]), [1, -1, 0])
    }
}
