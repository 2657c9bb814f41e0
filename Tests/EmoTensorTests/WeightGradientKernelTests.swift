// The fine-tuning weight-gradient kernels (`Kernels+WeightGradients.swift`) against their naive twins, and the conv
// weight gradient against `conv1dChannelsLastBackward`'s (which overwrites; this one accumulates and may stop
// early in the output frames).
import Foundation
import XCTest
@testable import EmoTensor

final class WeightGradientKernelTests: XCTestCase {
    /// Dense geometries (strided GEMMs on `x` in place, including one input channel) and padded / grouped ones
    /// (im2col), each over all output frames and over fewer (a dropped trailing frame, as the positional conv).
    func testConvWeightGradientMatchesNaive() throws {
        let cases: [(Conv1dGeometry, tIn: Int)] = [
            (Conv1dGeometry(inChannels: 1, outChannels: 8, kernelSize: 10, stride: 5), 64),
            (Conv1dGeometry(inChannels: 16, outChannels: 8, kernelSize: 3, stride: 2), 21),
            (Conv1dGeometry(inChannels: 16, outChannels: 8, kernelSize: 2, stride: 2), 20),
            (Conv1dGeometry(inChannels: 24, outChannels: 24, kernelSize: 8, stride: 1, padding: 4, groups: 4), 15),
            (Conv1dGeometry(inChannels: 12, outChannels: 12, kernelSize: 5, stride: 1, padding: 2, groups: 3), 11),
            (Conv1dGeometry(inChannels: 4, outChannels: 6, kernelSize: 5, stride: 1, padding: 4, dilation: 2, groups: 2), 12),
        ]
        for (index, (g, tIn)) in cases.enumerated() {
            let full = g.outputLength(inputLength: tIn)
            for tOut in Set([full, full - 1]) where tOut > 0 {
                let work = max(1, Kernels.conv1dChannelsLastWeightGradientWorkspaceCount(g, outputFrames: tOut))
                // Gradients start non-zero: both kernels add to them.
                var fast = [randomArray(tIn * g.inChannels, seed: 90), randomArray(tOut * g.outChannels, seed: 91),
                            randomArray(g.weightCount, seed: 92), randomArray(g.outChannels, seed: 93),
                            [Float](repeating: .nan, count: work)]
                var slow = fast
                withBuffers(&fast) { p in
                    Kernels.conv1dChannelsLastWeightGradient(g, inputLength: tIn, outputFrames: tOut, x: p[0], gradOutput: p[1],
                                                             gradPackedWeight: p[2], gradBias: p[3], workspace: p[4])
                }
                withBuffers(&slow) { p in
                    NaiveKernels.conv1dChannelsLastWeightGradient(g, inputLength: tIn, outputFrames: tOut, x: p[0],
                                                                  gradOutput: p[1], gradPackedWeight: p[2], gradBias: p[3])
                }
                assertClose(fast[2], slow[2], "case \(index), \(tOut) frames: weight gradient")
                assertClose(fast[3], slow[3], "case \(index), \(tOut) frames: bias gradient")
            }
        }
    }

    /// Over all frames, from zero, the result is `conv1dChannelsLastBackward`'s weight gradient.
    func testConvWeightGradientAgreesWithFullBackward() throws {
        let g = Conv1dGeometry(inChannels: 16, outChannels: 8, kernelSize: 3, stride: 2)
        let tIn = 21, tOut = g.outputLength(inputLength: tIn)
        let x = randomArray(tIn * g.inChannels, seed: 94), dy = randomArray(tOut * g.outChannels, seed: 95)
        let w = randomArray(g.weightCount, seed: 96)
        var mine = [x, dy, [Float](repeating: 0, count: g.weightCount)]
        withBuffers(&mine) { p in
            Kernels.conv1dChannelsLastWeightGradient(g, inputLength: tIn, outputFrames: tOut, x: p[0], gradOutput: p[1],
                                                     gradPackedWeight: p[2], gradBias: nil, workspace: nil)
        }
        var theirs = [x, w, dy, [Float](repeating: .nan, count: g.weightCount),
                      [Float](repeating: .nan, count: Kernels.conv1dChannelsLastBackwardWorkspaceCount(g, inputLength: tIn))]
        withBuffers(&theirs) { p in
            Kernels.conv1dChannelsLastBackward(g, batch: 1, inputLength: tIn, x: p[0], packedWeight: p[1], gradOutput: p[2],
                                               gradInput: nil, gradPackedWeight: p[3], gradBias: nil, workspace: p[4])
        }
        assertClose(mine[2], theirs[3], "weight gradient vs conv1dChannelsLastBackward")
    }

    func testNormAffineBackwardMatchesNaive() throws {
        for (n, c) in [(1, 5), (7, 16), (33, 3)] {
            var fast = [randomArray(n * c, seed: 97), randomArray(n * c, seed: 98), randomArray(c, seed: 99), randomArray(c, seed: 100)]
            var slow = fast
            withBuffers(&fast) { p in
                Kernels.normAffineBackward(xhat: p[0], gradOutput: p[1], rows: n, features: c, gradGamma: p[2], gradBeta: p[3])
            }
            withBuffers(&slow) { p in
                NaiveKernels.normAffineBackward(xhat: p[0], gradOutput: p[1], rows: n, features: c, gradGamma: p[2], gradBeta: p[3])
            }
            assertClose(fast[2], slow[2], "[\(n), \(c)] gamma")
            assertClose(fast[3], slow[3], "[\(n), \(c)] beta")
        }
    }
}
