// Multi-head attention backward from the saved probabilities.

extension Kernels {
    /// Multi-head attention backward, given the forward's `probabilities` `[B, H, Tq, Tk]`.
    ///
    /// With S = scale·QKᵀ + bias (masked), P = softmax(S), O = P·V:
    /// dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = scale·dS·K, dK = scale·dSᵀ·Q, dBias = dS.
    /// - Parameters:
    ///   - q, k, v, gradOutput: as in `attention` (strides from `strides`).
    ///   - gradQuery, gradKey, gradValue: overwritten, same layout and strides as q, k, v (they may be column
    ///     slices of one `[B, T, 3C]` buffer); nil to skip.
    ///   - gradBias: `[B', H, Tq, Tk]`; with `biasBatchStride` 0 the batch items accumulate into one `[H, Tq, Tk]`.
    ///     Overwritten; nil to skip.
    ///   - workspace: at least Tq·Tk floats.
    public static func attentionBackward(_ g: AttentionGeometry, strides: AttentionStrides,
                                         q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                         probabilities: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                         gradQuery: UnsafeMutablePointer<Float>?,
                                         gradKey: UnsafeMutablePointer<Float>?,
                                         gradValue: UnsafeMutablePointer<Float>?,
                                         gradBias: UnsafeMutablePointer<Float>?, biasBatchStride: Int,
                                         workspace: UnsafeMutablePointer<Float>) {
        let tq = g.queryLength, tk = g.keyLength, d = g.headDim, h = g.heads
        if let gradBias {
            let biasBatches = biasBatchStride == 0 ? 1 : g.batch
            gradBias.update(repeating: 0, count: biasBatches * h * tq * tk)
        }
        for b in 0..<g.batch {
            let qb = q + b * tq * strides.query, kb = k + b * tk * strides.key, vb = v + b * tk * strides.value
            let dob = gradOutput + b * tq * strides.output
            for head in 0..<h {
                let p = probabilities + (b * h + head) * tq * tk  // [Tq, Tk]
                let dO = dob + head * d
                if let gradValue {
                    sgemm(transA: true, m: tk, n: d, k: tq, a: p, lda: tk, b: dO, ldb: strides.output,
                          beta: 0, c: gradValue + b * tk * strides.value + head * d, ldc: strides.value)
                }
                guard gradQuery != nil || gradKey != nil || gradBias != nil else { continue }
                let ds = workspace
                sgemm(transB: true, m: tq, n: tk, k: d, a: dO, lda: strides.output, b: vb + head * d,
                      ldb: strides.value, beta: 0, c: ds, ldc: tk)
                softmaxBackward(y: p, gradOutput: ds, rows: tq, columns: tk, gradInput: ds)
                if let gradBias {
                    let gb = gradBias + b * biasBatchStride + head * tq * tk
                    for i in 0..<tq * tk { gb[i] += ds[i] }
                }
                if let gradQuery {
                    sgemm(m: tq, n: d, k: tk, alpha: g.scale, a: ds, lda: tk, b: kb + head * d, ldb: strides.key,
                          beta: 0, c: gradQuery + b * tq * strides.query + head * d, ldc: strides.query)
                }
                if let gradKey {
                    sgemm(transA: true, m: tk, n: d, k: tq, alpha: g.scale, a: ds, lda: tk, b: qb + head * d,
                          ldb: strides.query, beta: 0, c: gradKey + b * tk * strides.key + head * d, ldc: strides.key)
                }
            }
        }
    }
}
