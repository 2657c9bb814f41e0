// Backward of the encoder ops (conv1d, group norm, attention, embedding, pooling) against finite differences,
// and the backward kernels against their naive twins.
import Foundation
import XCTest
@testable import EmoTensor

final class AutodiffEncoderOpsTests: XCTestCase {
    func testConv1dBackwardKernelMatchesNaive() throws {
        for (index, (g, tIn)) in KernelTests.convCases.enumerated() {
            let b = 2, tOut = g.outputLength(inputLength: tIn)
            let inputs = [randomArray(b * g.inChannels * tIn, seed: 80), randomArray(g.weightCount, seed: 81),
                          randomArray(b * g.outChannels * tOut, seed: 82)]
            var fast = inputs + [[Float](repeating: .nan, count: b * g.inChannels * tIn),
                                 [Float](repeating: .nan, count: g.weightCount),
                                 [Float](repeating: .nan, count: g.outChannels),
                                 [Float](repeating: .nan, count: max(1, Kernels.conv1dBackwardWorkspaceCount(g, inputLength: tIn)))]
            var slow = fast
            withBuffers(&fast) { p in
                Kernels.conv1dBackward(g, batch: b, inputLength: tIn, x: p[0], weight: p[1], gradOutput: p[2],
                                       gradInput: p[3], gradWeight: p[4], gradBias: p[5], workspace: p[6])
            }
            withBuffers(&slow) { p in
                NaiveKernels.conv1dBackward(g, batch: b, inputLength: tIn, x: p[0], weight: p[1], gradOutput: p[2],
                                            gradInput: p[3], gradWeight: p[4], gradBias: p[5], workspace: nil)
            }
            for k in 3...5 { assertClose(fast[k], slow[k], "conv1d backward case \(index) output \(k)") }
        }
    }

    func testConv1dGradients() throws {
        // Stride, padding, dilation and groups together.
        let (b, cin, cout, k, tIn, s, p, d, groups) = (2, 4, 6, 3, 9, 2, 2, 2, 2)
        let g = Conv1dGeometry(inChannels: cin, outChannels: cout, kernelSize: k, stride: s, padding: p,
                               dilation: d, groups: groups)
        let tOut = g.outputLength(inputLength: tIn)
        try checkGradients("conv1d", shapes: [[b, cin, tIn], [cout, cin / groups, k], [cout]],
                           op: { try $0[0].conv1d(weight: $0[1], bias: $0[2], stride: s, padding: p, dilation: d,
                                                  groups: groups) }) { x in
            var y = [Double](repeating: 0, count: b * cout * tOut)
            let cg = cin / groups, og = cout / groups
            for bi in 0..<b { for o in 0..<cout { for t in 0..<tOut {
                var acc = x[2][o]
                for c in 0..<cg { for kk in 0..<k {
                    let ti = t * s + kk * d - p
                    if ti >= 0 && ti < tIn { acc += x[1][(o * cg + c) * k + kk] * x[0][(bi * cin + (o / og) * cg + c) * tIn + ti] }
                } }
                y[(bi * cout + o) * tOut + t] = acc
            } } }
            return y
        }
    }

    func testGroupNormGradients() throws {
        let (b, c, t, groups) = (2, 6, 5, 3)
        try checkGradients("groupNorm", shapes: [[b, c, t], [c], [c]],
                           op: { try $0[0].groupNorm(groups: groups, gamma: $0[1], beta: $0[2]) }) { x in
            var y = x[0]
            let cg = c / groups
            for bi in 0..<b { for g in 0..<groups {
                let idx = (g * cg..<(g + 1) * cg).flatMap { ch in (0..<t).map { (bi * c + ch) * t + $0 } }
                let mu = idx.reduce(0) { $0 + x[0][$1] } / Double(idx.count)
                let v = idx.reduce(0) { $0 + (x[0][$1] - mu) * (x[0][$1] - mu) } / Double(idx.count)
                for i in idx { let ch = (i / t) % c; y[i] = (x[0][i] - mu) / (v + 1e-5).squareRoot() * x[1][ch] + x[2][ch] }
            } }
            return y
        }
    }

    func testAttentionGradientsWithMaskAndBias() throws {
        let (b, h, d, tq, tk) = (2, 2, 3, 4, 5)
        let c = h * d
        var mask = [UInt8](repeating: 1, count: b * tk)
        mask[tk + 3] = 0
        mask[tk + 4] = 0
        let scale: Float = 0.7
        try checkGradients("attention", shapes: [[b, tq, c], [b, tk, c], [b, tk, c], [b, h, tq, tk]],
                           op: { try Tensor.attention(query: $0[0], key: $0[1], value: $0[2], heads: h, keyMask: mask,
                                                      positionBias: $0[3], scale: scale) }) { x in
            var y = [Double](repeating: 0, count: b * tq * c)
            for bi in 0..<b { for hi in 0..<h { for i in 0..<tq {
                var s = [Double](repeating: -.infinity, count: tk)
                for j in 0..<tk where mask[bi * tk + j] != 0 {
                    var dot = 0.0
                    for e in 0..<d { dot += x[0][(bi * tq + i) * c + hi * d + e] * x[1][(bi * tk + j) * c + hi * d + e] }
                    s[j] = Double(scale) * dot + x[3][((bi * h + hi) * tq + i) * tk + j]
                }
                let m = s.max() ?? 0
                let e = s.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
                let total = e.reduce(0, +)
                for ee in 0..<d {
                    y[(bi * tq + i) * c + hi * d + ee] = (0..<tk).reduce(0) { $0 + e[$1] / total * x[2][(bi * tk + $1) * c + hi * d + ee] }
                }
            } } }
            return y
        }
    }

