// The backward kernels (conv1d in both layouts, group and layer norm, attention, GELU, softmax) against finite
// differences of Double references, against their naive twins, and against PyTorch itself (fixture from
// Tests/Reference/tensor_fixtures.py). These are the kernels RoBERTa's and the trained layers' backward passes use.
import EmoLayers
import Foundation
import XCTest
@testable import EmoTensor

final class KernelGradientTests: XCTestCase {
    // MARK: - conv1d, PyTorch layout [B, C, T]

    func testConv1dBackwardKernelMatchesNaive() throws {
        for (index, (g, tIn)) in KernelTests.convCases.enumerated() {
            let b = 2, tOut = g.outputLength(inputLength: tIn)
            let inputs = [randomArray(b * g.inChannels * tIn, seed: 80), randomArray(g.weightCount, seed: 81),
                          randomArray(b * g.outChannels * tOut, seed: 82)]
            var fast = inputs + nanBuffers([b * g.inChannels * tIn, g.weightCount, g.outChannels,
                                            Kernels.conv1dBackwardWorkspaceCount(g, inputLength: tIn)])
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

    /// Forward and backward of `Kernels.conv1d` on x `[B, Cin, T]`, weight `[Cout, Cin/G, K]`, bias `[Cout]`.
    func conv1d(_ g: Conv1dGeometry, batch b: Int, inputLength tIn: Int, _ x: [[Float]], _ dy: [Float]) -> ([Float], [[Float]?]) {
        let tOut = g.outputLength(inputLength: tIn)
        let work = max(Kernels.conv1dBackwardWorkspaceCount(g, inputLength: tIn),
                       g.groupInChannels * g.kernelSize * tOut)
        var buffers = x + [dy] + nanBuffers([b * g.outChannels * tOut, x[0].count, x[1].count, x[2].count, work])
        withBuffers(&buffers) { p in
            Kernels.conv1d(g, batch: b, inputLength: tIn, x: p[0], weight: p[1], bias: p[2], y: p[4], workspace: p[8])
            Kernels.conv1dBackward(g, batch: b, inputLength: tIn, x: p[0], weight: p[1], gradOutput: p[3],
                                   gradInput: p[5], gradWeight: p[6], gradBias: p[7], workspace: p[8])
        }
        return (buffers[4], [buffers[5], buffers[6], buffers[7]])
    }

    func testConv1dGradients() throws {
        // Stride, padding, dilation and groups together.
        let (b, cin, cout, k, tIn, s, p, d, groups) = (2, 4, 6, 3, 9, 2, 2, 2, 2)
        let g = Conv1dGeometry(inChannels: cin, outChannels: cout, kernelSize: k, stride: s, padding: p,
                               dilation: d, groups: groups)
        let tOut = g.outputLength(inputLength: tIn)
        try checkGradients("conv1d", shapes: [[b, cin, tIn], [cout, cin / groups, k], [cout]],
                           op: { x, dy in self.conv1d(g, batch: b, inputLength: tIn, x, dy) }) { x in
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

    func testConv1dForwardAndBackwardMatchTorch() throws {
        let ref = try TorchReference.load().encoder_ops.conv
        let g = Conv1dGeometry(inChannels: 4, outChannels: 6, kernelSize: 3, stride: ref.stride, padding: ref.padding,
                               dilation: ref.dilation, groups: ref.groups)
        XCTAssertEqual([2, 6, g.outputLength(inputLength: 11)], ref.y_shape)
        let (y, grads) = conv1d(g, batch: 2, inputLength: 11, [ref.x, ref.weight, ref.bias], ref.dy)
        assertClose(y, ref.y, rtol: 1e-5, atol: 1e-5, "conv1d forward")
        assertClose(try XCTUnwrap(grads[0]), ref.dx, rtol: 1e-5, atol: 1e-5, "conv1d dx")
        assertClose(try XCTUnwrap(grads[1]), ref.dw, rtol: 1e-5, atol: 1e-5, "conv1d dw")
        assertClose(try XCTUnwrap(grads[2]), ref.db, rtol: 1e-5, atol: 1e-5, "conv1d db")
    }

    // MARK: - conv1d, channels-last [B, T, C]

    func testConv1dChannelsLastBackwardKernelMatchesNaive() {
        for (index, (g, tIn)) in KernelTests.convCases.enumerated() {
            let b = 2, tOut = g.outputLength(inputLength: tIn)
            let inputs = [randomArray(b * tIn * g.inChannels, seed: 110), randomArray(g.weightCount, seed: 111),
                          randomArray(b * tOut * g.outChannels, seed: 112)]
            var fast = inputs + nanBuffers([b * tIn * g.inChannels, g.weightCount, g.outChannels,
                                            Kernels.conv1dChannelsLastBackwardWorkspaceCount(g, inputLength: tIn)])
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
                               op: { x, dy in
                let work = max(Kernels.conv1dChannelsLastWorkspaceCount(g, inputLength: tIn),
                               Kernels.conv1dChannelsLastBackwardWorkspaceCount(g, inputLength: tIn))
                var buffers = x + [dy] + nanBuffers([b * tOut * g.outChannels, x[0].count, x[1].count, x[2].count, work])
                withBuffers(&buffers) { p in
                    Kernels.conv1dChannelsLast(g, batch: b, inputLength: tIn, x: p[0], packedWeight: p[1], bias: p[2],
                                               y: p[4], workspace: p[8])
                    Kernels.conv1dChannelsLastBackward(g, batch: b, inputLength: tIn, x: p[0], packedWeight: p[1],
                                                       gradOutput: p[3], gradInput: p[5], gradPackedWeight: p[6],
                                                       gradBias: p[7], workspace: p[8])
                }
                return (buffers[4], [buffers[5], buffers[6], buffers[7]])
            }) { x in
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

    // MARK: - Norms

    /// Group norm forward and backward, PyTorch layout x `[B, C, T]`.
    func groupNorm(_ x: [[Float]], _ dy: [Float], batch b: Int, channels c: Int, length t: Int, groups: Int) -> ([Float], [[Float]?]) {
        var buffers = x + [dy] + nanBuffers([x[0].count, b * groups, b * groups, x[0].count, c, c])
        withBuffers(&buffers) { p in
            Kernels.groupNorm(x: p[0], batch: b, channels: c, length: t, groups: groups, gamma: p[1], beta: p[2],
                              eps: 1e-5, y: p[4], mean: p[5], rstd: p[6])
            Kernels.groupNormBackward(x: p[0], gradOutput: p[3], batch: b, channels: c, length: t, groups: groups,
                                      gamma: p[1], mean: p[5], rstd: p[6], gradInput: p[7], gradGamma: p[8],
                                      gradBeta: p[9])
        }
        return (buffers[4], [buffers[7], buffers[8], buffers[9]])
    }

    func testGroupNormGradients() throws {
        let (b, c, t, groups) = (2, 6, 5, 3)
        try checkGradients("groupNorm", shapes: [[b, c, t], [c], [c]],
                           op: { x, dy in self.groupNorm(x, dy, batch: b, channels: c, length: t, groups: groups) }) { x in
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

    func testGroupNormChannelsLastGradientsMatchPyTorchLayout() throws {
        // The channels-last kernels must give the transposed results and gradients of the [B, C, T] ones
        // (themselves checked against finite differences above).
        let (b, t, c, groups) = (2, 5, 6, 3)
        let xNTC = randomArray(b * t * c, seed: 120), gamma = randomArray(c, seed: 121), beta = randomArray(c, seed: 122)
        let dyNTC = randomArray(b * t * c, seed: 123)
        func transpose(_ v: [Float], _ rows: Int, _ cols: Int) -> [Float] {  // per batch item [rows, cols] → [cols, rows]
            var out = v
            for bi in 0..<b { for r in 0..<rows { for q in 0..<cols { out[bi * rows * cols + q * rows + r] = v[bi * rows * cols + r * cols + q] } } }
            return out
        }
        var buffers = [xNTC, gamma, beta, dyNTC] + nanBuffers([b * t * c, b * groups, b * groups, b * t * c, c, c])
        withBuffers(&buffers) { p in
            Kernels.groupNormChannelsLast(x: p[0], batch: b, length: t, channels: c, groups: groups, gamma: p[1], beta: p[2],
                                          eps: 1e-5, y: p[4], mean: p[5], rstd: p[6])
            Kernels.groupNormChannelsLastBackward(x: p[0], gradOutput: p[3], batch: b, length: t, channels: c, groups: groups,
                                                  gamma: p[1], mean: p[5], rstd: p[6], gradInput: p[7], gradGamma: p[8],
                                                  gradBeta: nil)
        }
        let (y2, grads2) = groupNorm([transpose(xNTC, t, c), gamma, beta], transpose(dyNTC, t, c), batch: b, channels: c,
                                     length: t, groups: groups)
        assertClose(buffers[4], transpose(y2, c, t), rtol: 1e-5, atol: 1e-6, "forward")
        assertClose(buffers[7], transpose(try XCTUnwrap(grads2[0]), c, t), rtol: 1e-4, atol: 1e-5, "input gradient")
        assertClose(buffers[8], try XCTUnwrap(grads2[1]), rtol: 1e-4, atol: 1e-5, "gamma")
    }

    /// Layer norm forward and backward over rows `[N, C]`.
    func layerNorm(_ x: [[Float]], _ dy: [Float], rows n: Int, features c: Int, affine: Bool = true) -> ([Float], [[Float]?]) {
        var buffers = x + [dy] + nanBuffers([n * c, n, n, n * c, c, c])
        let d = x.count  // index of dy
        withBuffers(&buffers) { p in
            Kernels.layerNorm(x: p[0], rows: n, features: c, gamma: affine ? p[1] : nil, beta: affine ? p[2] : nil,
                              eps: 1e-5, y: p[d + 1], mean: p[d + 2], rstd: p[d + 3])
            Kernels.layerNormBackward(x: p[0], gradOutput: p[d], rows: n, features: c, gamma: affine ? p[1] : nil,
                                      mean: p[d + 2], rstd: p[d + 3], gradInput: p[d + 4], gradGamma: p[d + 5],
                                      gradBeta: p[d + 6])
        }
        return (buffers[d + 1], affine ? [buffers[d + 4], buffers[d + 5], buffers[d + 6]] : [buffers[d + 4]])
    }

    func testLayerNormGradients() throws {
        try checkGradients("layerNorm", shapes: [[4, 6], [6], [6]],
                           op: { x, dy in self.layerNorm(x, dy, rows: 4, features: 6) }) { x in
            Ref.layerNorm(x[0], x[1], x[2], c: 6, eps: 1e-5)
        }
    }

    func testGroupNormBackwardAgreesWithLayerNormWhenOneGroupPerRow() throws {
        // GroupNorm(1 group) over [B, C, 1] normalises each item over C, exactly LayerNorm over [B, C] without affine.
        let x = randomArray(15, seed: 95), dy = randomArray(15, seed: 96)
        var buffers = [x, dy] + nanBuffers([15, 3, 3, 15])
        withBuffers(&buffers) { p in
            Kernels.groupNorm(x: p[0], batch: 3, channels: 5, length: 1, groups: 1, gamma: nil, beta: nil, eps: 1e-5,
                              y: p[2], mean: p[3], rstd: p[4])
            Kernels.groupNormBackward(x: p[0], gradOutput: p[1], batch: 3, channels: 5, length: 1, groups: 1, gamma: nil,
                                      mean: p[3], rstd: p[4], gradInput: p[5], gradGamma: nil, gradBeta: nil)
        }
        let (_, ln) = layerNorm([x], dy, rows: 3, features: 5, affine: false)
        assertClose(buffers[5], try XCTUnwrap(ln[0]), rtol: 1e-5, atol: 1e-6)
    }

    func testNormsAndGELUMatchTorch() throws {
        let ops = try TorchReference.load().encoder_ops
        let gn = ops.group_norm
        let (gy, _) = groupNorm([gn.x, gn.gamma, gn.beta], [Float](repeating: 0, count: gn.x.count), batch: 2, channels: 6,
                                length: 5, groups: gn.groups ?? 1)
        assertClose(gy, gn.y, rtol: 1e-5, atol: 1e-5, "group norm")
        let ln = ops.layer_norm
        let (ly, _) = layerNorm([ln.x, ln.gamma, ln.beta], [Float](repeating: 0, count: ln.x.count), rows: 3, features: 10)
        assertClose(ly, ln.y, rtol: 1e-5, atol: 1e-5, "layer norm")
        for (approximation, expected, what) in [(GELUApproximation.none, ops.gelu.erf, "gelu erf"), (.tanh, ops.gelu.tanh, "gelu tanh")] {
            var y = [Float](repeating: .nan, count: ops.gelu.x.count)
            Kernels.gelu(x: ops.gelu.x, y: &y, count: y.count, approximation: approximation)
            assertClose(y, expected, rtol: 1e-5, atol: 2e-6, what)
        }
    }

    // MARK: - Activations

    func testGELUAndSoftmaxGradients() throws {
        for tanhForm in [false, true] {
            let approximation: GELUApproximation = tanhForm ? .tanh : .none
            try checkGradients("gelu tanh=\(tanhForm)", shapes: [[3, 7]], inputScale: 2, op: { x, dy in
                var y = [Float](repeating: .nan, count: 21), dx = y
                Kernels.gelu(x: x[0], y: &y, count: 21, approximation: approximation)
                Kernels.geluBackward(x: x[0], gradOutput: dy, gradInput: &dx, count: 21, approximation: approximation)
                return (y, [dx])
            }) { x in
                x[0].map { Ref.gelu($0, tanhForm: tanhForm) }
            }
        }
        try checkGradients("softmax", shapes: [[3, 6]], op: { x, dy in
            var y = [Float](repeating: .nan, count: 18), dx = y
            Kernels.softmax(x: x[0], rows: 3, columns: 6, y: &y)
            Kernels.softmaxBackward(y: y, gradOutput: dy, rows: 3, columns: 6, gradInput: &dx)
            return (y, [dx])
        }) { x in
            Ref.logSoftmax(x[0], d: 6).map { Foundation.exp($0) }
        }
    }

    // MARK: - Attention

    /// Attention forward and backward with q, k, v in separate `[B, T, C]` buffers and a per-item bias.
    func testAttentionGradientsWithMaskAndBias() throws {
        let (b, h, d, tq, tk) = (2, 2, 3, 4, 5)
        let c = h * d
        var mask = [UInt8](repeating: 1, count: b * tk)
        mask[tk + 3] = 0
        mask[tk + 4] = 0
        let scale: Float = 0.7
        let g = AttentionGeometry(batch: b, heads: h, headDim: d, queryLength: tq, keyLength: tk, scale: scale)
        try checkGradients("attention", shapes: [[b, tq, c], [b, tk, c], [b, tk, c], [b, h, tq, tk]], op: { x, dy in
            var buffers = x + [dy] + nanBuffers([b * tq * c, g.probabilitiesCount, x[0].count, x[1].count, x[2].count,
                                                 x[3].count, g.workspaceCount])
            mask.withUnsafeBufferPointer { m in
                withBuffers(&buffers) { p in
                    Kernels.attention(g, strides: AttentionStrides(channels: c), q: p[0], k: p[1], v: p[2],
                                      keyMask: m.baseAddress, positionBias: p[3], biasBatchStride: h * tq * tk,
                                      output: p[5], probabilities: p[6], workspace: p[11])
                    Kernels.attentionBackward(g, strides: AttentionStrides(channels: c), q: p[0], k: p[1], v: p[2],
                                              probabilities: p[6], gradOutput: p[4], gradQuery: p[7], gradKey: p[8],
                                              gradValue: p[9], gradBias: p[10], biasBatchStride: h * tq * tk,
                                              workspace: p[11])
                }
            }
            return (buffers[5], [buffers[7], buffers[8], buffers[9], buffers[10]])
        }) { x in
            Self.attentionReference(q: x[0], k: x[1], v: x[2], bias: x[3], biasBatchStride: h * tq * tk, mask: mask,
                                    b: b, h: h, d: d, tq: tq, tk: tk, scale: Double(scale), qStride: c, kvStride: c)
        }
    }

    func testAttentionBackwardKernelWithFusedQKVAndSharedBias() throws {
        // One fused [B, T, 3C] buffer (q | k | v per row) with its gradient written into one [B, T, 3C] buffer, and a
        // bias shared across the batch (batch stride 0).
        let (b, h, d, t) = (2, 2, 3, 4)
        let c = h * d
        let g = AttentionGeometry(batch: b, heads: h, headDim: d, queryLength: t, keyLength: t)
        let strides = AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c)
        try checkGradients("fused attention", shapes: [[b, t, 3 * c], [h, t, t]], seed: 90, op: { x, dy in
            var buffers = x + [dy] + nanBuffers([b * t * c, g.probabilitiesCount, x[0].count, x[1].count, g.workspaceCount])
            withBuffers(&buffers) { p in
                Kernels.attention(g, strides: strides, q: p[0], k: p[0] + c, v: p[0] + 2 * c, keyMask: nil, positionBias: p[1],
                                  biasBatchStride: 0, output: p[3], probabilities: p[4], workspace: p[7])
                Kernels.attentionBackward(g, strides: strides, q: p[0], k: p[0] + c, v: p[0] + 2 * c, probabilities: p[4],
                                          gradOutput: p[2], gradQuery: p[5], gradKey: p[5] + c, gradValue: p[5] + 2 * c,
                                          gradBias: p[6], biasBatchStride: 0, workspace: p[7])
            }
            return (buffers[3], [buffers[5], buffers[6]])
        }) { x in
            let qkv = x[0]
            func part(_ k: Int) -> [Double] {
                var out: [Double] = []
                for row in 0..<(b * t) {
                    let start: Int = row * 3 * c + k * c
                    out += qkv[start..<(start + c)]
                }
                return out
            }
            return Self.attentionReference(q: part(0), k: part(1), v: part(2), bias: x[1], biasBatchStride: 0,
                                           mask: nil, b: b, h: h, d: d, tq: t, tk: t, scale: 1 / Double(d).squareRoot(),
                                           qStride: c, kvStride: c)
        }
    }

    func testAttentionMatchesTorchSDPA() throws {
        let a = try TorchReference.load().encoder_ops.attention
        let c = a.heads * a.head_dim
        let g = AttentionGeometry(batch: a.batch, heads: a.heads, headDim: a.head_dim, queryLength: a.tq, keyLength: a.tk)
        var buffers = [a.q, a.k, a.v, a.bias] + nanBuffers([a.batch * a.tq * c, g.workspaceCount])
        let mask = a.mask.map { UInt8($0) }
        mask.withUnsafeBufferPointer { m in
            withBuffers(&buffers) { p in
                Kernels.attention(g, strides: AttentionStrides(channels: c), q: p[0], k: p[1], v: p[2], keyMask: m.baseAddress,
                                  positionBias: p[3], biasBatchStride: a.heads * a.tq * a.tk, output: p[4],
                                  probabilities: nil, workspace: p[5])
            }
        }
        assertClose(buffers[4], a.out, rtol: 1e-5, atol: 1e-5, "attention vs torch SDPA")
    }

    /// softmax(scale · q kᵀ + bias, masked keys excluded) v per (batch, head), in Double; output `[B, Tq, C]`.
    static func attentionReference(q: [Double], k: [Double], v: [Double], bias: [Double], biasBatchStride: Int,
                                   mask: [UInt8]?, b: Int, h: Int, d: Int, tq: Int, tk: Int, scale: Double,
                                   qStride: Int, kvStride: Int) -> [Double] {
        let c = h * d
        var y = [Double](repeating: 0, count: b * tq * c)
        for bi in 0..<b { for hi in 0..<h { for i in 0..<tq {
            var s = [Double](repeating: -.infinity, count: tk)
            for j in 0..<tk where (mask?[bi * tk + j] ?? 1) != 0 {
                var dot = 0.0
                for e in 0..<d { dot += q[(bi * tq + i) * qStride + hi * d + e] * k[(bi * tk + j) * kvStride + hi * d + e] }
                s[j] = scale * dot + bias[bi * biasBatchStride + (hi * tq + i) * tk + j]
            }
            let m = s.max() ?? 0
            let e = s.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
            let total = e.reduce(0, +)
            for ee in 0..<d {
                y[(bi * tq + i) * c + hi * d + ee] = (0..<tk).reduce(0) { $0 + e[$1] / total * v[(bi * tk + $1) * kvStride + hi * d + ee] }
            }
        } } }
        return y
    }
}
