import EmoCore
import EmoTensor
import XCTest

/// Finite-difference checks of a component's backward: the loss is L = Σ r ⊙ y₀ (+ Σ r₁ ⊙ y₁ when the
/// component has a second output and `useSecondOutput`), for fixed random r; backward([r]) must give dL/dx and
/// accumulate dL/dθ, which are compared with central differences (step `eps`) computed in Double.
enum GradientCheck {
    /// Seeded uniform values in [-scale, scale).
    static func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> NDArray {
        var g = SeededGenerator(seed: seed)
        var a = NDArray(zeros: shape)
        for i in 0..<a.count { a.data[i] = (g.nextUniform() * 2 - 1) * scale }
        return a
    }

    /// Σ r ⊙ y over the checked outputs, in Double.
    static func loss(_ c: TrainableComponent, _ inputs: [NDArray], _ r: [NDArray]) throws -> Double {
        let out = try c.forward(inputs.map { .array($0) })
        var total = 0.0
        for (k, rk) in r.enumerated() {
            let y = try XCTUnwrap(out[k].array)
            XCTAssertEqual(y.shape, rk.shape)
            for i in 0..<y.count { total += Double(y.data[i]) * Double(rk.data[i]) }
        }
        return total
    }

    /// Checks input gradients of every input and up to `perParameter` entries of every learned parameter.
    static func check(_ c: TrainableComponent, inputs: [NDArray], outputShapes: [[Int]], seed: UInt64 = 99,
                      eps: Float = 1e-3, tolerance: Double = 2e-2, perParameter: Int = 12,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let r = outputShapes.enumerated().map { k, s in random(s, seed: seed + UInt64(k)) }
        let params = c.parameters.filter { !$0.isBuffer }
        for p in c.parameters { p.grad.update(repeating: 0, count: p.count) }
        _ = try loss(c, inputs, r)
        let dx = try c.backward(r)
        XCTAssertEqual(dx.count, inputs.count, "one gradient per input", file: file, line: line)
        let analyticParams = params.map { Array(UnsafeBufferPointer(start: $0.grad, count: $0.count)) }

        func compare(_ analytic: Float, _ numeric: Double, _ what: String) {
            let err = abs(Double(analytic) - numeric)
            XCTAssertLessThanOrEqual(err, tolerance * max(1, abs(numeric)),
                                     "\(what): backward \(analytic), finite difference \(numeric)", file: file, line: line)
        }
        for (g, x) in inputs.enumerated() {
            XCTAssertEqual(dx[g].shape, x.shape, file: file, line: line)
            let stride = max(1, x.count / 16)
            for i in Swift.stride(from: 0, to: x.count, by: stride) {
                var plus = inputs, minus = inputs
                plus[g].data[i] += eps
                minus[g].data[i] -= eps
                let numeric = (try loss(c, plus, r) - loss(c, minus, r)) / Double(2 * eps)
                compare(dx[g].data[i], numeric, "d input \(g)[\(i)]")
            }
        }
        for (pi, p) in params.enumerated() {
            let stride = max(1, p.count / perParameter)
            for i in Swift.stride(from: 0, to: p.count, by: stride) {
                let saved = p.value[i]
                p.value[i] = saved + eps
                let lp = try loss(c, inputs, r)
                p.value[i] = saved - eps
                let lm = try loss(c, inputs, r)
                p.value[i] = saved
                compare(analyticParams[pi][i], (lp - lm) / Double(2 * eps), "d \(p.name)[\(i)]")
            }
        }
    }
}
