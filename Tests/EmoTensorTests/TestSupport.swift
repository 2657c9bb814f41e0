// Shared helpers for EmoTensor tests: seeded random buffers and tolerance checks.
import XCTest
@testable import EmoTensor

/// Deterministic random Float array with values in N(0, scale²).
func randomArray(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in rng.nextNormal() * scale }
}

/// Asserts |a − b| ≤ atol + rtol·|b| elementwise and reports the worst element.
func assertClose(_ a: [Float], _ b: [Float], rtol: Float = 1e-4, atol: Float = 1e-5, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): count", file: file, line: line)
    var worst: Float = 0, worstIndex = -1
    for i in 0..<min(a.count, b.count) {
        let excess = abs(a[i] - b[i]) - (atol + rtol * abs(b[i]))
        if !(excess <= worst) { worst = excess.isNaN ? .infinity : excess; worstIndex = i }
    }
    if worstIndex >= 0 {
        XCTFail("\(what): element \(worstIndex): \(a[worstIndex]) vs \(b[worstIndex]) (rtol \(rtol), atol \(atol))",
                file: file, line: line)
    }
}

/// Runs `body` with mutable pointers to copies of `arrays`, then copies the buffers back into `arrays`.
func withBuffers<R>(_ arrays: inout [[Float]], _ body: ([UnsafeMutablePointer<Float>]) -> R) -> R {
    let pointers = arrays.map { array -> UnsafeMutablePointer<Float> in
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(array.count, 1))
        p.initialize(from: array, count: array.count)
        return p
    }
    defer { pointers.forEach { $0.deallocate() } }
    let result = body(pointers)
    for i in arrays.indices { arrays[i] = Array(UnsafeBufferPointer(start: pointers[i], count: arrays[i].count)) }
    return result
}

/// A named parameter for optimiser tests: values and gradients in stable memory, seen through a `ParameterView`.
final class TestParameter {
    let name: String
    let count: Int
    let value: UnsafeMutablePointer<Float>
    let grad: UnsafeMutablePointer<Float>

    init(name: String, values: [Float]) {
        self.name = name
        count = values.count
        value = .allocate(capacity: max(count, 1))
        value.initialize(from: values, count: count)
        grad = .allocate(capacity: max(count, 1))
        grad.initialize(repeating: 0, count: count)
    }

    deinit {
        value.deallocate()
        grad.deallocate()
    }

    var view: ParameterView { ParameterView(value: value, grad: grad, count: count) }
    var values: [Float] { Array(UnsafeBufferPointer(start: value, count: count)) }
}
