import EmoLayers
import EmoTensor
import Foundation
import XCTest

/// The backward kernels against naive double-precision formulas (expected values from the math, not our code).
final class DenseBackwardTests: XCTestCase {
    /// `addLinear` (bias onto the residual, then one beta-1 GEMM) against the same sum in Double, with and without
    /// a bias, at a width with a tail (N = 13).
    func testAddLinearAddsTheBranchToTheResidual() {
        let (m, k, n) = (7, 19, 13)
        var rng = SeededGenerator(seed: 3)
        func draw(_ count: Int) -> [Float] { (0..<count).map { _ in Float.random(in: -1...1, using: &rng) } }
        let x = draw(m * k), w = draw(n * k), bias = draw(n), h = draw(m * n)
        for withBias in [true, false] {
            var y = h
            if withBias {
                Kernels.linear(x: x, rows: m, inFeatures: k, weight: w, bias: bias, outFeatures: n, y: &y,
                               accumulate: true)
            } else {
                Kernels.linear(x: x, rows: m, inFeatures: k, weight: w, bias: nil, outFeatures: n, y: &y,
                               accumulate: true)
            }
            for i in 0..<m {
                for j in 0..<n {
                    var exact = Double(h[i * n + j]) + (withBias ? Double(bias[j]) : 0)
                    for l in 0..<k { exact += Double(x[i * k + l]) * Double(w[j * k + l]) }
                    XCTAssertEqual(Double(y[i * n + j]), exact, accuracy: 2e-6, "bias \(withBias) [\(i), \(j)]")
                }
            }
        }
    }

    func testGeluDerivativeMatchesTheExactFormula() {
        var worst = 0.0
        var z = -8.0
        while z < 8 {
            // d/dz [z Φ(z)] = Φ(z) + z φ(z)
            let exact = 0.5 * (1 + erf(z / 2.0.squareRoot())) + z * exp(-z * z / 2) / (2 * Double.pi).squareRoot()
            worst = max(worst, abs(Double(FastMath.geluDerivative(SIMD8(repeating: Float(z)))[0]) - exact))
            z += 0.0131
        }
        XCTAssertLessThan(worst, 1e-6, "A&S erf bound 1.5e-7 plus float32 rounding")
    }

    func testGeluBackwardHandlesTailsAndThreads() {
        for n in [0, 5, 8, 13, 40_007] {
            let z = (0..<n).map { Float($0 % 89) / 9 - 4.9 }
            var dy = (0..<n).map { Float($0 % 7) - 3 }
            let dy0 = dy
            z.withUnsafeBufferPointer { zp in dy.withUnsafeMutableBufferPointer { dp in
                if let zp = zp.baseAddress, let dp = dp.baseAddress { Dense.geluBackward(z: zp, dy: dp, count: n) }
            } }
            for i in 0..<n {
                let zz = Double(z[i])
                let d = 0.5 * (1 + erf(zz / 2.0.squareRoot())) + zz * exp(-zz * zz / 2) / (2 * Double.pi).squareRoot()
                XCTAssertEqual(Double(dy[i]), Double(dy0[i]) * d, accuracy: 1e-5, "n = \(n), i = \(i)")
                if abs(Double(dy[i]) - Double(dy0[i]) * d) > 1e-5 { break }
            }
        }
    }

