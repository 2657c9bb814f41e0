import EmoTensor
import XCTest

/// `Kernels.conv1dWinogradStride2` (Winograd F(3, 2)) against its naive twin, the direct `conv1dChannelsLast`, on
/// random shapes: frame counts with every remainder mod 3, channel counts off the 8-lane grid, with and without a
/// bias.
final class WinogradKernelTests: XCTestCase {
    func testWinogradEqualsTheDirectConvolution() throws {
        var generator = SeededGenerator(seed: 9)
        for (cin, cout, tOut, withBias) in [(16, 24, 12, true), (13, 9, 14, false), (32, 32, 37, true), (5, 7, 3, true)] {
            let tIn = (tOut - 1) * 2 + 3
            let x = (0..<(tIn * cin)).map { _ in generator.nextNormal() }
            let w = (0..<(cout * 3 * cin)).map { _ in generator.nextNormal() * 0.2 }  // packed [Cout, 3, Cin]
            let bias = withBias ? (0..<cout).map { _ in generator.nextNormal() } : nil
            let weights = try XCTUnwrap(Kernels.Conv1dWinogradWeights(kernel: 3, stride: 2, inChannels: cin, outChannels: cout,
                                                                      packedWeight: w, bias: bias))
            XCTAssertNil(Kernels.Conv1dWinogradWeights(kernel: 3, stride: 1, inChannels: cin, outChannels: cout, packedWeight: w, bias: bias))
            var fast = [Float](repeating: .nan, count: tOut * cout)
            var scratch = [Float](repeating: .nan, count: max(1, Kernels.conv1dWinogradScratchCount(frames: tOut, inChannels: cin, outChannels: cout)))
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeBufferPointer { wp in
                    fast.withUnsafeMutableBufferPointer { f in
                        scratch.withUnsafeMutableBufferPointer { s in
                            Kernels.conv1dWinogradStride2(inChannels: cin, outChannels: cout, weights: weights, packedWeight: wp.baseAddress!,
                                                          input: xp.baseAddress!, outputFrames: tOut, output: f.baseAddress!,
                                                          scratch: s.baseAddress!)
                        }
                    }
                }
            }
            let g = Conv1dGeometry(inChannels: cin, outChannels: cout, kernelSize: 3, stride: 2)
            var direct = [Float](repeating: .nan, count: tOut * cout)
            var work = [Float](repeating: 0, count: max(1, Kernels.conv1dChannelsLastWorkspaceCount(g, inputLength: tIn)))
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeBufferPointer { wp in
                    direct.withUnsafeMutableBufferPointer { d in
                        work.withUnsafeMutableBufferPointer { ws in
                            (bias ?? [Float](repeating: 0, count: cout)).withUnsafeBufferPointer { b in
                                Kernels.conv1dChannelsLast(g, batch: 1, inputLength: tIn, x: xp.baseAddress!, packedWeight: wp.baseAddress!,
                                                           bias: b.baseAddress!, y: d.baseAddress!, workspace: ws.baseAddress!)
                            }
                        }
                    }
                }
            }
            let scale = direct.map(abs).max() ?? 1
            let diff = zip(fast, direct).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(diff, 1e-5 * scale, "Cin \(cin) Cout \(cout) T \(tOut): Winograd vs direct")
        }
    }
}
