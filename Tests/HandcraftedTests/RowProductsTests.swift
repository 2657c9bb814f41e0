@testable import EmoHandcrafted
import XCTest

/// The scheduled frame-by-weights product against the plain per-output dot product it replaces: same summation
/// order, so the results must be identical, not just close.
final class RowProductsTests: XCTestCase {
    func testEqualsNaiveDotProductsBitForBit() {
        var rng = Support.Rng(state: 7)
        for (m, k, rows) in [(12, 1025, 5), (40, 128, 4), (3, 9, 1), (13, 50, 3)] {
            let w = (0..<(m * k)).map { _ in rng.next() }
            let x = (0..<(rows * k)).map { _ in rng.next() * 10 }
            let fast = RowProducts(weights: w, outputs: m, inputs: k).apply(x, rows: rows)
            var naive = [Double](repeating: 0, count: rows * m)
            for t in 0..<rows {
                for c in 0..<m {
                    var s = 0.0
                    for i in 0..<k { s += w[c * k + i] * x[t * k + i] }
                    naive[t * m + c] = s
                }
            }
            XCTAssertEqual(fast, naive, "M=\(m) K=\(k) rows=\(rows)")
        }
    }
}
