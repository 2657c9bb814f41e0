// Linear layers and matrix products (forward on Kernels.sgemm, backward as two more GEMMs).

extension Tensor {
    /// `x · Wᵀ + b` over the last dimension: self `[..., in]`, weight `[out, in]` (PyTorch layout), bias `[out]`.
    ///
    /// Returns `[..., out]`. Backward: dx = dy · W, dW = dyᵀ · x, db = Σ_rows dy.
    public func linear(weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        guard rank >= 1, weight.rank == 2, weight.shape[1] == shape[rank - 1] else {
            throw TensorError.shapeMismatch("linear: input \(shape) vs weight \(weight.shape) (expected [out, \(shape.last ?? 0)])")
        }
        let inF = weight.shape[1], outF = weight.shape[0], n = count / Swift.max(inF, 1)
        if let bias, bias.shape != [outF] {
            throw TensorError.shapeMismatch("linear: bias \(bias.shape) vs \(outF) outputs")
        }
        var outShape = shape
        outShape[rank - 1] = outF
        let out = Tensor(shape: outShape, storage: TensorStorage(uninitializedCount: n * outF))
        Kernels.linear(x: pointer, rows: n, inFeatures: inF, weight: weight.pointer, bias: bias?.pointer,
                       outFeatures: outF, y: out.storage.pointer)
        guard let tape = Tape.active(self, weight, bias) else { return out }
        let (x, w) = (detached, weight.detached)
        let needX = isRecorded, needW = weight.isRecorded, needB = bias?.isRecorded ?? false
        return tape.record(out, inputs: [self, weight, bias]) { g in
            var gx: Tensor?, gw: Tensor?, gb: Tensor?
            if needX {
                let t = Tensor(shape: x.shape, storage: TensorStorage(uninitializedCount: x.count))
                Kernels.sgemm(m: n, n: inF, k: outF, a: g.pointer, lda: outF, b: w.pointer, ldb: inF,
                              c: t.storage.pointer, ldc: inF)
                gx = t
            }
            if needW {
                let t = Tensor(shape: w.shape, storage: TensorStorage(uninitializedCount: w.count))
                Kernels.sgemm(transA: true, m: outF, n: inF, k: n, a: g.pointer, lda: outF, b: x.pointer, ldb: inF,
                              c: t.storage.pointer, ldc: inF)
                gw = t
            }
            if needB {
                let t = Tensor(shape: [outF])
                let pb = t.storage.pointer, pg = g.storage.pointer
                for r in 0..<n { for j in 0..<outF { pb[j] += pg[r * outF + j] } }
                gb = t
            }
            return [gx, gw, gb]
        }
    }

    /// Matrix product over the last two dimensions: `[..., M, K] · [..., K, N] → [..., M, N]`.
    ///
    /// The leading (batch) dimensions must be equal, or `other` may be a plain `[K, N]` matrix shared by every
    /// batch item. One `cblas_sgemm` per batch item (one in total when `other` is shared).
    public func matmul(_ other: Tensor) throws -> Tensor {
        guard rank >= 2, other.rank >= 2, shape[rank - 1] == other.shape[other.rank - 2] else {
            throw TensorError.shapeMismatch("matmul: \(shape) · \(other.shape) (inner dimensions must match)")
        }
        let m = shape[rank - 2], k = shape[rank - 1], n = other.shape[other.rank - 1]
        let batchA = Array(shape.dropLast(2)), batchB = Array(other.shape.dropLast(2))
        let shared = batchB.isEmpty
        guard shared || batchA == batchB else {
            throw TensorError.shapeMismatch("matmul: batch dimensions \(batchA) vs \(batchB) must match (or pass a [K, N] matrix)")
        }
        let batch = batchA.reduce(1, *)
        let out = Tensor(shape: batchA + [m, n], storage: TensorStorage(uninitializedCount: batch * m * n))
        if shared {
            Kernels.sgemm(m: batch * m, n: n, k: k, a: pointer, lda: k, b: other.pointer, ldb: n,
                          c: out.storage.pointer, ldc: n)
        } else {
            for i in 0..<batch {
                Kernels.sgemm(m: m, n: n, k: k, a: pointer + i * m * k, lda: k, b: other.pointer + i * k * n, ldb: n,
                              c: out.storage.pointer + i * m * n, ldc: n)
            }
        }
        guard let tape = Tape.active(self, other) else { return out }
        let (a, b) = (detached, other.detached)
        let needA = isRecorded, needB = other.isRecorded
        return tape.record(out, inputs: [self, other]) { g in
            var ga: Tensor?, gb: Tensor?
            if needA {  // dA = dC · Bᵀ
                let t = Tensor(shape: a.shape, storage: TensorStorage(uninitializedCount: a.count))
                if shared {
                    Kernels.sgemm(transB: true, m: batch * m, n: k, k: n, a: g.pointer, lda: n, b: b.pointer, ldb: n,
                                  c: t.storage.pointer, ldc: k)
                } else {
                    for i in 0..<batch {
                        Kernels.sgemm(transB: true, m: m, n: k, k: n, a: g.pointer + i * m * n, lda: n,
                                      b: b.pointer + i * k * n, ldb: n, c: t.storage.pointer + i * m * k, ldc: k)
                    }
                }
                ga = t
            }
            if needB {  // dB = Aᵀ · dC
                let t = Tensor(shape: b.shape, storage: TensorStorage(uninitializedCount: b.count))
                if shared {
                    Kernels.sgemm(transA: true, m: k, n: n, k: batch * m, a: a.pointer, lda: k, b: g.pointer, ldb: n,
                                  c: t.storage.pointer, ldc: n)
                } else {
                    for i in 0..<batch {
                        Kernels.sgemm(transA: true, m: k, n: n, k: m, a: a.pointer + i * m * k, lda: k,
                                      b: g.pointer + i * m * n, ldb: n, c: t.storage.pointer + i * k * n, ldc: n)
                    }
                }
                gb = t
            }
            return [ga, gb]
        }
    }
}
