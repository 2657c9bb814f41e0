// Kernels: raw-pointer numeric kernels on Float32, the fast path of EmoTensor.
//
// Dimension legend (docs/numerics.md has the full table):
//   B batch, T frames (time), C channels / features, N rows (any flattened leading dims),
//   H attention heads, D head dimension (C = H·D), K kernel size, G groups, Tq/Tk query/key lengths.
//
// Usage: one post-norm transformer encoder layer on x [T, C] (B = 1), buffers allocated once per input length
// and reused for every layer, so the forward pass allocates nothing:
//
//   Kernels.linear(x: x, rows: T, inFeatures: C, weight: qkvW, bias: qkvB, outFeatures: 3 * C, y: qkv)  // [T, 3C]
//   let g = AttentionGeometry(batch: 1, heads: H, headDim: C / H, queryLength: T, keyLength: T)
//   Kernels.attention(g, strides: AttentionStrides(query: 3 * C, key: 3 * C, value: 3 * C, output: C),
//                     q: qkv, k: qkv + C, v: qkv + 2 * C, keyMask: nil, positionBias: nil, biasBatchStride: 0,
//                     output: ctx, probabilities: nil, workspace: scores)                    // ctx [T, C]
//   Kernels.linear(x: ctx, rows: T, inFeatures: C, weight: oW, bias: oB, outFeatures: C, y: x,
//                  accumulate: true)                                                         // x += attn
//   Kernels.layerNorm(x: x, rows: T, features: C, gamma: ln1G, beta: ln1B, eps: 1e-5, y: x)
//   Kernels.linear(x: x, rows: T, inFeatures: C, weight: fc1W, bias: fc1B, outFeatures: F, y: hidden)  // [T, F]
//   Kernels.gelu(x: hidden, y: hidden, count: T * F)
//   Kernels.linear(x: hidden, rows: T, inFeatures: F, weight: fc2W, bias: fc2B, outFeatures: C, y: x,
//                  accumulate: true)                                                         // x += ffn
//   Kernels.layerNorm(x: x, rows: T, features: C, gamma: ln2G, beta: ln2B, eps: 1e-5, y: x)
//
// (qkvW is the checkpoint's q, k, v weights stacked once at load time into [3C, C]; separate projections work
// too, with AttentionStrides(channels: C).)
//
// Conventions shared by every kernel in this folder:
// - Row-major, contiguous, Float32. A shape comment `[B, T, C]` lists dimensions outermost first.
// - The caller owns every buffer: outputs and workspaces are passed in, so an inference forward pass allocates
//   nothing per layer. Each kernel documents the workspace size it needs (a `...WorkspaceCount` function).
// - Sizes are the caller's contract (kernels do not re-check them); shape validation that depends on user input
//   happens one level up (`Tensor` ops, `Conv1dGeometry.validate`, model loaders), which throw `TensorError`.
// - Every fast kernel has a naive twin in `NaiveKernels` (same signature, plain loops, Double accumulation),
//   and Tests/EmoTensorTests compares the two.
import CBLAS

/// Fast Float32 kernels on caller-provided buffers (sgemm-backed where it pays).
public enum Kernels {}

/// Naive reference twins of `Kernels`: plain loops, Double accumulation, no BLAS. For tests and debugging only.
public enum NaiveKernels {}

/// The OpenBLAS build this process runs on.
public enum BLASInfo {
    /// The CPU kernel family OpenBLAS selected (e.g. "Haswell", "SkylakeX").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build configuration string.
    public static var config: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }

    /// Number of threads OpenBLAS uses for one call.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of OpenBLAS threads (process-wide).
    public static func setThreadCount(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
}
