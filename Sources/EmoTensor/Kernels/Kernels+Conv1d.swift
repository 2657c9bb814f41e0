// 1-D convolution forward: im2col + sgemm, in PyTorch's layout ([B, C, T]) and channels-last ([B, T, C]).

/// Hyper-parameters of a 1-D convolution (PyTorch `nn.Conv1d` semantics; weight `[Cout, Cin/G, K]`).
public struct Conv1dGeometry: Sendable, Hashable {
    /// Cin.
    public var inChannels: Int
    /// Cout.
    public var outChannels: Int
    /// K.
    public var kernelSize: Int
    /// Step between output frames, in input frames.
    public var stride: Int
    /// Zeros added on both ends of the time axis.
    public var padding: Int
    /// Spacing between kernel taps.
    public var dilation: Int
    /// G: Cin and Cout are split into G independent groups.
    public var groups: Int

    /// Creates a geometry; call `validate(inputLength:)` before running kernels on user-supplied values.
    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// Cin / G.
    public var groupInChannels: Int { inChannels / groups }
    /// Cout / G.
    public var groupOutChannels: Int { outChannels / groups }
    /// Number of weight elements: Cout · Cin/G · K.
    public var weightCount: Int { outChannels * groupInChannels * kernelSize }

    /// Tout = ⌊(Tin + 2·padding − dilation·(K − 1) − 1) / stride⌋ + 1 (may be ≤ 0 for too-short inputs).
    public func outputLength(inputLength: Int) -> Int {
        let span = dilation * (kernelSize - 1) + 1
        let padded = inputLength + 2 * padding
        return padded < span ? 0 : (padded - span) / stride + 1
    }

    /// True when the convolution is a plain matrix multiply over the input (K = 1, stride 1, no padding).
    public var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }

    /// Floats of workspace `Kernels.conv1d` needs (im2col buffer of one group: Cin/G·K × Tout; 0 if pointwise).
    public func workspaceCount(inputLength: Int) -> Int {
        isPointwise ? 0 : groupInChannels * kernelSize * outputLength(inputLength: inputLength)
    }

    /// Throws `TensorError.invalidArgument` unless every field is positive, groups divide both channel counts
    /// and the input is long enough to produce at least one output frame.
    public func validate(inputLength: Int) throws {
        guard inChannels > 0, outChannels > 0, kernelSize > 0, stride > 0, padding >= 0, dilation > 0, groups > 0
        else { throw TensorError.invalidArgument("conv1d: every size must be positive (got \(self))") }
        guard inChannels % groups == 0, outChannels % groups == 0 else {
            throw TensorError.invalidArgument(
                "conv1d: groups \(groups) must divide inChannels \(inChannels) and outChannels \(outChannels)")
        }
        guard outputLength(inputLength: inputLength) > 0 else {
            throw TensorError.invalidArgument(
                "conv1d: input of \(inputLength) frames is shorter than the kernel span (K \(kernelSize), dilation \(dilation), padding \(padding))")
        }
    }
}

extension Kernels {
    /// Conv1d forward in PyTorch layout: `y[b, o, t] = bias[o] + Σ_{c,k} W[o, c, k] · x[b, g·Cg + c, t·s + k·d − p]`.
    ///
    /// - Parameters:
    ///   - x: input `[B, Cin, Tin]`.
    ///   - weight: `[Cout, Cin/G, K]` (PyTorch layout, used as is).
    ///   - bias: `[Cout]` or nil.
    ///   - y: output `[B, Cout, Tout]`, `Tout = geometry.outputLength(inputLength: Tin)`; must not alias `x`.
    ///   - workspace: at least `geometry.workspaceCount(inputLength: Tin)` floats (the im2col matrix
    ///     `[Cin/G · K, Tout]` of one (batch, group) pair, reused for all of them). May be nil when that count is 0.
    /// Per (batch, group): one im2col copy and one `cblas_sgemm` `[Cout/G, Cin/G·K] · [Cin/G·K, Tout]`.
    public static func conv1d(_ geometry: Conv1dGeometry, batch: Int, inputLength tIn: Int,
                              x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              y: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>?) {
        let g = geometry
        let tOut = g.outputLength(inputLength: tIn)
        let cg = g.groupInChannels, og = g.groupOutChannels, kk = g.kernelSize
        let rowsK = cg * kk  // reduction length of the GEMM
        for b in 0..<batch {
            let xb = x + b * g.inChannels * tIn    // [Cin, Tin]
            let yb = y + b * g.outChannels * tOut  // [Cout, Tout]
            for grp in 0..<g.groups {
                let yg = yb + grp * og * tOut      // [Cout/G, Tout]
                var beta: Float = 0
                if let bias {
                    for o in 0..<og { (yg + o * tOut).update(repeating: bias[grp * og + o], count: tOut) }
                    beta = 1
                }
                let xg = xb + grp * cg * tIn       // [Cin/G, Tin]
                let col: UnsafePointer<Float>     // [Cin/G·K, Tout]
                if g.isPointwise {
                    col = xg
                } else {
                    guard let workspace else {
                        preconditionFailure("Kernels.conv1d: workspace of \(g.workspaceCount(inputLength: tIn)) floats required")
                    }
                    im2colNCL(g, inputLength: tIn, outputLength: tOut, x: xg, col: workspace)
                    col = UnsafePointer(workspace)
                }
                sgemm(m: og, n: tOut, k: rowsK, a: weight + grp * og * rowsK, lda: rowsK,
                      b: col, ldb: tOut, beta: beta, c: yg, ldc: tOut)
            }
        }
    }

