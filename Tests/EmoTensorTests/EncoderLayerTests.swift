// The allocation-free encoder-layer recipe in Kernels.swift against the same layer run through the naive twins
// (plain loops in Double, each kernel's reference), with a separate output buffer per step.
import XCTest
@testable import EmoTensor

final class EncoderLayerTests: XCTestCase {
    func testKernelRecipeMatchesNaiveTwins() throws {
        let (t, c, h, f) = (7, 8, 2, 16)
        var seed: UInt64 = 150
        func param(_ count: Int, _ std: Float = 0.3) -> [Float] { seed += 1; return randomArray(count, seed: seed, scale: std) }
        let x0 = param(t * c, 1)
        let qkvW = param(3 * c * c), qkvB = param(3 * c), oW = param(c * c), oB = param(c)
        let ln1G = param(c), ln1B = param(c), fc1W = param(f * c), fc1B = param(f)
        let fc2W = param(c * f), fc2B = param(c), ln2G = param(c), ln2B = param(c)
        let g = AttentionGeometry(batch: 1, heads: h, headDim: c / h, queryLength: t, keyLength: t)
        let fused = AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c)

        // Kernel recipe, in place on x.
        var x = x0, qkv = [Float](repeating: 0, count: t * 3 * c), ctx = [Float](repeating: 0, count: t * c)
        var hidden = [Float](repeating: 0, count: t * f), scores = [Float](repeating: 0, count: g.workspaceCount)
        Kernels.linear(x: x, rows: t, inFeatures: c, weight: qkvW, bias: qkvB, outFeatures: 3 * c, y: &qkv)
        qkv.withUnsafeBufferPointer { q in
            guard let p = q.baseAddress else { return }
            Kernels.attention(g, strides: fused, q: p, k: p + c, v: p + 2 * c, keyMask: nil, positionBias: nil,
                              biasBatchStride: 0, output: &ctx, probabilities: nil, workspace: &scores)
        }
        Kernels.linear(x: ctx, rows: t, inFeatures: c, weight: oW, bias: oB, outFeatures: c, y: &x, accumulate: true)
        x.withUnsafeMutableBufferPointer { p in
            guard let px = p.baseAddress else { return }
            Kernels.layerNorm(x: px, rows: t, features: c, gamma: ln1G, beta: ln1B, eps: 1e-5, y: px)
        }
        Kernels.linear(x: x, rows: t, inFeatures: c, weight: fc1W, bias: fc1B, outFeatures: f, y: &hidden)
        hidden.withUnsafeMutableBufferPointer { p in
            guard let ph = p.baseAddress else { return }
            Kernels.gelu(x: ph, y: ph, count: t * f)
        }
        Kernels.linear(x: hidden, rows: t, inFeatures: f, weight: fc2W, bias: fc2B, outFeatures: c, y: &x, accumulate: true)
        x.withUnsafeMutableBufferPointer { p in
            guard let px = p.baseAddress else { return }
            Kernels.layerNorm(x: px, rows: t, features: c, gamma: ln2G, beta: ln2B, eps: 1e-5, y: px)
        }

        // The same layer through the naive twins, out of place.
        var nQKV = [Float](repeating: 0, count: t * 3 * c), nCtx = [Float](repeating: 0, count: t * c)
        NaiveKernels.linear(x: x0, rows: t, inFeatures: c, weight: qkvW, bias: qkvB, outFeatures: 3 * c, y: &nQKV)
        nQKV.withUnsafeBufferPointer { q in
            guard let p = q.baseAddress else { return }
            NaiveKernels.attention(g, strides: fused, q: p, k: p + c, v: p + 2 * c, keyMask: nil, positionBias: nil,
                                   biasBatchStride: 0, output: &nCtx, probabilities: nil, workspace: nil)
        }
        var r1 = x0
        NaiveKernels.linear(x: nCtx, rows: t, inFeatures: c, weight: oW, bias: oB, outFeatures: c, y: &r1, accumulate: true)
        var n1 = [Float](repeating: 0, count: t * c)
        NaiveKernels.layerNorm(x: r1, rows: t, features: c, gamma: ln1G, beta: ln1B, eps: 1e-5, y: &n1)
        var nHidden = [Float](repeating: 0, count: t * f), nAct = nHidden
        NaiveKernels.linear(x: n1, rows: t, inFeatures: c, weight: fc1W, bias: fc1B, outFeatures: f, y: &nHidden)
        NaiveKernels.gelu(x: nHidden, y: &nAct, count: t * f)
        var r2 = n1
        NaiveKernels.linear(x: nAct, rows: t, inFeatures: f, weight: fc2W, bias: fc2B, outFeatures: c, y: &r2, accumulate: true)
        var expected = [Float](repeating: 0, count: t * c)
        NaiveKernels.layerNorm(x: r2, rows: t, features: c, gamma: ln2G, beta: ln2B, eps: 1e-5, y: &expected)

        assertClose(x, expected, rtol: 1e-4, atol: 1e-5, "encoder layer")
    }
}
