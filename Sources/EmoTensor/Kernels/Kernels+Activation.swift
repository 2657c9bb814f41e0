// Pointwise activations and the row softmax. Exact GELU and softmax run CEmoKernels' C loops (AVX-512 or AVX2 +
// FMA where the CPU has them, the same Cephes exp / A&S erf maths as Kernels+VectorMath.swift); the tanh GELU is
// Swift.
import CEmoKernels
import Foundation

/// Which GELU formula to use (PyTorch `nn.GELU(approximate:)`).
public enum GELUApproximation: String, Sendable, Codable {
    /// Exact: `0.5 · x · (1 + erf(x / √2))` (PyTorch default, Hugging Face `"gelu"`).
    case none
    /// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))` (Hugging Face `"gelu_new"` / `"gelu_pytorch_tanh"`).
    case tanh
}

extension Kernels {
    /// GELU over `count` values: `y[i] = gelu(x[i])`; `y` may be `x` (in place). Split across BLAS's threads
    /// for large counts.
    public static func gelu(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int,
                            approximation: GELUApproximation = .none) {
        parallelSlices(count: count, minimumPerThread: 1 << 15, alignment: 8) { range in
            geluSlice(x: x + range.lowerBound, y: y + range.lowerBound, count: range.count,
                      approximation: approximation)
        }
    }

    /// Single-threaded GELU of one slice.
    @inlinable
    static func geluSlice(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int,
                          approximation: GELUApproximation) {
        var i = 0
        switch approximation {
        case .none:
            elementwise.gelu(x, y, count)
        case .tanh:
            let k0: Float = 0.79788456080286535588  // √(2/π)
            while i + 8 <= count {
                let v = load8(x + i)
                store8(0.5 * v * (1 + tanh8(k0 * (v + 0.044715 * v * v * v))), y + i)
                i += 8
            }
            while i < count {
                let v = x[i]
                y[i] = 0.5 * v * (1 + tanhf(k0 * (v + 0.044715 * v * v * v)))
                i += 1
            }
        }
    }

    /// ReLU over `count` values: `y[i] = max(x[i], 0)`; `y` may be `x`.
    @inlinable
    public static func relu(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = x[i] > 0 ? x[i] : 0 }
    }

    /// Softmax over the last dimension: x `[N, D]` → y `[N, D]`; `y` may be `x`.
    ///
    /// Max-subtracted; a row of all −∞ becomes all zeros (not NaN).
    public static func softmax(x: UnsafePointer<Float>, rows n: Int, columns d: Int, y: UnsafeMutablePointer<Float>) {
        parallelSlices(count: n, minimumPerThread: max(1, (1 << 15) / max(d, 1))) { rows in
            for i in rows { softmaxRow(x + i * d, y + i * d, count: d) }
        }
    }

    /// Softmax of one row of `count` values (`dst` may be `src`). A row of only −∞ (every key masked) becomes
    /// zeros, not NaN.
    static func softmaxRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count d: Int) {
        guard d > 0 else { return }
        if maximum(src, count: d) == -.infinity {
            dst.update(repeating: 0, count: d)
            return
        }
        if UnsafePointer(dst) != src { dst.update(from: src, count: d) }
        elementwise.softmax(dst, d)
    }

    /// The C elementwise kernels this process runs (`avx512`, `avx2-fma` or `portable`, chosen once).
    @usableFromInline
    static var elementwise: EmoKernelTable { emo_kernels().pointee }

    /// The elementwise kernel path in use (`"avx512"`, `"avx2-fma"` or `"portable"`), for reports.
    public static var elementwisePath: String { String(cString: emo_kernels().pointee.name) }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.gelu` (Double math).
    public static func gelu(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int,
                            approximation: GELUApproximation = .none) {
        for i in 0..<count {
            let v = Double(x[i])
            switch approximation {
            case .none: y[i] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
            case .tanh: y[i] = Float(0.5 * v * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))))
            }
        }
    }

    /// Naive twin of `Kernels.softmax` (Double math).
    public static func softmax(x: UnsafePointer<Float>, rows n: Int, columns d: Int, y: UnsafeMutablePointer<Float>) {
        for i in 0..<n {
            var m = -Double.infinity
            for j in 0..<d { m = max(m, Double(x[i * d + j])) }
            if m == -.infinity {
                for j in 0..<d { y[i * d + j] = 0 }
                continue
            }
            var total = 0.0
            for j in 0..<d { total += exp(Double(x[i * d + j]) - m) }
            for j in 0..<d { y[i * d + j] = Float(exp(Double(x[i * d + j]) - m) / total) }
        }
    }
}
