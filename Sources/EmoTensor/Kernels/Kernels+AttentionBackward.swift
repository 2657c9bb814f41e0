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
    ///   - dropout: the keep mask `[B, H, Tq, Tk]` (0 or 1/(1 − p)) applied to P before P·V in training
    ///     (`attentionDropout`), or nil. With it, dV = (P ⊙ M)ᵀ·dO and dP = (dO·Vᵀ) ⊙ M.
    ///   - workspace: at least Tq·Tk floats (2·Tq·Tk with `dropout`).
    public static func attentionBackward(_ g: AttentionGeometry, strides: AttentionStrides,
                                         q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                         probabilities: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                         gradQuery: UnsafeMutablePointer<Float>?,
                                         gradKey: UnsafeMutablePointer<Float>?,
                                         gradValue: UnsafeMutablePointer<Float>?,
                                         gradBias: UnsafeMutablePointer<Float>?, biasBatchStride: Int,
                                         dropout: UnsafePointer<Float>? = nil,
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
                let mask = dropout.map { $0 + (b * h + head) * tq * tk }
                let dO = dob + head * d
                if let gradValue {
                    var used = UnsafePointer(p)  // the P that multiplied V: P ⊙ M in training
                    if let mask {
                        let dropped = workspace + tq * tk
                        multiply(p, by: mask, into: dropped, count: tq * tk)
                        used = UnsafePointer(dropped)
                    }
                    sgemm(transA: true, m: tk, n: d, k: tq, a: used, lda: tk, b: dO, ldb: strides.output,
                          beta: 0, c: gradValue + b * tk * strides.value + head * d, ldc: strides.value)
                }
                guard gradQuery != nil || gradKey != nil || gradBias != nil else { continue }
                let ds = workspace
                sgemm(transB: true, m: tq, n: tk, k: d, a: dO, lda: strides.output, b: vb + head * d,
                      ldb: strides.value, beta: 0, c: ds, ldc: tk)
                if let mask { multiply(ds, by: mask, into: ds, count: tq * tk) }
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

    /// Attention dropout in training (Hugging Face BERT/RoBERTa `attention_probs_dropout_prob`): recomputes the
    /// output of `attention` as O = (P ⊙ M)·V from its saved `probabilities` `[B, H, Tq, Tk]` and the keep mask
    /// `dropout` (same shape, 0 or 1/(1 − p)); P itself stays undropped for the backward's softmax.
    /// - Parameters:
    ///   - workspace: at least Tq·Tk floats.
    public static func attentionDropout(_ g: AttentionGeometry, strides: AttentionStrides,
                                        probabilities: UnsafePointer<Float>, dropout: UnsafePointer<Float>,
                                        v: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                                        workspace: UnsafeMutablePointer<Float>) {
        let tq = g.queryLength, tk = g.keyLength, d = g.headDim
        for b in 0..<g.batch {
            for head in 0..<g.heads {
                let offset = (b * g.heads + head) * tq * tk
                multiply(probabilities + offset, by: dropout + offset, into: workspace, count: tq * tk)
                sgemm(m: tq, n: d, k: tk, a: workspace, lda: tk, b: v + b * tk * strides.value + head * d,
                      ldb: strides.value, beta: 0, c: output + b * tq * strides.output + head * d, ldc: strides.output)
            }
        }
    }
}
