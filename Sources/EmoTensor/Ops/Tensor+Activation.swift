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

extension Kernels {
    /// GELU backward: `dx[i] = dy[i] · gelu'(x[i])` (exact or tanh form, matching `gelu`).
    public static func geluBackward(x: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                    gradInput: UnsafeMutablePointer<Float>, count: Int,
                                    approximation: GELUApproximation = .none) {
        switch approximation {
        case .none:
            let invSqrt2: Float = 0.70710678118654752440, invSqrt2Pi: Float = 0.39894228040143267794
            var start = 0
            while start + 8 <= count {
                let v = load8(x + start)
                let cdf = 0.5 * (1 + erf8(v * invSqrt2))
                let pdf = invSqrt2Pi * expNonPositive8(-0.5 * v * v)
                store8(load8(gradOutput + start) * (cdf + v * pdf), gradInput + start)
                start += 8
            }
            for i in start..<count {
                let v = x[i]
                let cdf = 0.5 * (1 + erff(v * invSqrt2))
                let pdf = invSqrt2Pi * expf(-0.5 * v * v)
                gradInput[i] = gradOutput[i] * (cdf + v * pdf)
            }
        case .tanh:
            let k0: Float = 0.79788456080286535588, k1: Float = 0.044715
            for i in 0..<count {
                let v = x[i]
                let inner = k0 * (v + k1 * v * v * v)
                let t = tanhf(inner)
                let dInner = k0 * (1 + 3 * k1 * v * v)
                gradInput[i] = gradOutput[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * dInner)
            }
        }
    }

    /// Softmax backward over rows: `dx = y ⊙ (dy − Σ_j dy_j · y_j)`; y, dy, dx `[N, D]` (dx may alias dy).
    public static func softmaxBackward(y: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>, rows n: Int,
                                       columns d: Int, gradInput: UnsafeMutablePointer<Float>) {
        for r in 0..<n {
            let yr = y + r * d, gr = gradOutput + r * d, dr = gradInput + r * d
            var dot: Float = 0
            for j in 0..<d { dot += gr[j] * yr[j] }
            for j in 0..<d { dr[j] = yr[j] * (gr[j] - dot) }
        }
    }
}
