@testable import EmoHandcrafted
import XCTest

/// The scheduled products (frame × weights for chroma/DCT, lagged products for LPC) against the plain loops they
/// replace: same summation order, so the results must be identical, not just close.
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

    func testLagProductsEqualNaiveBitForBit() {
        var rng = Support.Rng(state: 11)
        for (n, p) in [(400, 18), (400, 17), (10, 18), (1, 3), (37, 0)] {
            let x = (0..<n).map { _ in rng.next() }
            var naive = [Double](repeating: 0, count: p + 1)
            for k in 0...p {
                var s = 0.0
                if n - k > 0 { for i in 0..<(n - k) { s += x[i] * x[i + k] } }
                naive[k] = s
            }
            XCTAssertEqual(VoiceQuality.lagProducts(x, maxLag: p), naive, "n=\(n) p=\(p)")
        }
    }
}
