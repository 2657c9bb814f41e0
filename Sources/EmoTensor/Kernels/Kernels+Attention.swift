// Scaled dot-product multi-head attention on head-interleaved activations ([B, T, H·D], as projections give them).
import Foundation

/// Sizes of one multi-head attention call.
public struct AttentionGeometry: Sendable, Hashable {
    /// B.
    public var batch: Int
    /// H.
    public var heads: Int
    /// D (C = H · D).
    public var headDim: Int
    /// Tq.
    public var queryLength: Int
    /// Tk.
    public var keyLength: Int
    /// Multiplier of q·kᵀ (usually 1/√D; 1 when the caller scaled q already, as Hugging Face wav2vec2 does).
    public var scale: Float

    /// Creates a geometry; `scale` nil means 1/√D.
    public init(batch: Int, heads: Int, headDim: Int, queryLength: Int, keyLength: Int, scale: Float? = nil) {
        self.batch = batch
        self.heads = heads
        self.headDim = headDim
        self.queryLength = queryLength
        self.keyLength = keyLength
        self.scale = scale ?? 1 / Float(headDim).squareRoot()
    }

    /// Floats of workspace `Kernels.attention` needs when no `probabilities` buffer is given: Tq · Tk.
    public var workspaceCount: Int { queryLength * keyLength }
    /// Floats of the full probability tensor `[B, H, Tq, Tk]` (saved for backward).
    public var probabilitiesCount: Int { batch * heads * queryLength * keyLength }
}

/// Row strides (in floats) of the attention operands, so Q, K, V can be column slices of one fused projection.
public struct AttentionStrides: Sendable, Hashable {
    /// Row stride of q (default H·D).
    public var query: Int
    /// Row stride of k.
    public var key: Int
    /// Row stride of v.
    public var value: Int
    /// Row stride of the output.
    public var output: Int

    /// All four strides equal to `channels` (separate contiguous `[B, T, H·D]` buffers).
    public init(channels: Int) {
        query = channels; key = channels; value = channels; output = channels
    }

    /// Explicit strides (e.g. 3·C for q, k, v sliced from one `[B, T, 3C]` projection).
    public init(query: Int, key: Int, value: Int, output: Int) {
        self.query = query; self.key = key; self.value = value; self.output = output
    }
}

extension Kernels {
    /// Multi-head scaled dot-product attention:
    /// `out[b, i, h·D + :] = Σ_j softmax_j(scale · q_bhi · k_bhj + bias[b, h, i, j]; mask) · v_bhj`.
    ///
    /// - Parameters:
    ///   - q: `[B, Tq, H·D]` (row stride `strides.query`), head h in columns h·D..<(h+1)·D.
    ///   - k, v: `[B, Tk, H·D]` (row strides `strides.key`, `strides.value`).
    ///   - keyMask: `[B, Tk]`, nonzero = attend, 0 = padding; nil attends everywhere. A query row whose keys
    ///     are all masked gets probability 0 everywhere and output 0 (PyTorch would give NaN).
    ///   - positionBias: additive bias `[B', H, Tq, Tk]` or nil; `biasBatchStride` is 0 to share one `[H, Tq, Tk]`
    ///     bias across the batch (WavLM's gated bias differs per batch item: stride H·Tq·Tk).
    ///   - output: `[B, Tq, H·D]` (row stride `strides.output`); must not alias q, k, v.
    ///   - probabilities: optional `[B, H, Tq, Tk]` receiving the attention weights (for backward); when nil,
    ///     `workspace` (≥ `geometry.workspaceCount` floats) holds one head's scores at a time.
    /// Per (batch, head): two `cblas_sgemm` calls on strided views of q, k, v; no copies.
    public static func attention(_ g: AttentionGeometry, strides: AttentionStrides,
                                 q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 keyMask: UnsafePointer<UInt8>?,
                                 positionBias: UnsafePointer<Float>?, biasBatchStride: Int,
                                 output: UnsafeMutablePointer<Float>,
                                 probabilities: UnsafeMutablePointer<Float>?,
                                 workspace: UnsafeMutablePointer<Float>?) {
        let tq = g.queryLength, tk = g.keyLength
        let pairs = g.batch * g.heads
        // Long sequences (Whisper's 1500 frames): whole heads per thread with single-threaded BLAS beat every GEMM
        // split across threads, whose k = D is too short to amortise the split. Each thread scores into its own
        // Tq·Tk buffer.
        if pairs >= 2, tq * tk >= Self.headParallelMinimumScores, Dense.chunkCount(pairs) > 1 {
            let chunks = Dense.chunkCount(pairs)
            let scratch = probabilities == nil ? UnsafeMutablePointer<Float>.allocate(capacity: chunks * tq * tk) : nil
            defer { scratch?.deallocate() }
            Dense.parallelChunksWithSerialBLAS(pairs) { chunk, range in
                for pair in range {
                    let scores: UnsafeMutablePointer<Float>  // [Tq, Tk]
                    if let probabilities { scores = probabilities + pair * tq * tk } else if let scratch {
                        scores = scratch + chunk * tq * tk
                    } else { return }
                    attentionHead(g, strides: strides, batch: pair / g.heads, head: pair % g.heads, q: q, k: k, v: v,
                                  keyMask: keyMask, positionBias: positionBias, biasBatchStride: biasBatchStride,
                                  output: output, scores: scores)
                }
            }
            return
        }
        for b in 0..<g.batch {
            for h in 0..<g.heads {
                let scores: UnsafeMutablePointer<Float>  // [Tq, Tk]
                if let probabilities {
                    scores = probabilities + (b * g.heads + h) * tq * tk
                } else if let workspace {
                    scores = workspace
                } else {
                    preconditionFailure("Kernels.attention: pass probabilities or a workspace of Tq·Tk floats")
                }
                attentionHead(g, strides: strides, batch: b, head: h, q: q, k: k, v: v, keyMask: keyMask,
                              positionBias: positionBias, biasBatchStride: biasBatchStride, output: output, scores: scores)
            }
        }
    }