    /// Layer norm y = xhat γ + β per row; backward dx = J(x)ᵀ dy, J from the definition by central differences in
    /// double precision.
    func testLayerNormForwardRecordsAndBackwardMatchesFiniteDifferences() {
        let (rows, n) = (5, 19)
        let x = (0..<(rows * n)).map { Float(($0 * 7919) % 101) / 13 - 3 }
        let gamma = (0..<n).map { 0.5 + Float($0) / 10 }, beta = (0..<n).map { Float($0) / 7 - 1 }
        let dy = (0..<(rows * n)).map { Float(($0 * 31) % 17) / 8 - 1 }
        var y = [Float](repeating: 0, count: rows * n), xhat = y, rstd = [Float](repeating: 0, count: rows), dx = y
        Kernels.layerNorm(x: x, rows: rows, features: n, gamma: gamma, beta: beta, eps: 1e-5, y: &y, rstd: &rstd, xhat: &xhat)
        Kernels.layerNormBackward(xhat: xhat, rstd: rstd, gamma: gamma, gradOutput: dy, rows: rows, features: n, gradInput: &dx)
        // The xhat form agrees with the form from x and the mean (the text encoders' backward), and accumulates.
        var mean = rstd, dx2 = dx, gradGamma = gamma, gradBeta = beta
        Kernels.layerNorm(x: x, rows: rows, features: n, gamma: gamma, beta: beta, eps: 1e-5, y: &y, mean: &mean, rstd: &rstd)
        Kernels.layerNormBackward(x: x, gradOutput: dy, rows: rows, features: n, gamma: gamma, mean: mean, rstd: rstd,
                                  gradInput: &dx2, gradGamma: &gradGamma, gradBeta: &gradBeta)
        for i in dx.indices { XCTAssertEqual(dx[i], dx2[i], accuracy: 1e-6) }
        var twice = dx
        Kernels.layerNormBackward(xhat: xhat, rstd: rstd, gamma: gamma, gradOutput: dy, rows: rows, features: n, gradInput: &twice,
                                  accumulate: true)
        for i in dx.indices { XCTAssertEqual(twice[i], 2 * dx[i], accuracy: 1e-5) }
        func lnRow(_ v: [Double]) -> [Double] {
            let m = v.reduce(0, +) / Double(n)
            let s = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(n) + 1e-5).squareRoot()
            return v.indices.map { (v[$0] - m) / s * Double(gamma[$0]) + Double(beta[$0]) }
        }
        for r in 0..<rows {
            let row = (0..<n).map { Double(x[r * n + $0]) }
            let ref = lnRow(row)
            for i in 0..<n { XCTAssertEqual(Double(y[r * n + i]), ref[i], accuracy: 1e-5) }
            for j in 0..<n {
                var p = row, m = row
                p[j] += 1e-4
                m[j] -= 1e-4
                let (lp, lm) = (lnRow(p), lnRow(m))
                let fd = (0..<n).reduce(0.0) { $0 + Double(dy[r * n + $1]) * (lp[$1] - lm[$1]) / 2e-4 }
                XCTAssertEqual(Double(dx[r * n + j]), fd, accuracy: 1e-3, "row \(r) element \(j)")
            }
        }
    }

    /// Column norm (GroupNorm(C, C) on [T, C]) followed by γ, β: backward against central differences.
    func testColumnNormBackwardMatchesFiniteDifferences() {
        let (rows, cols) = (23, 11)
        let x = (0..<(rows * cols)).map { Float(($0 * 613) % 97) / 11 - 4 }
        let gamma = (0..<cols).map { 1 + Float($0) / 9 }, beta = (0..<cols).map { Float($0) / 5 }
        let dy = (0..<(rows * cols)).map { Float(($0 * 37) % 19) / 9 - 1 }
        var xhat = x, rstd = [Float](repeating: 0, count: cols), scratch = [Float](repeating: 0, count: 2 * cols)
        var dx = [Float](repeating: 0, count: rows * cols)
        Dense.columnNormalize(rows: rows, cols: cols, x: &xhat, eps: 1e-5, rstd: &rstd, scratch: &scratch)
        Dense.columnNormBackward(rows: rows, cols: cols, xhat: xhat, rstd: rstd, gamma: gamma, dy: dy, dx: &dx, scratch: &scratch)
        func colNorm(_ v: [Double], _ c: Int) -> [Double] {
            let m = v.reduce(0, +) / Double(rows)
            let s = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(rows) + 1e-5).squareRoot()
            return v.map { ($0 - m) / s * Double(gamma[c]) + Double(beta[c]) }
        }
        for c in [0, 5, 10] {
            let col = (0..<rows).map { Double(x[$0 * cols + c]) }
            let ref = colNorm(col, c)
            for r in 0..<rows {
                XCTAssertEqual(Double(xhat[r * cols + c]) * Double(gamma[c]) + Double(beta[c]), ref[r], accuracy: 1e-5)
            }
            for j in [0, 7, 22] {
                var p = col, m = col
                p[j] += 1e-4
                m[j] -= 1e-4
                let (cp, cm) = (colNorm(p, c), colNorm(m, c))
                let fd = (0..<rows).reduce(0.0) { $0 + Double(dy[$1 * cols + c]) * (cp[$1] - cm[$1]) / 2e-4 }
                XCTAssertEqual(Double(dx[j * cols + c]), fd, accuracy: 1e-3, "column \(c) row \(j)")
            }
        }
    }
}
