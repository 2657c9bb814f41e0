// Embedding lookup and masked pooling over time.

extension Tensor {
    /// Rows of an embedding table: self `[V, C]`, `indices` (any count N) → `[N, C]` (`nn.Embedding`).
    /// Backward scatter-adds into the table's gradient.
    public func embedding(_ indices: [Int]) throws -> Tensor {
        guard rank == 2 else { throw TensorError.shapeMismatch("embedding: table must be [V, C], got \(shape)") }
        let vocab = shape[0], c = shape[1]
        if let bad = indices.first(where: { $0 < 0 || $0 >= vocab }) {
            throw TensorError.invalidArgument("embedding: index \(bad) outside the table's 0..<\(vocab) rows")
        }
        let out = Tensor(shape: [indices.count, c], storage: TensorStorage(uninitializedCount: indices.count * c))
        for (row, index) in indices.enumerated() {
            (out.storage.pointer + row * c).update(from: pointer + index * c, count: c)
        }
        guard let tape = Tape.active(self) else { return out }
        return tape.record(out, inputs: [self]) { dy in
            let gt = Tensor(shape: [vocab, c])
            for (row, index) in indices.enumerated() {
                let dst = gt.storage.pointer + index * c, src = dy.pointer + row * c
                for j in 0..<c { dst[j] += src[j] }
            }
            return [gt]
        }
    }

    /// Mean over valid frames: self `[B, T, C]`, `mask` `[B·T]` (nonzero = valid; nil = all) → `[B, C]`.
    /// A sequence with no valid frame pools to zeros.
    public func maskedMeanPool(mask: [UInt8]? = nil) throws -> Tensor {
        let (b, t, c) = try poolShape(mask)
        let out = Tensor(shape: [b, c])
        var counts = [Float](repeating: 0, count: b)
        for bi in 0..<b {
            let dst = out.storage.pointer + bi * c
            for ti in 0..<t where mask.map({ $0[bi * t + ti] != 0 }) ?? true {
                counts[bi] += 1
                let src = pointer + (bi * t + ti) * c
                for j in 0..<c { dst[j] += src[j] }
            }
            if counts[bi] > 0 { for j in 0..<c { dst[j] /= counts[bi] } }
        }
        guard let tape = Tape.active(self) else { return out }
        return tape.record(out, inputs: [self]) { dy in
            let gx = Tensor(shape: [b, t, c])
            for bi in 0..<b where counts[bi] > 0 {
                for ti in 0..<t where mask.map({ $0[bi * t + ti] != 0 }) ?? true {
                    let dst = gx.storage.pointer + (bi * t + ti) * c, src = dy.pointer + bi * c
                    for j in 0..<c { dst[j] = src[j] / counts[bi] }
                }
            }
            return [gx]
        }
    }

    /// Max over valid frames: self `[B, T, C]`, `mask` `[B·T]` → `[B, C]`; the gradient goes to the first
    /// maximal frame. A sequence with no valid frame pools to zeros.
    public func maskedMaxPool(mask: [UInt8]? = nil) throws -> Tensor {
        let (b, t, c) = try poolShape(mask)
        let out = Tensor(shape: [b, c])
        var argmax = [Int](repeating: -1, count: b * c)
        for bi in 0..<b {
            for ti in 0..<t where mask.map({ $0[bi * t + ti] != 0 }) ?? true {
                let src = pointer + (bi * t + ti) * c
                for j in 0..<c where argmax[bi * c + j] < 0 || src[j] > out.storage.pointer[bi * c + j] {
                    argmax[bi * c + j] = ti
                    out.storage.pointer[bi * c + j] = src[j]
                }
            }
        }
        guard let tape = Tape.active(self) else { return out }
        return tape.record(out, inputs: [self]) { dy in
            let gx = Tensor(shape: [b, t, c])
            for bi in 0..<b {
                for j in 0..<c where argmax[bi * c + j] >= 0 {
                    gx.storage.pointer[(bi * t + argmax[bi * c + j]) * c + j] = dy.pointer[bi * c + j]
                }
            }
            return [gx]
        }
    }

    private func poolShape(_ mask: [UInt8]?) throws -> (Int, Int, Int) {
        guard rank == 3 else { throw TensorError.shapeMismatch("pooling: expected [B, T, C], got \(shape)") }
        if let mask, mask.count != shape[0] * shape[1] {
            throw TensorError.shapeMismatch("pooling: mask has \(mask.count) flags, expected B·T = \(shape[0] * shape[1])")
        }
        return (shape[0], shape[1], shape[2])
    }
}
