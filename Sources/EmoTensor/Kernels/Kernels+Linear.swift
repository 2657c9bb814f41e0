// Linear layer forward with PyTorch's weight layout.
import CEmoKernels

extension Kernels {
    /// Linear forward: `y = x · Wᵀ + b` (PyTorch `nn.Linear`, weight stored `[out, in]`).
    ///
    /// - Parameters:
    ///   - x: input `[N, inFeatures]` (N = any flattened leading dims, e.g. B·T).
    ///   - weight: `[outFeatures, inFeatures]`, as in the checkpoint (no transpose copy is made).
    ///   - bias: `[outFeatures]` or nil.
    ///   - y: output `[N, outFeatures]`; must not alias `x`.
    ///   - accumulate: when true, computes `y += x · Wᵀ + b`: a residual branch added in place (the bias onto `y`
    ///     first, then one GEMM with beta 1), with no `[N, out]` temporary and no separate add pass.
    /// One sgemm call; no workspace, no allocation.
    @inlinable
    public static func linear(x: UnsafePointer<Float>, rows n: Int, inFeatures: Int,
                              weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
                              y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        var beta: Float = accumulate ? 1 : 0
        if let bias {
            for i in 0..<n {
                let row = y + i * outFeatures
                if accumulate {
                    elementwise.add(bias, row, outFeatures)
                } else {
                    row.update(from: bias, count: outFeatures)
                }
            }
            beta = 1
        }
        sgemm(transA: false, transB: true, m: n, n: outFeatures, k: inFeatures,
              a: x, lda: inFeatures, b: weight, ldb: inFeatures, beta: beta, c: y, ldc: outFeatures)
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.linear`.
    public static func linear(x: UnsafePointer<Float>, rows n: Int, inFeatures: Int,
                              weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
                              y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        for i in 0..<n {
            for o in 0..<outFeatures {
                var acc = Double(bias?[o] ?? 0)
                for p in 0..<inFeatures { acc += Double(x[i * inFeatures + p]) * Double(weight[o * inFeatures + p]) }
                if accumulate { acc += Double(y[i * outFeatures + o]) }
                y[i * outFeatures + o] = Float(acc)
            }
        }
    }
}