    /// im2col for one (batch, group) slice: `col[c·K + k, t] = x[c, t·s + k·d − p]` (0 outside the input).
    ///
    /// `x` `[Cin/G, Tin]` (row stride Tin), `col` `[Cin/G · K, Tout]`.
    @inlinable
    public static func im2colNCL(_ g: Conv1dGeometry, inputLength tIn: Int, outputLength tOut: Int,
                                 x: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>) {
        let s = g.stride
        for c in 0..<g.groupInChannels {
            let xc = x + c * tIn
            for k in 0..<g.kernelSize {
                let row = col + (c * g.kernelSize + k) * tOut
                let offset = k * g.dilation - g.padding       // input index = t·s + offset
                let (t0, t1) = validRange(offset: offset, stride: s, inputLength: tIn, outputLength: tOut)
                if t0 > 0 { row.update(repeating: 0, count: t0) }
                if t1 < tOut { (row + t1).update(repeating: 0, count: tOut - t1) }
                if t1 > t0 {
                    let src = xc + t0 * s + offset
                    if s == 1 {
                        (row + t0).update(from: src, count: t1 - t0)
                    } else {
                        for t in t0..<t1 { row[t] = src[(t - t0) * s] }
                    }
                }
            }
        }
    }

    /// Output frames `t0..<t1` whose input index `t·stride + offset` lies in `0..<inputLength`.
    @inlinable
    static func validRange(offset: Int, stride s: Int, inputLength tIn: Int, outputLength tOut: Int) -> (Int, Int) {
        // t·s + offset ≥ 0  ⇔  t ≥ ceil(−offset / s);  t·s + offset ≤ tIn − 1  ⇔  t ≤ floor((tIn − 1 − offset) / s)
        let lo = offset >= 0 ? 0 : (-offset + s - 1) / s
        let hiNum = tIn - 1 - offset
        let hi = hiNum < 0 ? 0 : min(tOut, hiNum / s + 1)
        return (min(lo, tOut), max(min(lo, tOut), hi))
    }
}

extension NaiveKernels {
    /// Naive twin of `Kernels.conv1d` (direct loops, Double accumulation; `workspace` unused).
    public static func conv1d(_ g: Conv1dGeometry, batch: Int, inputLength tIn: Int,
                              x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              y: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>?) {
        let tOut = g.outputLength(inputLength: tIn)
        let cg = g.groupInChannels, og = g.groupOutChannels
        for b in 0..<batch {
            for o in 0..<g.outChannels {
                let grp = o / og
                for t in 0..<tOut {
                    var acc = Double(bias?[o] ?? 0)
                    for c in 0..<cg {
                        for k in 0..<g.kernelSize {
                            let ti = t * g.stride + k * g.dilation - g.padding
                            guard ti >= 0, ti < tIn else { continue }
                            let xv = x[(b * g.inChannels + grp * cg + c) * tIn + ti]
                            acc += Double(weight[(o * cg + c) * g.kernelSize + k]) * Double(xv)
                        }
                    }
                    y[(b * g.outChannels + o) * tOut + t] = Float(acc)
                }
            }
        }
    }
}
