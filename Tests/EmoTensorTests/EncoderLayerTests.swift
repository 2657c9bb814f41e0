// The allocation-free encoder-layer recipe in Kernels.swift against the same layer built from recorded Tensor ops
// (each of which is checked against finite differences and naive twins elsewhere).
import XCTest
@testable import EmoTensor

final class EncoderLayerTests: XCTestCase {
    func testKernelRecipeMatchesTensorOps() throws {
        let (t, c, h, f) = (7, 8, 2, 16)
        var rng = SeededGenerator(seed: 150)
        func param(_ shape: [Int], _ std: Float = 0.3) -> Tensor { Tensor.randomNormal(shape: shape, std: std, generator: &rng) }
        let x0 = param([t, c], 1)
        let qkvW = param([3 * c, c]), qkvB = param([3 * c]), oW = param([c, c]), oB = param([c])
        let ln1G = param([c]), ln1B = param([c]), fc1W = param([f, c]), fc1B = param([f])
        let fc2W = param([c, f]), fc2B = param([c]), ln2G = param([c]), ln2B = param([c])

        // Kernel recipe, in place on x.
        let x = x0.copy()
        let qkv = TensorStorage(count: t * 3 * c), ctx = TensorStorage(count: t * c), hidden = TensorStorage(count: t * f)
        let g = AttentionGeometry(batch: 1, heads: h, headDim: c / h, queryLength: t, keyLength: t)
        let scores = TensorStorage(count: g.workspaceCount)
        let px = x.storage.pointer
        Kernels.linear(x: px, rows: t, inFeatures: c, weight: qkvW.pointer, bias: qkvB.pointer, outFeatures: 3 * c,
                       y: qkv.pointer)
        Kernels.attention(g, strides: AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c),
                          q: qkv.pointer, k: qkv.pointer + c, v: qkv.pointer + 2 * c, keyMask: nil, positionBias: nil,
                          biasBatchStride: 0, output: ctx.pointer, probabilities: nil, workspace: scores.pointer)
        Kernels.linear(x: ctx.pointer, rows: t, inFeatures: c, weight: oW.pointer, bias: oB.pointer, outFeatures: c,
                       y: px, accumulate: true)
        Kernels.layerNorm(x: px, rows: t, features: c, gamma: ln1G.pointer, beta: ln1B.pointer, eps: 1e-5, y: px)
        Kernels.linear(x: px, rows: t, inFeatures: c, weight: fc1W.pointer, bias: fc1B.pointer, outFeatures: f,
                       y: hidden.pointer)
        Kernels.gelu(x: hidden.pointer, y: hidden.pointer, count: t * f)
        Kernels.linear(x: hidden.pointer, rows: t, inFeatures: f, weight: fc2W.pointer, bias: fc2B.pointer,
                       outFeatures: c, y: px, accumulate: true)
        Kernels.layerNorm(x: px, rows: t, features: c, gamma: ln2G.pointer, beta: ln2B.pointer, eps: 1e-5, y: px)

        // Same layer from Tensor ops.
        let projected = try x0.linear(weight: qkvW, bias: qkvB)                       // [T, 3C]
        let parts = try projected.split(sizes: [c, c, c], axis: 1).map { try $0.reshaped([1, t, c]) }
        let attended = try Tensor.attention(query: parts[0], key: parts[1], value: parts[2], heads: h)
        var y = try x0.add(try attended.reshaped([t, c]).linear(weight: oW, bias: oB))
        y = try y.layerNorm(gamma: ln1G, beta: ln1B)
        let ffn = try y.linear(weight: fc1W, bias: fc1B).gelu().linear(weight: fc2W, bias: fc2B)
        y = try y.add(ffn).layerNorm(gamma: ln2G, beta: ln2B)

        assertClose(x.values, y.values, rtol: 1e-4, atol: 1e-5, "encoder layer")
    }
}
