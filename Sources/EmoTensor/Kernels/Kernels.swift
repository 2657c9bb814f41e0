// Kernels: raw-pointer numeric kernels on Float32, the fast path of EmoTensor.
//
// Dimension legend: docs/numerics.md. Used here: B batch, T frames (time), C channels / features, N rows (any
//   flattened leading dims), H attention heads, D head dimension (C = H·D), F feed-forward width, K kernel size,
//   G groups, Tq/Tk query/key lengths.
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
import CEmoBLAS

/// Fast Float32 kernels on caller-provided buffers (sgemm-backed where it pays).
public enum Kernels {}

/// Naive reference twins of `Kernels`: plain loops, Double accumulation, no BLAS. For tests and debugging only.
public enum NaiveKernels {}

/// The BLAS this process runs on: which library, which OpenBLAS CPU kernel ("core"), and why that one.
///
/// EmoKit loads OpenBLAS itself (`CEmoBLAS`), after choosing the core from the CPU's feature flags, so a CPU
/// newer than OpenBLAS's model table still gets its AVX2/AVX-512 kernels. A user's `OPENBLAS_CORETYPE` always
/// wins; `EMOKIT_BLAS_CORE=openblas` leaves the choice to OpenBLAS; `EMOKIT_BLAS_LIBRARY` names another CBLAS.
public enum BLASInfo {
    /// Loads the BLAS now (it loads on first use otherwise); throws with what to install when it cannot.
    ///
    /// Call it early in `main`, before other threads start: the core is chosen through the environment,
    /// which is modified for the duration of the load only.
    public static func load() throws(BLASLoadError) {
        var buffer = [CChar](repeating: 0, count: 1024)
        if emo_blas_load(&buffer, buffer.count) != 0 {
            throw BLASLoadError(message: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                                                as: UTF8.self))
        }
    }

    private static var info: EmoBlasInfo { emo_blas_info().pointee }

    /// The CPU kernel family OpenBLAS runs (e.g. "Haswell", "SkylakeX"; "n/a" for a non-OpenBLAS CBLAS).
    public static var coreName: String { String(cString: info.core) }

    /// The core EmoKit's rule picks for this CPU's flags ("none": left to OpenBLAS, no AVX usable).
    public static var chosenCore: String { String(cString: info.chosen) }

    /// Where the running core came from, in words ("chosen by EmoKit from the CPU flags", ...).
    public static var coreSource: String { String(cString: info.source_text) }

    /// True when the running core is the user's own `OPENBLAS_CORETYPE`.
    public static var coreIsUsers: Bool { info.source == EMO_BLAS_CORE_USER }

    /// The library given to `dlopen` (`libopenblas.so.0`, or `EMOKIT_BLAS_LIBRARY`).
    public static var library: String { String(cString: info.library) }

    /// This CPU as CPUID reports it ("GenuineIntel family 6 model 207").
    public static var cpu: String { String(cString: info.cpu) }

    /// The CPU feature flags the choice reads, space-separated ("avx2 fma avx512f ... os-zmm").
    public static var cpuFlags: String { String(cString: info.flags) }

    /// OpenBLAS's build configuration string ("n/a" for a non-OpenBLAS CBLAS).
    public static var config: String { String(cString: info.config) }

    /// Number of threads OpenBLAS uses for one call.
    public static var threadCount: Int { Int(emo_blas_get_num_threads()) }

    /// Sets the number of OpenBLAS threads (process-wide).
    public static func setThreadCount(_ count: Int) { emo_blas_set_num_threads(Int32(max(1, count))) }

    /// One line for reports: `OpenBLAS core SkylakeX (chosen by EmoKit from the CPU flags), 2 threads`.
    public static var summary: String { "OpenBLAS core \(coreName) (\(coreSource)), \(threadCount) threads" }

    /// One line for reports: `CPU GenuineIntel family 6 model 207; flags sse3 ... os-zmm`.
    public static var cpuLine: String { "CPU \(cpu); flags \(cpuFlags)" }

    /// The core EmoKit's rule picks for a CPU with these flags (`nil`: leave it to OpenBLAS). For tests and
    /// for reasoning about other machines; flag names as in `cpuFlags`, vendor as CPUID spells it.
    public static func chooseCore(vendor: String, flags: Set<String>) -> String? {
        var f = EmoCpuFeatures()
        withUnsafeMutableBytes(of: &f.vendor) { raw in
            for (i, byte) in vendor.utf8.prefix(15).enumerated() { raw[i] = byte }
        }
        func on(_ name: String) -> Int32 { flags.contains(name) ? 1 : 0 }
        f.sse3 = on("sse3"); f.ssse3 = on("ssse3"); f.sse4_2 = on("sse4_2")
        f.avx = on("avx"); f.avx2 = on("avx2"); f.fma = on("fma")
        f.avx512f = on("avx512f"); f.avx512cd = on("avx512cd"); f.avx512bw = on("avx512bw")
        f.avx512dq = on("avx512dq"); f.avx512vl = on("avx512vl"); f.avx512_bf16 = on("avx512_bf16")
        f.os_ymm = on("os-ymm"); f.os_zmm = on("os-zmm")
        guard let core = emo_blas_choose_core(&f) else { return nil }
        return String(cString: core)
    }
}

/// The BLAS library could not be loaded; the message names the library and what to install.
public struct BLASLoadError: Error, CustomStringConvertible {
    /// What failed and what to do.
    public let message: String
    public var description: String { message }
}
