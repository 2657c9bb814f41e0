// Linear layer backward (weight, bias and input gradients) and inverted dropout: what fine-tuning a transformer
// adds to the inference kernels.

extension Kernels {
    /// Linear backward for `y = x · Wᵀ + b` (weight `[out, in]` as `linear` takes it), over `N` rows.
    ///
    /// - Parameters:
    ///   - x: the forward's input `[N, in]`.
    ///   - gradOutput: d loss / d y `[N, out]`.
    ///   - gradWeight: `[out, in]`, accumulated: `dW += dyᵀ · x` (nil to skip).
    ///   - gradBias: `[out]`, accumulated: `db += Σ_rows dy` (nil to skip).
    ///   - gradInput: `[N, in]`: `dx = dy · W`, overwritten, or added to when `accumulateInput` (a residual
    ///     branch's gradient joining the skip path); nil to skip.
    /// Two sgemm calls and one column sum; no workspace.
    public static func linearBackward(x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, rows n: Int,
                                      inFeatures: Int, outFeatures: Int, weight: UnsafePointer<Float>,
                                      gradWeight: UnsafeMutablePointer<Float>?, gradBias: UnsafeMutablePointer<Float>?,
                                      gradInput: UnsafeMutablePointer<Float>?, accumulateInput: Bool = false) {
        if let gradWeight {
            sgemm(transA: true, m: outFeatures, n: inFeatures, k: n, a: dy, lda: outFeatures, b: x, ldb: inFeatures,
                  beta: 1, c: gradWeight, ldc: inFeatures)
        }
        if let gradBias {
            for r in 0..<n {
                let row = dy + r * outFeatures
                for o in 0..<outFeatures { gradBias[o] += row[o] }
            }
        }
        if let gradInput {
            sgemm(m: n, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures, b: weight, ldb: inFeatures,
                  beta: accumulateInput ? 1 : 0, c: gradInput, ldc: inFeatures)
        }
    }

    /// Draws an inverted-dropout keep mask (PyTorch `nn.Dropout` in training): each of `count` entries is 0 with
    /// probability `p`, else `1 / (1 − p)`. Deterministic for a given generator state.
    public static func dropoutMask(_ mask: UnsafeMutablePointer<Float>, count: Int, p: Float,
                                   generator: inout SeededGenerator) {
        let keep = 1 / (1 - p)
        for i in 0..<count { mask[i] = generator.nextUniform() < p ? 0 : keep }
    }

    /// `y[i] = x[i] · mask[i]` for `count` values (`y` may be `x`): dropout's forward and, with the same mask,
    /// its backward.
    @inlinable
    public static func multiply(_ x: UnsafePointer<Float>, by mask: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                count: Int) {
        for i in 0..<count { y[i] = x[i] * mask[i] }
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.linearBackward` (Double accumulation).
    public static func linearBackward(x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, rows n: Int,
                                      inFeatures: Int, outFeatures: Int, weight: UnsafePointer<Float>,
                                      gradWeight: UnsafeMutablePointer<Float>?, gradBias: UnsafeMutablePointer<Float>?,
                                      gradInput: UnsafeMutablePointer<Float>?, accumulateInput: Bool = false) {
        for o in 0..<outFeatures {
            if let gradWeight {
                for i in 0..<inFeatures {
                    var acc = 0.0
                    for r in 0..<n { acc += Double(dy[r * outFeatures + o]) * Double(x[r * inFeatures + i]) }
                    gradWeight[o * inFeatures + i] += Float(acc)
                }
            }
            if let gradBias {
                var acc = 0.0
                for r in 0..<n { acc += Double(dy[r * outFeatures + o]) }
                gradBias[o] += Float(acc)
            }
        }
        if let gradInput {
            for r in 0..<n {
                for i in 0..<inFeatures {
                    var acc = accumulateInput ? Double(gradInput[r * inFeatures + i]) : 0
                    for o in 0..<outFeatures { acc += Double(dy[r * outFeatures + o]) * Double(weight[o * inFeatures + i]) }
                    gradInput[r * inFeatures + i] = Float(acc)
                }
            }
        }
    }
}