    func testAttentionBackwardKernelWithFusedQKVAndSharedBias() throws {
        // Fused [B, T, 3C] buffer with gradients written into one [B, T, 3C] gradient buffer, bias shared across
        // the batch: compare with the Tensor op on separate q, k, v (already checked against finite differences).
        let (b, h, d, t) = (2, 2, 3, 4)
        let c = h * d
        let qkv = randomArray(b * t * 3 * c, seed: 90), bias = randomArray(h * t * t, seed: 91)
        let dy = randomArray(b * t * c, seed: 92)
        let g = AttentionGeometry(batch: b, heads: h, headDim: d, queryLength: t, keyLength: t)
        let strides = AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c)
        var buffers = [qkv, bias, dy, [Float](repeating: 0, count: b * t * c), [Float](repeating: 0, count: g.probabilitiesCount),
                       [Float](repeating: .nan, count: qkv.count), [Float](repeating: .nan, count: bias.count),
                       [Float](repeating: 0, count: g.workspaceCount)]
        withBuffers(&buffers) { p in
            Kernels.attention(g, strides: strides, q: p[0], k: p[0] + c, v: p[0] + 2 * c, keyMask: nil, positionBias: p[1],
                              biasBatchStride: 0, output: p[3], probabilities: p[4], workspace: nil)
            Kernels.attentionBackward(g, strides: strides, q: p[0], k: p[0] + c, v: p[0] + 2 * c, probabilities: p[4],
                                      gradOutput: p[2], gradQuery: p[5], gradKey: p[5] + c, gradValue: p[5] + 2 * c,
                                      gradBias: p[6], biasBatchStride: 0, workspace: p[7])
        }
        // Reference: split q, k, v and run the recorded op.
        func column(_ part: Int) throws -> Tensor {
            var values: [Float] = []
            for row in 0..<(b * t) {
                let start: Int = row * 3 * c + part * c
                values += qkv[start..<(start + c)]
            }
            return try Tensor(shape: [b, t, c], values: values)
        }
        let tape = Tape()
        let q = tape.watch(try column(0)), k = tape.watch(try column(1)), v = tape.watch(try column(2))
        let pb = tape.watch(try Tensor(shape: [h, t, t], values: bias))
        let out = try Tensor.attention(query: q, key: k, value: v, heads: h, positionBias: pb)
        assertClose(buffers[3], out.values, rtol: 1e-5, atol: 1e-6, "forward")
        let grads = try tape.backward(out, seed: try Tensor(shape: [b, t, c], values: dy))
        for (part, tensor) in [q, k, v].enumerated() {
            let expected = try XCTUnwrap(grads[tensor]).values
            var got: [Float] = []
            for row in 0..<(b * t) {
                let start: Int = row * 3 * c + part * c
                got += buffers[5][start..<(start + c)]
            }
            assertClose(got, expected, rtol: 1e-5, atol: 1e-6, "fused gradient part \(part)")
        }
        assertClose(buffers[6], try XCTUnwrap(grads[pb]).values, rtol: 1e-5, atol: 1e-6, "shared bias gradient")
    }

    func testEmbeddingAndPooling() throws {
        let indices = [3, 0, 3, 1]
        try checkGradients("embedding", shapes: [[4, 3]], op: { try $0[0].embedding(indices) }) { x in
            indices.flatMap { i in Array(x[0][(i * 3)..<(i * 3 + 3)]) }
        }
        let mask: [UInt8] = [1, 1, 0, 1, 0, 0, 0, 0]  // item 0: frames 0, 1, 3 valid; item 1: none
        let (b, t, c) = (2, 4, 3)
        try checkGradients("masked mean", shapes: [[b, t, c]], op: { try $0[0].maskedMeanPool(mask: mask) }) { x in
            var y = [Double](repeating: 0, count: b * c)
            for j in 0..<c { y[j] = [0, 1, 3].reduce(0) { $0 + x[0][$1 * c + j] } / 3 }
            return y
        }
        try checkGradients("masked max", shapes: [[b, t, c]], op: { try $0[0].maskedMaxPool(mask: mask) }) { x in
            var y = [Double](repeating: 0, count: b * c)
            for j in 0..<c { y[j] = [0, 1, 3].map { x[0][$0 * c + j] }.max() ?? 0 }
            return y
        }
        try checkGradients("mean pool unmasked", shapes: [[b, t, c]], op: { try $0[0].maskedMeanPool() }) { x in
            (0..<(b * c)).map { i in (0..<t).reduce(0) { $0 + x[0][((i / c) * t + $1) * c + i % c] } / Double(t) }
        }
        XCTAssertThrowsError(try Tensor(shape: [4, 3]).embedding([4]))
    }

    func testGroupNormBackwardAgreesWithLayerNormWhenOneGroupPerRow() throws {
        // GroupNorm(1 group) over [B, C, 1] normalises each item over C, exactly LayerNorm over [B, C] without affine.
        let x = try Tensor(shape: [3, 5, 1], values: randomArray(15, seed: 95))
        let dy = try Tensor(shape: [3, 5, 1], values: randomArray(15, seed: 96))
        let t1 = Tape(), t2 = Tape()
        let a = t1.watch(x), bx = t2.watch(try x.reshaped([3, 5]))
        let ga = try t1.backward(try a.groupNorm(groups: 1, gamma: nil, beta: nil), seed: dy)[a]
        let gb = try t2.backward(try bx.layerNorm(gamma: nil, beta: nil), seed: try dy.reshaped([3, 5]))[bx]
        assertClose(try XCTUnwrap(ga).values, try XCTUnwrap(gb).values, rtol: 1e-5, atol: 1e-6)
    }
}
