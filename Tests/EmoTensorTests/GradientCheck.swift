// Finite-difference gradient checking of the backward kernels in float64 against an independent Double reference.
import XCTest
@testable import EmoTensor

/// Checks a kernel and its backward two ways: the Float32 forward against `reference` (written in Double from the
/// math), and the backward kernel's vector-Jacobian product against central finite differences of `reference` in
/// Double (h = 1e-6), for the scalar loss L = Σ y ⊙ R with fixed random weights R.
///
/// `op(inputs, dy)` runs the forward kernel on `inputs` and the backward kernel with `dy = R`, returning `y` and one
/// gradient per input (`nil` for an input the kernel does not differentiate, which is then not checked).
func checkGradients(_ name: String, shapes: [[Int]], seed: UInt64 = 1, inputScale: Float = 1,
                    forwardTolerance: Float = 1e-4, rtol: Double = 1e-3, atol: Double = 1e-4,
                    values: [[Float]]? = nil,
                    op: ([[Float]], [Float]) throws -> (y: [Float], grads: [[Float]?]),
                    reference: ([[Double]]) -> [Double],
                    file: StaticString = #filePath, line: UInt = #line) throws {
    let inputs = shapes.enumerated().map { k, shape in
        values?[k] ?? randomArray(shape.reduce(1, *), seed: seed + UInt64(k) * 7919, scale: inputScale)
    }
    var doubles = inputs.map { $0.map(Double.init) }
    let yRef = reference(doubles)
    let r = randomArray(yRef.count, seed: seed + 104_729)
    let (y, grads) = try op(inputs, r)
    assertClose(y, yRef.map(Float.init), rtol: forwardTolerance, atol: forwardTolerance,
                "\(name) forward", file: file, line: line)
    func lossRef() -> Double { zip(reference(doubles), r).reduce(0) { $0 + $1.0 * Double($1.1) } }
    let h = 1e-6
    for k in inputs.indices {
        guard k < grads.count, let g = grads[k] else { continue }
        XCTAssertEqual(g.count, inputs[k].count, "\(name): gradient size of input \(k)", file: file, line: line)
        for i in 0..<inputs[k].count {
            let saved = doubles[k][i]
            doubles[k][i] = saved + h
            let plus = lossRef()
            doubles[k][i] = saved - h
            let minus = lossRef()
            doubles[k][i] = saved
            let fd = (plus - minus) / (2 * h)
            let analytic = Double(g[i])
            if abs(analytic - fd) > atol + rtol * abs(fd) {
                XCTFail("\(name): d/d input\(k)[\(i)] analytic \(analytic) vs finite difference \(fd)",
                        file: file, line: line)
                return
            }
        }
    }
}

/// Fresh buffers of these sizes, filled with NaN (a kernel that leaves an element unwritten shows up).
func nanBuffers(_ counts: [Int]) -> [[Float]] { counts.map { [Float](repeating: .nan, count: max($0, 1)) } }

/// Double reference helpers (plain loops from the definitions).
enum Ref {
    static func linear(_ x: [Double], _ w: [Double], _ b: [Double]?, n: Int, inF: Int, outF: Int) -> [Double] {
        var y = [Double](repeating: 0, count: n * outF)
        for i in 0..<n { for o in 0..<outF {
            var acc = b?[o] ?? 0
            for p in 0..<inF { acc += x[i * inF + p] * w[o * inF + p] }
            y[i * outF + o] = acc
        } }
        return y
    }

    static func matmul(_ a: [Double], _ b: [Double], batch: Int, m: Int, k: Int, n: Int, sharedB: Bool) -> [Double] {
        var c = [Double](repeating: 0, count: batch * m * n)
        for bi in 0..<batch { for i in 0..<m { for j in 0..<n {
            var acc = 0.0
            for p in 0..<k { acc += a[(bi * m + i) * k + p] * b[(sharedB ? 0 : bi * k * n) + p * n + j] }
            c[(bi * m + i) * n + j] = acc
        } } }
        return c
    }

    static func logSoftmax(_ x: [Double], d: Int) -> [Double] {
        var y = x
        for r in 0..<(x.count / d) {
            let row = x[(r * d)..<((r + 1) * d)]
            let m = row.max() ?? 0
            let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
            for j in 0..<d { y[r * d + j] = x[r * d + j] - lse }
        }
        return y
    }

    static func layerNorm(_ x: [Double], _ g: [Double]?, _ b: [Double]?, c: Int, eps: Double) -> [Double] {
        var y = x
        for r in 0..<(x.count / c) {
            let row = Array(x[(r * c)..<((r + 1) * c)])
            let mu = row.reduce(0, +) / Double(c)
            let v = row.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(c)
            for j in 0..<c { y[r * c + j] = (row[j] - mu) / (v + eps).squareRoot() * (g?[j] ?? 1) + (b?[j] ?? 0) }
        }
        return y
    }

    static func gelu(_ v: Double, tanhForm: Bool) -> Double {
        tanhForm ? 0.5 * v * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
            : 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot()))
    }
}
