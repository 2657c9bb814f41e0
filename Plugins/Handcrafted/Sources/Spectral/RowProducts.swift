// Small dense products of frames with a fixed weight matrix (chroma filter bank, DCT basis), in pure Swift.
//
// Each output is summed in the same order as a plain dot product (`s = 0; for k { s += w[c, k] · x[t, k] }`), so the
// result is bit for bit what the naive loop gives; only the schedule changes: two frames and four outputs are
// accumulated side by side, so the additions no longer wait on one another (the naive loop is bound by the
// latency of one dependent add per multiply). BLAS would be faster still but may start threads for these sizes,
// and the extractor is meant to run on one.

/// A weight matrix `[outputs, inputs]` stored transposed and padded (`[inputs, outputs rounded up to 4]`) for
/// `RowProducts.apply`.
public struct RowProducts: Sendable {
    /// Inputs per frame.
    public let inputs: Int
    /// Outputs per frame.
    public let outputs: Int
    /// `outputs` rounded up to a multiple of 4.
    let paddedOutputs: Int
    /// Weights // [inputs, paddedOutputs], zero in the padding
    let transposed: [Double]

    /// Stores `weights` `[outputs, inputs]` (row-major) transposed.
    public init(weights: [Double], outputs m: Int, inputs k: Int) {
        inputs = k
        outputs = m
        paddedOutputs = (m + 3) & ~3
        var t = [Double](repeating: 0, count: k * paddedOutputs)
        for c in 0..<m { for i in 0..<k { t[i * paddedOutputs + c] = weights[c * k + i] } }
        transposed = t
    }

    /// `out[t, c] = Σ_k w[c, k] · x[t, k]` in k order. // [T, inputs] → [T, outputs]
    public func apply(_ x: [Double], rows: Int) -> [Double] {
        let k = inputs, m = outputs, mp = paddedOutputs
        var out = [Double](repeating: 0, count: rows * m)
        guard rows > 0, k > 0, m > 0 else { return out }
        x.withUnsafeBufferPointer { xb in
            transposed.withUnsafeBufferPointer { wb in
                out.withUnsafeMutableBufferPointer { ob in
                    guard let xp = xb.baseAddress, let wp = wb.baseAddress, let op = ob.baseAddress else { return }
                    let rw = UnsafeRawPointer(wp)
                    var t = 0
                    while t < rows {
                        let pair = t + 1 < rows     // two frames share each weight load
                        let x0 = xp + t * k, x1 = pair ? xp + (t + 1) * k : x0
                        var c0 = 0
                        while c0 < mp {
                            var a0 = SIMD2<Double>(repeating: 0), a1 = a0, b0 = a0, b1 = a0
                            var bo = c0 &* 8
                            for i in 0..<k {
                                let w0 = rw.loadUnaligned(fromByteOffset: bo, as: SIMD2<Double>.self)
                                let w1 = rw.loadUnaligned(fromByteOffset: bo &+ 16, as: SIMD2<Double>.self)
                                let u = SIMD2<Double>(repeating: x0[i]), v = SIMD2<Double>(repeating: x1[i])
                                a0 += w0 * u; a1 += w1 * u
                                b0 += w0 * v; b1 += w1 * v
                                bo = bo &+ mp &* 8
                            }
                            for q in 0..<4 where c0 + q < m {
                                op[t * m + c0 + q] = q < 2 ? a0[q] : a1[q - 2]
                                if pair { op[(t + 1) * m + c0 + q] = q < 2 ? b0[q] : b1[q - 2] }
                            }
                            c0 += 4
                        }
                        t += pair ? 2 : 1
                    }
                }
            }
        }
        return out
    }
}
