// Activations and softmax with their backward passes.
import Foundation

extension Tensor {
    /// `max(x, 0)` elementwise. Backward passes the gradient where x > 0.
    public func relu() -> Tensor {
        let out = map { $0 > 0 ? $0 : 0 }
        guard let tape = Tape.active(self) else { return out }
        let y = out.detached
        return tape.record(out, inputs: [self]) { g in [g.zipMap(y) { $1 > 0 ? $0 : 0 }] }
    }

    /// GELU elementwise (exact erf form or tanh approximation).
    public func gelu(approximation: GELUApproximation = .none) -> Tensor {
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        Kernels.gelu(x: pointer, y: out.storage.pointer, count: count, approximation: approximation)
        guard let tape = Tape.active(self) else { return out }
        let x = detached
        return tape.record(out, inputs: [self]) { g in
            let gx = Tensor(shape: x.shape, storage: TensorStorage(uninitializedCount: x.count))
            Kernels.geluBackward(x: x.pointer, gradOutput: g.pointer, gradInput: gx.storage.pointer, count: x.count,
                                 approximation: approximation)
            return [gx]
        }
    }

    /// Softmax over the last dimension. Backward: dx = y ⊙ (dy − Σ dy ⊙ y).
    public func softmax() throws -> Tensor {
        guard rank >= 1 else { throw TensorError.invalidArgument("softmax: needs at least one dimension") }
        let d = shape[rank - 1], n = count / Swift.max(d, 1)
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        Kernels.softmax(x: pointer, rows: n, columns: d, y: out.storage.pointer)
        guard let tape = Tape.active(self) else { return out }
        let y = out.detached
        return tape.record(out, inputs: [self]) { g in
            let gx = Tensor(shape: y.shape, storage: TensorStorage(uninitializedCount: y.count))
            Kernels.softmaxBackward(y: y.pointer, gradOutput: g.pointer, rows: n, columns: d,
                                    gradInput: gx.storage.pointer)
            return [gx]
        }
    }

    /// log-softmax over the last dimension (x − max − log Σ exp). Backward: dx = dy − softmax · Σ dy.
    public func logSoftmax() throws -> Tensor {
        guard rank >= 1 else { throw TensorError.invalidArgument("logSoftmax: needs at least one dimension") }
        let d = shape[rank - 1], n = count / Swift.max(d, 1)
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        let px = storage.pointer, po = out.storage.pointer
        for r in 0..<n {
            let xr = px + r * d, orow = po + r * d
            let m = Kernels.maximum(xr, count: d)
            var total: Float = 0
            for j in 0..<d { total += expf(xr[j] - m) }
            let lse = m + logf(total)
            for j in 0..<d { orow[j] = xr[j] - lse }
        }
        guard let tape = Tape.active(self) else { return out }
        let y = out.detached
        return tape.record(out, inputs: [self]) { g in
            let gx = Tensor(shape: y.shape, storage: TensorStorage(uninitializedCount: y.count))
            let pg = g.storage.pointer, py = y.storage.pointer, pd = gx.storage.pointer
            for r in 0..<n {
                var s: Float = 0
                for j in 0..<d { s += pg[r * d + j] }
                for j in 0..<d { pd[r * d + j] = pg[r * d + j] - expf(py[r * d + j]) * s }
            }
            return [gx]
        }
    }
}
