import EmoTensor
import Foundation
import XCTest

/// The vectorised kernels against libm and naive loops.
final class FastMathTests: XCTestCase {
    func testExpMatchesLibm() {
        var worst: Float = 0
        var x: Float = -80
        while x < 80 {
            let v = FastMath.exp(SIMD8<Float>(repeating: x))[0]
            worst = max(worst, abs(v - expf(x)) / expf(x))
            x += 0.173
        }
        XCTAssertLessThan(worst, 5e-7, "relative error of FastMath.exp")
    }

    func testErfAndGeluMatchLibm() {
        var worstErf: Float = 0, worstGelu: Float = 0
        var x: Float = -8
        while x < 8 {
            worstErf = max(worstErf, abs(FastMath.erf(SIMD8(repeating: x))[0] - erff(x)))
            let g = x * 0.5 * (1 + erff(x / 2.0.squareRoot().float))
            worstGelu = max(worstGelu, abs(FastMath.gelu(SIMD8(repeating: x))[0] - g) / max(1, abs(x)))
            x += 0.0137
        }
        XCTAssertLessThan(worstErf, 5e-7, "A&S 7.1.26 bound 1.5e-7 plus float32 rounding")
        XCTAssertLessThan(worstGelu, 5e-7)
    }

    func testDenseGeluHandlesTailsAndThreads() {
        for n in [0, 1, 7, 8, 9, 100_003] {
            let xs = (0..<n).map { Float($0 % 97) / 10 - 4.8 }
            var ys = xs
            ys.withUnsafeMutableBufferPointer { if let p = $0.baseAddress { Kernels.gelu(x: p, y: p, count: n) } }
            for i in 0..<n {
                let g = xs[i] * 0.5 * (1 + erff(xs[i] / 2.0.squareRoot().float))
                XCTAssertEqual(ys[i], g, accuracy: 1e-6, "n = \(n), i = \(i)")
                if abs(ys[i] - g) > 1e-6 { break }
            }
        }
    }

    func testColumnNormMatchesNaive() {
        let (rows, cols) = (37, 21)
        let x = (0..<(rows * cols)).map { Float(($0 * 7919) % 113) / 17 }
        let gamma = (0..<cols).map { 1 + Float($0) / 10 }, beta = (0..<cols).map { Float($0) / 7 }
        var y = x
        var scratch = [Float](repeating: 0, count: 2 * cols)
        y.withUnsafeMutableBufferPointer { yp in
            scratch.withUnsafeMutableBufferPointer { sp in
                Dense.columnNorm(rows: rows, cols: cols, x: yp.baseAddress!, gamma: gamma, beta: beta, eps: 1e-5, scratch: sp.baseAddress!)
            }
        }
        for c in 0..<cols {
            let col = (0..<rows).map { Double(x[$0 * cols + c]) }
            let mean = col.reduce(0, +) / Double(rows)
            let v = col.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rows)
            for r in 0..<rows {
                let e = (col[r] - mean) / (v + 1e-5).squareRoot() * Double(gamma[c]) + Double(beta[c])
                XCTAssertEqual(Double(y[r * cols + c]), e, accuracy: 1e-5)
            }
        }
    }
}

private extension Double { var float: Float { Float(self) } }
