// Channels-last conv1d and group norm ([B, T, C]): backward kernels vs naive twins, ops vs finite differences.
import XCTest
@testable import EmoTensor

final class ChannelsLastTests: XCTestCase {
    func testConv1dChannelsLastBackwardKernelMatchesNaive() {
        for (index, (g, tIn)) in KernelTests.convCases.enumerated() {
            let b = 2, tOut = g.outputLength(inputLength: tIn)
            let inputs = [randomArray(b * tIn * g.inChannels, seed: 110), randomArray(g.weightCount, seed: 111),
                          randomArray(b * tOut * g.outChannels, seed: 112)]
            var fast = inputs + [[Float](repeating: .nan, count: b * tIn * g.inChannels),
                                 [Float](repeating: .nan, count: g.weightCount),
                                 [Float](repeating: .nan, count: g.outChannels),
                                 [Float](repeating: .nan, count: Kernels.conv1dChannelsLastBackwardWorkspaceCount(g, inputLength: tIn))]
            var slow = fast
            withBuffers(&fast) { p in
                Kernels.conv1dChannelsLastBackward(g, batch: b, inputLength: tIn, x: p[0], packedWeight: p[1],
                                                   gradOutput: p[2], gradInput: p[3], gradPackedWeight: p[4],
                                                   gradBias: p[5], workspace: p[6])
            }
            withBuffers(&slow) { p in
                NaiveKernels.conv1dChannelsLastBackward(g, batch: b, inputLength: tIn, x: p[0], packedWeight: p[1],
                                                        gradOutput: p[2], gradInput: p[3], gradPackedWeight: p[4],
                                                        gradBias: p[5], workspace: nil)
            }
            for k in 3...5 { assertClose(fast[k], slow[k], "channels-last conv backward case \(index) output \(k)") }
        }
    }

    func testConv1dChannelsLastGradients() throws {
        // In-place path (Cin ≥ 16, K > s, padding) and the grouped im2col path.
        let geometries = [Conv1dGeometry(inChannels: 16, outChannels: 3, kernelSize: 3, stride: 2, padding: 1),
                          Conv1dGeometry(inChannels: 4, outChannels: 4, kernelSize: 4, stride: 1, padding: 2, groups: 2)]
        for g in geometries {
            let (b, tIn) = (1, 7)
            let tOut = g.outputLength(inputLength: tIn)
            let (cg, og, kk) = (g.groupInChannels, g.groupOutChannels, g.kernelSize)
            try checkGradients("conv1dChannelsLast \(g)", shapes: [[b, tIn, g.inChannels], [g.outChannels, kk, cg], [g.outChannels]],
                               op: { try $0[0].conv1dChannelsLast(packedWeight: $0[1], bias: $0[2], geometry: g) }) { x in
                var y = [Double](repeating: 0, count: b * tOut * g.outChannels)
                for t in 0..<tOut { for o in 0..<g.outChannels {
                    var acc = x[2][o]
                    for k in 0..<kk {
                        let ti = t * g.stride + k * g.dilation - g.padding
                        guard ti >= 0, ti < tIn else { continue }
                        for c in 0..<cg { acc += x[1][(o * kk + k) * cg + c] * x[0][ti * g.inChannels + (o / og) * cg + c] }
                    }
                    y[t * g.outChannels + o] = acc
                } }
                return y
            }
        }
    }

    func testGroupNormChannelsLastGradientsMatchPyTorchLayoutOp() throws {
        // The channels-last op must give the transposed results and gradients of the [B, C, T] op
        // (itself checked against finite differences in AutodiffEncoderOpsTests).
        let (b, t, c, groups) = (2, 5, 6, 3)
        let xNTC = try Tensor(shape: [b, t, c], values: randomArray(b * t * c, seed: 120))
        let gamma = try Tensor(shape: [c], values: randomArray(c, seed: 121))
        let beta = try Tensor(shape: [c], values: randomArray(c, seed: 122))
        let dy = try Tensor(shape: [b, t, c], values: randomArray(b * t * c, seed: 123))
        let tape1 = Tape()
        let x1 = tape1.watch(xNTC), g1 = tape1.watch(gamma)
        let y1 = try x1.groupNormChannelsLast(groups: groups, gamma: g1, beta: beta)
        let grads1 = try tape1.backward(y1, seed: dy)
        let tape2 = Tape()
        let x2 = tape2.watch(try xNTC.transposed(1, 2)), g2 = tape2.watch(gamma)
        let y2 = try x2.groupNorm(groups: groups, gamma: g2, beta: beta)
        let grads2 = try tape2.backward(y2, seed: try dy.transposed(1, 2))
        assertClose(y1.values, try y2.transposed(1, 2).values, rtol: 1e-5, atol: 1e-6, "forward")
        assertClose(try XCTUnwrap(grads1[x1]).values, try XCTUnwrap(grads2[x2]).transposed(1, 2).values,
                    rtol: 1e-4, atol: 1e-5, "input gradient")
        assertClose(try XCTUnwrap(grads1[g1]).values, try XCTUnwrap(grads2[g2]).values, rtol: 1e-4, atol: 1e-5, "gamma")
    }
}