    /// Score count (Tq·Tk) from which `attention` runs whole heads per thread.
    static let headParallelMinimumScores = 512 * 512

    /// One (batch, head) of `attention`, its scores in `scores` `[Tq, Tk]`.
    static func attentionHead(_ g: AttentionGeometry, strides: AttentionStrides, batch b: Int, head h: Int,
                              q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                              keyMask: UnsafePointer<UInt8>?, positionBias: UnsafePointer<Float>?, biasBatchStride: Int,
                              output: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>) {
        let tq = g.queryLength, tk = g.keyLength, d = g.headDim
        let qb = q + b * tq * strides.query
        let kb = k + b * tk * strides.key
        let vb = v + b * tk * strides.value
        let ob = output + b * tq * strides.output
        // scores = scale · Q_bh [Tq, D] · K_bhᵀ [D, Tk]
        sgemm(transB: true, m: tq, n: tk, k: d, alpha: g.scale, a: qb + h * d, lda: strides.query,
              b: kb + h * d, ldb: strides.key, beta: 0, c: scores, ldc: tk)
        if let positionBias {
            let bias = positionBias + b * biasBatchStride + h * tq * tk
            for i in 0..<tq * tk { scores[i] += bias[i] }
        }
        if let mask = keyMask.map({ $0 + b * tk }) {
            for i in 0..<tq {
                let row = scores + i * tk
                for j in 0..<tk where mask[j] == 0 { row[j] = -.infinity }
            }
        }
        parallelSlices(count: tq, minimumPerThread: max(1, (1 << 15) / max(tk, 1))) { rows in
            for i in rows { softmaxRow(scores + i * tk, scores + i * tk, count: tk) }
        }
        // O_bh [Tq, D] = P [Tq, Tk] · V_bh [Tk, D]
        sgemm(m: tq, n: d, k: tk, a: scores, lda: tk, b: vb + h * d, ldb: strides.value,
              beta: 0, c: ob + h * d, ldc: strides.output)
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.attention` (Double math, direct loops).
    public static func attention(_ g: AttentionGeometry, strides: AttentionStrides,
                                 q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 keyMask: UnsafePointer<UInt8>?,
                                 positionBias: UnsafePointer<Float>?, biasBatchStride: Int,
                                 output: UnsafeMutablePointer<Float>,
                                 probabilities: UnsafeMutablePointer<Float>?,
                                 workspace: UnsafeMutablePointer<Float>?) {
        let tq = g.queryLength, tk = g.keyLength, d = g.headDim
        var p = [Double](repeating: 0, count: tk)
        for b in 0..<g.batch {
            for h in 0..<g.heads {
                for i in 0..<tq {
                    var m = -Double.infinity
                    for j in 0..<tk {
                        if let keyMask, keyMask[b * tk + j] == 0 { p[j] = -.infinity; continue }
                        var s = 0.0
                        for c in 0..<d {
                            s += Double(q[(b * tq + i) * strides.query + h * d + c])
                                * Double(k[(b * tk + j) * strides.key + h * d + c])
                        }
                        s *= Double(g.scale)
                        if let positionBias { s += Double(positionBias[b * biasBatchStride + (h * tq + i) * tk + j]) }
                        p[j] = s
                        m = max(m, s)
                    }
                    var total = 0.0
                    for j in 0..<tk { p[j] = m == -.infinity ? 0 : (p[j] == -.infinity ? 0 : exp(p[j] - m)); total += p[j] }
                    for j in 0..<tk {
                        p[j] = total > 0 ? p[j] / total : 0
                        probabilities?[((b * g.heads + h) * tq + i) * tk + j] = Float(p[j])
                    }
                    for c in 0..<d {
                        var acc = 0.0
                        for j in 0..<tk { acc += p[j] * Double(v[(b * tk + j) * strides.value + h * d + c]) }
                        output[(b * tq + i) * strides.output + h * d + c] = Float(acc)
                    }
                }
            }
        }
    }

}
