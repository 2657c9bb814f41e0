// Multi-head scaled dot-product attention as a recorded op.

extension Tensor {
    /// Multi-head attention on `[B, Tq, H·D]` queries and `[B, Tk, H·D]` keys/values → `[B, Tq, H·D]`.
    ///
    /// - Parameters:
    ///   - keyMask: `[B · Tk]` flags, nonzero = attend (nil: attend everywhere).
    ///   - positionBias: additive `[B, H, Tq, Tk]` or `[H, Tq, Tk]` (shared by the batch), recorded.
    ///   - scale: multiplier of q·kᵀ (nil = 1/√D).
    public static func attention(query q: Tensor, key k: Tensor, value v: Tensor, heads: Int,
                                 keyMask: [UInt8]? = nil, positionBias: Tensor? = nil,
                                 scale: Float? = nil) throws -> Tensor {
        guard q.rank == 3, k.rank == 3, v.shape == k.shape, q.shape[0] == k.shape[0], q.shape[2] == k.shape[2],
              heads > 0, q.shape[2] % heads == 0 else {
            throw TensorError.shapeMismatch("attention: q \(q.shape), k \(k.shape), v \(v.shape) with \(heads) heads (need [B, T, H·D] with equal B and C)")
        }
        let (b, tq, c, tk) = (q.shape[0], q.shape[1], q.shape[2], k.shape[1])
        let g = AttentionGeometry(batch: b, heads: heads, headDim: c / heads, queryLength: tq, keyLength: tk,
                                  scale: scale)
        if let keyMask, keyMask.count != b * tk {
            throw TensorError.shapeMismatch("attention: key mask has \(keyMask.count) flags, expected B·Tk = \(b * tk)")
        }
        var biasBatchStride = 0
        if let positionBias {
            if positionBias.shape == [b, heads, tq, tk] {
                biasBatchStride = heads * tq * tk
            } else if positionBias.shape != [heads, tq, tk] {
                throw TensorError.shapeMismatch("attention: position bias \(positionBias.shape), expected [\(b), \(heads), \(tq), \(tk)] or [\(heads), \(tq), \(tk)]")
            }
        }
        let strides = AttentionStrides(channels: c)
        let out = Tensor(shape: [b, tq, c], storage: TensorStorage(uninitializedCount: b * tq * c))
        let probabilities = TensorStorage(uninitializedCount: g.probabilitiesCount)
        let mask = keyMask.map { TensorMask($0) }
        Kernels.attention(g, strides: strides, q: q.pointer, k: k.pointer, v: v.pointer, keyMask: mask?.pointer,
                          positionBias: positionBias?.pointer, biasBatchStride: biasBatchStride,
                          output: out.storage.pointer, probabilities: probabilities.pointer, workspace: nil)
        guard let tape = Tape.active(q, k, v, positionBias) else { return out }
        let (qd, kd, vd) = (q.detached, k.detached, v.detached)
        let biasShape = positionBias?.shape
        let needs = (q.isRecorded, k.isRecorded, v.isRecorded, positionBias?.isRecorded ?? false)
        return tape.record(out, inputs: [q, k, v, positionBias]) { dy in
            let gq = needs.0 ? Tensor(shape: qd.shape, storage: TensorStorage(uninitializedCount: qd.count)) : nil
            let gk = needs.1 ? Tensor(shape: kd.shape, storage: TensorStorage(uninitializedCount: kd.count)) : nil
            let gv = needs.2 ? Tensor(shape: vd.shape, storage: TensorStorage(uninitializedCount: vd.count)) : nil
            let gb = needs.3 ? biasShape.map { Tensor(shape: $0) } : nil
            let ws = TensorStorage(uninitializedCount: g.workspaceCount)
            Kernels.attentionBackward(g, strides: strides, q: qd.pointer, k: kd.pointer, v: vd.pointer,
                                      probabilities: probabilities.pointer, gradOutput: dy.pointer,
                                      gradQuery: gq?.storage.pointer, gradKey: gk?.storage.pointer,
                                      gradValue: gv?.storage.pointer, gradBias: gb?.storage.pointer,
                                      biasBatchStride: biasBatchStride, workspace: ws.pointer)
            return [gq, gk, gv, gb]
        }
    }
}

/// A UInt8 mask copied into stable memory (so kernels can hold a pointer to it).
final class TensorMask {
    let pointer: UnsafeMutablePointer<UInt8>
    let count: Int

    init(_ values: [UInt8]) {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(from: values, count: count)
    }

    deinit { pointer.deallocate() }
}
