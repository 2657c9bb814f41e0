// Encoder ops against PyTorch itself (fixture from Tests/Reference/tensor_fixtures.py): conv1d forward and
// backward, group norm, layer norm, both GELUs, scaled-dot-product attention with padding mask and bias.
import XCTest
@testable import EmoTensor

final class TorchEncoderOpsTests: XCTestCase {
    func testConv1dForwardAndBackwardMatchTorch() throws {
        let ref = try TorchReference.load().encoder_ops.conv
        let tape = Tape()
        let x = tape.watch(try Tensor(shape: [2, 4, 11], values: ref.x))
        let w = tape.watch(try Tensor(shape: [6, 2, 3], values: ref.weight))
        let b = tape.watch(try Tensor(shape: [6], values: ref.bias))
        let y = try x.conv1d(weight: w, bias: b, stride: ref.stride, padding: ref.padding, dilation: ref.dilation,
                             groups: ref.groups)
        XCTAssertEqual(y.shape, ref.y_shape)
        assertClose(y.values, ref.y, rtol: 1e-5, atol: 1e-5, "conv1d forward")
        let grads = try tape.backward(y, seed: try Tensor(shape: ref.y_shape, values: ref.dy))
        assertClose(try XCTUnwrap(grads[x]).values, ref.dx, rtol: 1e-5, atol: 1e-5, "conv1d dx")
        assertClose(try XCTUnwrap(grads[w]).values, ref.dw, rtol: 1e-5, atol: 1e-5, "conv1d dw")
        assertClose(try XCTUnwrap(grads[b]).values, ref.db, rtol: 1e-5, atol: 1e-5, "conv1d db")
    }

    func testNormsAndGELUMatchTorch() throws {
        let ops = try TorchReference.load().encoder_ops
        let gn = ops.group_norm
        let gy = try Tensor(shape: [2, 6, 5], values: gn.x).groupNorm(
            groups: gn.groups ?? 1, gamma: try Tensor(shape: [6], values: gn.gamma),
            beta: try Tensor(shape: [6], values: gn.beta))
        assertClose(gy.values, gn.y, rtol: 1e-5, atol: 1e-5, "group norm")
        let ln = ops.layer_norm
        let ly = try Tensor(shape: [3, 10], values: ln.x).layerNorm(gamma: try Tensor(shape: [10], values: ln.gamma),
                                                                   beta: try Tensor(shape: [10], values: ln.beta))
        assertClose(ly.values, ln.y, rtol: 1e-5, atol: 1e-5, "layer norm")
        let x = try Tensor(shape: [ops.gelu.x.count], values: ops.gelu.x)
        assertClose(x.gelu(approximation: .none).values, ops.gelu.erf, rtol: 1e-5, atol: 2e-6, "gelu erf")
        assertClose(x.gelu(approximation: .tanh).values, ops.gelu.tanh, rtol: 1e-5, atol: 2e-6, "gelu tanh")
    }

    func testAttentionMatchesTorchSDPA() throws {
        let a = try TorchReference.load().encoder_ops.attention
        let c = a.heads * a.head_dim
        let out = try Tensor.attention(
            query: try Tensor(shape: [a.batch, a.tq, c], values: a.q),
            key: try Tensor(shape: [a.batch, a.tk, c], values: a.k),
            value: try Tensor(shape: [a.batch, a.tk, c], values: a.v), heads: a.heads,
            keyMask: a.mask.map { UInt8($0) },
            positionBias: try Tensor(shape: [a.batch, a.heads, a.tq, a.tk], values: a.bias))
        assertClose(out.values, a.out, rtol: 1e-5, atol: 1e-5, "attention vs torch SDPA")
    }
}
