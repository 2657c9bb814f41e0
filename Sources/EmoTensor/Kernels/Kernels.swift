// Kernels: raw-pointer numeric kernels on Float32, the fast path of EmoTensor.
//
// Dimension legend (docs/numerics.md has the full table):
//   B batch, T frames (time), C channels / features, N rows (any flattened leading dims),
//   H attention heads, D head dimension (C = H·D), K kernel size, G groups, Tq/Tk query/key lengths.
//
// Conventions shared by every kernel in this folder:
// - Row-major, contiguous, Float32. A shape comment `[B, T, C]` lists dimensions outermost first.
// - The caller owns every buffer: outputs and workspaces are passed in, so an inference forward pass allocates
//   nothing per layer. Each kernel documents the workspace size it needs (a `...WorkspaceCount` function).
// - Preconditions on sizes are the caller's contract (checked by `precondition` in debug builds only through
//   `assert`); shape validation that depends on user input happens one level up (`Tensor`, model loaders),
//   which throw `TensorError`.
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
