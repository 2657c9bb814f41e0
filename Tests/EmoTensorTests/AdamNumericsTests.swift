@testable import EmoTensor
import XCTest

/// `Adam`'s vectorised, multi-threaded numerics against its torch-exact numerics (which reproduce torch.optim.Adam
/// bit for bit, checked against torch fixtures in OptimizerTests): same updates to float32 rounding.
final class AdamNumericsTests: XCTestCase {
    private func buffers(_ count: Int, seed: UInt64) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        var g = SeededGenerator(seed: seed)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: count), d = UnsafeMutablePointer<Float>.allocate(capacity: count)
        for i in 0..<count {
            v[i] = g.nextNormal()
            d[i] = g.nextNormal() * 0.1
        }
        return (v, d)
    }

    func testMatchesTheTorchExactAdamCoupledAndDecoupled() throws {
        // 70_003 elements: split across threads, with a tail that is not a multiple of 8; plus a small tensor.
        let sizes = [70_003, 13]
        for decoupled in [false, true] {
            let a = sizes.enumerated().map { buffers($1, seed: UInt64($0)) }
            let b = sizes.enumerated().map { buffers($1, seed: UInt64($0)) }
            defer { for (v, d) in a + b { v.deallocate(); d.deallocate() } }
            let viewsA = zip(a, sizes).map { ParameterView(value: $0.0, grad: $0.1, count: $1) }
            let viewsB = zip(b, sizes).map { ParameterView(value: $0.0, grad: $0.1, count: $1) }
            let reference = try Adam(parameters: viewsA, learningRate: 1e-2, weightDecay: 0.05, decoupledWeightDecay: decoupled)
            let fast = try Adam(parameters: viewsB, learningRate: 1e-2, weightDecay: 0.05, decoupledWeightDecay: decoupled,
                                numerics: .vectorized(threads: 2))
            for step in 0..<5 {
                // Change the gradients between steps (the same way on both sides).
                for (k, n) in sizes.enumerated() {
                    for i in 0..<n {
                        let g = Float((i * 7 + step * 13) % 17) / 17 - 0.5
                        a[k].1[i] = g
                        b[k].1[i] = g
                    }
                }
                reference.step()
                fast.step()
            }
            for (k, n) in sizes.enumerated() {
                var worst: Float = 0
                for i in 0..<n { worst = max(worst, abs(a[k].0[i] - b[k].0[i]) / max(1, abs(a[k].0[i]))) }
                XCTAssertLessThanOrEqual(worst, 1e-6, "decoupled \(decoupled), tensor \(k)")
            }
        }
    }

    func testZeroingGradientsInTheSamePassLeavesTheUpdateUnchanged() throws {
        for numerics in [Adam.Numerics.torchExact, .vectorized(threads: 1)] {
            let (va, ga) = buffers(37, seed: 7), (vb, gb) = buffers(37, seed: 7)
            defer { va.deallocate(); ga.deallocate(); vb.deallocate(); gb.deallocate() }
            let plain = try Adam(parameters: [ParameterView(value: va, grad: ga, count: 37)], numerics: numerics)
            let zeroing = try Adam(parameters: [ParameterView(value: vb, grad: gb, count: 37)], numerics: numerics,
                                   zeroesGradients: true)
            plain.step()
            zeroing.step()
            for i in 0..<37 {
                XCTAssertEqual(va[i], vb[i], "\(numerics) value \(i)")
                XCTAssertEqual(gb[i], 0, "\(numerics) gradient \(i) not zeroed")
                XCTAssertNotEqual(ga[i], 0, "\(numerics) plain Adam zeroed gradient \(i)")
            }
        }
    }

    func testVectorizedNumericsNeedAThread() {
        XCTAssertThrowsError(try Adam(parameters: [], numerics: .vectorized(threads: 0)))
    }
}
