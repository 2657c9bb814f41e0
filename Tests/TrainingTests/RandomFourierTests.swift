import EmoClassifiers
import EmoCore
import EmoLayers
import EmoTensor
import XCTest

/// The RBF-kernel head `rbf-features`: its feature map approximates exp(−γ‖x − y‖²), its backward matches finite
/// differences, and its random features are fixed buffers that training never moves and a saved state restores.
final class RandomFourierTests: XCTestCase {
    /// z(x)·z(y) over D = 16384 features is within 4/√D (about 2.8 standard deviations) of the kernel for pairs near, mid and far apart.
    func testFeatureMapApproximatesTheRBFKernel() throws {
        let c = 8, dFeatures = 16_384, gamma = 0.125
        var generator = SeededGenerator(seed: 11)
        let layer = RandomFourierLayer(c, dFeatures, gamma: gamma, generator: &generator)
        var g = SeededGenerator(seed: 12)
        for distanceScale: Float in [0.1, 0.5, 1.0] {
            let x = (0..<c).map { _ in g.nextNormal() }
            let y = x.map { $0 + g.nextNormal() * distanceScale }
            let rows = x + y
            let z = try rows.withUnsafeBufferPointer { p -> [Float] in
                let out = try layer.forward(try XCTUnwrap(p.baseAddress), batch: 2, training: false)
                return Array(UnsafeBufferPointer(start: out, count: 2 * dFeatures))
            }
            var dot = 0.0
            for i in 0..<dFeatures { dot += Double(z[i]) * Double(z[dFeatures + i]) }
            let squared = zip(x, y).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let kernel = _exp(-gamma * squared)
            XCTAssertEqual(dot, kernel, accuracy: 4 / Double(dFeatures).squareRoot(),
                           "‖x−y‖² = \(squared): z·z \(dot), kernel \(kernel)")
        }
    }

    func testBackwardMatchesFiniteDifferences() throws {
        let c = try RandomFourierClassifier(config: ["inputs": 6, "classes": 3, "features": 40, "gamma": 0.5,
                                                     "l2": 0, "seed": 3])
        try GradientCheck.check(c, inputs: [GradientCheck.random([5, 6], seed: 4)], outputShapes: [[5, 3]])
    }

    /// γ defaults to 1/C; Ω and b are buffers (the trainer leaves them alone), the output layer is learned, and a
    /// saved state restores the same logits in a head built with another seed.
    func testDefaultsBuffersAndStateRoundTrip() throws {
        let a = try RandomFourierClassifier(config: ["inputs": 10, "classes": 4, "features": 32, "seed": 1])
        XCTAssertEqual(a.resolvedDescription["config"]?["gamma"]?.doubleValue ?? 0, 0.1, accuracy: 1e-12)
        XCTAssertEqual(a.parameters.map(\.name), ["net.0.omega", "net.0.phase", "net.1.weight", "net.1.bias"])
        XCTAssertEqual(a.parameters.map(\.isBuffer), [true, true, false, false])
        let x = GradientCheck.random([3, 10], seed: 5)
        let before = try XCTUnwrap(try a.forward([.array(x)])[0].array)
        let b = try RandomFourierClassifier(config: ["inputs": 10, "classes": 4, "features": 32, "seed": 2])
        let other = try XCTUnwrap(try b.forward([.array(x)])[0].array)
        XCTAssertNotEqual(before.data, other.data, "another seed draws other features")
        try b.loadState(try a.saveState())
        let after = try XCTUnwrap(try b.forward([.array(x)])[0].array)
        XCTAssertEqual(before.data, after.data)
    }
}

#if canImport(Glibc)
import Glibc
private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#else
import Foundation
private func _exp(_ x: Double) -> Double { Foundation.exp(x) }
#endif
