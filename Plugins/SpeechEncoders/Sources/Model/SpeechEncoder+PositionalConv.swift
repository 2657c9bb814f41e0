import EmoModels
import EmoTensor
import Foundation

/// How `encoder.pos_conv_embed`'s grouped convolution is computed (both give the same values up to rounding).
public enum PositionalConvMethod: String, Sendable, CaseIterable {
    /// Per group an im2col `[B·T, K·C/G]` and one GEMM: `T·K·C·C/G` multiply-adds per clip.
    case direct
    /// Overlap-save FFT convolution with fixed-length blocks (`PositionalConvSpectra`): about 18× fewer
    /// multiply-adds than `direct` for base models on 3 s clips.
    case fft
}

extension SpeechEncoder {
    /// `encoder.pos_conv_embed` for `batch` clips, added in place: `h[B, T, C] += gelu(conv(h))` (grouped conv,
    /// "same" padding per clip, the extra frame of an even kernel dropped). The pre-activation goes to `pre`
    /// `[B, T, C]` when given (the tape). Runs the FFT path when the layout allows it (C a multiple of 16) and it is
    /// the cheaper one for this batch (`usesFFTPositionalConv`), else the direct path.
    func positionalConv(_ h: UnsafeMutablePointer<Float>, batch: Int, frames t: Int, ws: SpeechWorkspace,
                        pre: UnsafeMutablePointer<Float>?) {
        if usesFFTPositionalConv(batch: batch, frames: t), let spectra = positionalSpectra() {
            positionalConvFFT(h, batch: batch, frames: t, spectra: spectra, ws: ws, pre: pre)
        } else {
            positionalConvDirect(h, batch: batch, frames: t, ws: ws, pre: pre)
        }
    }

    /// Adds the positional conv's input gradient (`dz [B, T, C]` at the pre-activation) into `dh [B, T, C]`, on
    /// the FFT path when `usesFFTPositionalConv` (same cost as the forward), else by im2col.
    func positionalConvBackward(_ dz: UnsafePointer<Float>, batch: Int, frames t: Int, into dh: UnsafeMutablePointer<Float>) {
        if usesFFTPositionalConv(batch: batch, frames: t), let spectra = positionalSpectra() {
            positionalConvBackwardFFT(dz, batch: batch, frames: t, spectra: spectra, ws: workspace, into: dh)
        } else {
            positionalConvBackwardDirect(dz, batch: batch, frames: t, into: dh)
        }
    }

    /// Whether `positionalConv` takes the FFT path for `batch` clips of `t` frames. Cost model in multiply-add
    /// equivalents per channel and input channel of a group, fitted to `emo bench encoders --positional-conv`-style
    /// single-thread timings (C = 768, K = 128; crossover at T ≈ 32 frames for B = 1, 20 for B = 2, 14 for B = 4):
    /// direct `B·T·K`; FFT `bins·(26 + 8·v)` with v = B·blocks, where 26 stands for streaming the weight spectra
    /// once per call (`bins·C·C/G` complex values of 8 bytes, memory-bound: about 3.3 multiply-adds per byte) and 8 per block for the
    /// complex GEMMs (4 real multiply-adds per complex one, at about half the direct GEMM's rate) and the transforms.
    func usesFFTPositionalConv(batch: Int, frames t: Int) -> Bool {
        guard PositionalConvSpectra.supports(channels: config.hiddenSize, groups: config.posConvGroups), t > 0 else { return false }
        let k = config.posConvKernel
        let n = PositionalConvSpectra.blockLength(kernel: k)
        let (hop, bins) = (n - k + 1, n / 2 + 1)
        let blocks = (t + hop - 1) / hop
        return batch * t * k > bins * (26 + 8 * batch * blocks)
    }

    /// The positional conv's weight spectra, computed on first use under a lock (nil when the layout has no FFT path).
    func positionalSpectra() -> PositionalConvSpectra? {
        positionalSpectraCache.value {
            PositionalConvSpectra(weight: posConvWeight, channels: config.hiddenSize, groups: config.posConvGroups,
                                  kernel: config.posConvKernel)
        }
    }

    /// Runs the positional conv alone on `h` `[B, T, C]` in place (`h += gelu(conv(h))`) by `method`, on this
    /// instance's workspace (not safe to call concurrently with itself or `forward`): for benchmarks and for
    /// comparing the two paths.
    public func applyPositionalConv(_ h: inout [Float], batch: Int, frames t: Int, method: PositionalConvMethod) throws {
        guard batch > 0, t > 0, h.count == batch * t * config.hiddenSize else {
            throw CheckpointError.invalidConfig(path: "positional conv", message: "h has \(h.count) values, expected B × T × C = \(batch) × \(t) × \(config.hiddenSize)")
        }
        let spectra = method == .fft ? positionalSpectra() : nil
        if method == .fft && spectra == nil {
            throw CheckpointError.invalidConfig(path: "positional conv", message: "no FFT path for hidden size \(config.hiddenSize) (needs a multiple of 16); use .direct")
        }
        h.withUnsafeMutableBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            if let spectra {
                positionalConvFFT(p, batch: batch, frames: t, spectra: spectra, ws: workspace, pre: nil)
            } else {
                positionalConvDirect(p, batch: batch, frames: t, ws: workspace, pre: nil)
            }
        }
    }

    /// The direct path: per group an im2col `[B·T, K·C/G]` and a GEMM with C/G output columns (the reference for the
    /// FFT path).
    func positionalConvDirect(_ h: UnsafeMutablePointer<Float>, batch: Int, frames t: Int, ws: SpeechWorkspace,
                              pre: UnsafeMutablePointer<Float>?) {
        let (c, k, g) = (config.hiddenSize, config.posConvKernel, config.posConvGroups)
        let cg = c / g, pad = k / 2, rows = batch * t
        let padded = ws.buffer(.posPadded, batch * (t + k) * c)  // [B, T + K, C], zero rows around each clip
        for b in 0..<batch {
            let p = padded + b * (t + k) * c
            p.update(repeating: 0, count: pad * c)
            (p + pad * c).update(from: h + b * t * c, count: t * c)
            (p + (pad + t) * c).update(repeating: 0, count: (k - pad) * c)
        }
        let col = ws.buffer(.posCol, rows * k * cg)  // [B·T, K·C/G] for one group
        let z = pre ?? ws.buffer(.posOut, rows * c)   // [B·T, C]
        for r in 0..<rows { (z + r * c).update(from: posConvBias, count: c) }
        posConvWeight.withUnsafeBufferPointer { w in
            guard let w = w.baseAddress else { return }
            for gi in 0..<g {
                Dense.parallel(rows, grain: 64) { range in
                    for row in range {
                        let (b, r) = (row / t, row % t)
                        let dst = col + row * k * cg, src = padded + (b * (t + k) + r) * c + gi * cg
                        for tap in 0..<k { (dst + tap * cg).update(from: src + tap * c, count: cg) }
                    }
                }
                Kernels.sgemm(transB: true, m: rows, n: cg, k: k * cg, a: col, lda: k * cg, b: w + gi * cg * k * cg,
                              ldb: k * cg, beta: 1, c: z + gi * cg, ldc: c)
            }
        }
        Dense.addGelu(z, into: h, count: rows * c)
    }

    /// The FFT path (overlap-save): `h += gelu(conv(h) + bias)`, the pre-activation into `pre` when given.
    /// Scratch (from `ws`): the input and output spectra, each `(n/2 + 1)·v·C` complex (≈ 6.3 MB at B = 4,
    /// T = 149, C = 768), and `16·n` floats per thread.
    func positionalConvFFT(_ h: UnsafeMutablePointer<Float>, batch: Int, frames t: Int, spectra: PositionalConvSpectra,
                           ws: SpeechWorkspace, pre: UnsafeMutablePointer<Float>?) {
        let rows = batch * t, c = spectra.channels
        let z = pre ?? ws.buffer(.posOut, rows * c)  // [B·T, C]
        overlapSave(UnsafePointer(h), batch: batch, frames: t, spectra: spectra, ws: ws, adjoint: false,
                    into: z, bias: posConvBias, accumulate: false)
        Dense.addGelu(z, into: h, count: rows * c)
    }

    /// The FFT path of the backward: `dh += convT(dz)` (the adjoint of the conv without bias), the same spectra
    /// read conjugate-transposed (see `overlapSave`). Scratch as `positionalConvFFT`.
    func positionalConvBackwardFFT(_ dz: UnsafePointer<Float>, batch: Int, frames t: Int, spectra: PositionalConvSpectra,
                                   ws: SpeechWorkspace, into dh: UnsafeMutablePointer<Float>) {
        overlapSave(dz, batch: batch, frames: t, spectra: spectra, ws: ws, adjoint: true, into: dh, bias: nil, accumulate: true)
    }

    /// Overlap-save FFT correlation of `x [B, T, C]` with the positional conv's weights, into `out [B, T, C]`
    /// (`= y + bias`, or `+= y` with `accumulate`).
    ///
    /// Forward: `y[t] = sum_j w[j] x[t + j − K/2]`. Each clip is cut into `ceil(T / hop)` blocks; block `s` is
    /// the n input frames from `s·hop − pad` (zeros outside the clip) and yields output frames `s·hop ..< s·hop + hop`,
    /// which never wrap around the block. Per block and 16 channels, one complex FFT carries two real channels
    /// (8 lanes in the real part, 8 in the imaginary one); per bin and group, one complex GEMM
    /// `[v, C/G] × [C/G, C/G]` over the v = B·blocks block spectra; then the inverse FFT, again two real channels
    /// per complex transform.
    /// Adjoint (`adjoint`): `y[s] = sum_j w[j]ᵀ x[s + K/2 − j]`, a correlation with the kernel flipped in time
    /// (pad `K − 1 − K/2`) and transposed per group; its spectrum is `e^{2 pi i f (K−1)/n} W[f]`, so each bin's GEMM
    /// reads the stored `conj(W[f]) / 2n` conjugate-transposed with that phase as alpha (no second table).
    func overlapSave(_ x: UnsafePointer<Float>, batch: Int, frames t: Int, spectra: PositionalConvSpectra,
                     ws: SpeechWorkspace, adjoint: Bool, into out: UnsafeMutablePointer<Float>,
                     bias: UnsafePointer<Float>?, accumulate: Bool) {
        let (c, g, cg, k) = (spectra.channels, spectra.groups, spectra.channels / spectra.groups, spectra.kernel)
        let (n, bins, hop) = (spectra.fft.count, spectra.bins, spectra.hop)
        let pad = adjoint ? k - 1 - k / 2 : k / 2
        let blocks = (t + hop - 1) / hop, v = batch * blocks, chunks = c / 16
        let xs = ws.buffer(.posSpecIn, bins * v * c * 2)   // [bins, v, C] complex (re, im interleaved)
        let ys = ws.buffer(.posSpecOut, bins * v * c * 2)  // [bins, v, C] complex
        let threads = Dense.chunkCount(v * chunks)
        let scratch = (0..<threads).map { ws.buffer(.posFFT($0), 16 * n) }  // [2, n, 8] per thread
        let fft = spectra.fft, reversed = spectra.fft.reversed
        // 1. Forward FFTs: item (block, 16-channel chunk).
        Dense.parallelChunksWithSerialBLAS(v * chunks) { thread, items in
            let re = scratch[thread], im = scratch[thread] + 8 * n
            for item in items {
                let (vi, c0) = (item / chunks, (item % chunks) * 16)
                let (b, t0) = (vi / blocks, (vi % blocks) * hop - pad)
                for m in 0..<n {
                    let frame = t0 + m, slot = 8 * reversed[m]  // loaded in bit-reversed order for the FFT
                    if frame >= 0 && frame < t {
                        let src = x + (b * t + frame) * c + c0
                        Kernels.store8(Kernels.load8(src), re + slot)
                        Kernels.store8(Kernels.load8(src + 8), im + slot)
                    } else {
                        Kernels.store8(.zero, re + slot)
                        Kernels.store8(.zero, im + slot)
                    }
                }
                fft.forward(re: re, im: im, permuted: true)
                // Split Z = A + iB (A, B real signals): A[f] = (Z[f] + conj Z[n−f]) / 2, B[f] = (Z[f] − conj Z[n−f]) / 2i;
                // the halves are folded into the weight spectra.
                for f in 0..<bins {
                    let mirror = (n - f) % n
                    let (zr, zi) = (Kernels.load8(re + 8 * f), Kernels.load8(im + 8 * f))
                    let (mr, mi) = (Kernels.load8(re + 8 * mirror), Kernels.load8(im + 8 * mirror))
                    let dst = xs + ((f * v + vi) * c + c0) * 2
                    storeInterleaved(zr + mr, zi - mi, to: dst)
                    storeInterleaved(zi + mi, mr - zr, to: dst + 16)
                }
            }
        }
        // 2. Per bin and group: Y[f][v, C/G] = X[f][v, C/G] · S[f, g] (complex, single-threaded GEMMs).
        spectra.values.withUnsafeBufferPointer { s in
            guard let s = s.baseAddress else { return }
            Dense.parallelWithSerialBLAS(bins) { range in
                for f in range {
                    let phase = adjoint ? 2 * Double.pi * Double(f * (k - 1)) / Double(n) : 0
                    let alpha: (Float, Float) = (Float(cos(phase)), Float(sin(phase)))
                    for gi in 0..<g {
                        let a = xs + (f * v * c + gi * cg) * 2, y = ys + (f * v * c + gi * cg) * 2
                        let w = s + (f * g + gi) * cg * cg * 2
                        Kernels.cgemm(m: v, n: cg, k: cg, alpha: alpha, a: a, lda: c, b: w, ldb: cg,
                                      transB: adjoint ? .conjugateTranspose : .none, beta: (0, 0), c: y, ldc: c)
                    }
                }
            }
        }
        // 3. Inverse FFTs: Z = A + iB from the two channels' half spectra (Hermitian), then the kept frames.
        Dense.parallelChunksWithSerialBLAS(v * chunks) { thread, items in
            let re = scratch[thread], im = scratch[thread] + 8 * n
            for item in items {
                let (vi, c0) = (item / chunks, (item % chunks) * 16)
                let (b, t0) = (vi / blocks, (vi % blocks) * hop)
                for f in 0..<bins {
                    let src = ys + ((f * v + vi) * c + c0) * 2
                    let (ar, ai) = loadInterleaved(src), (br, bi) = loadInterleaved(src + 16)
                    let (slot, mirror) = (8 * reversed[f], 8 * reversed[(n - f) % n])  // bit-reversed order
                    Kernels.store8(ar - bi, re + slot); Kernels.store8(ai + br, im + slot)
                    if f > 0 && f < n - f {
                        Kernels.store8(ar + bi, re + mirror); Kernels.store8(br - ai, im + mirror)
                    }
                }
                fft.inverse(re: re, im: im, permuted: true)
                let ba = bias.map { Kernels.load8($0 + c0) } ?? .zero, bb = bias.map { Kernels.load8($0 + c0 + 8) } ?? .zero
                for m in 0..<min(hop, t - t0) {
                    let dst = out + (b * t + t0 + m) * c + c0
                    let (va, vb) = (Kernels.load8(re + 8 * m) + ba, Kernels.load8(im + 8 * m) + bb)
                    if accumulate {
                        Kernels.store8(Kernels.load8(dst) + va, dst); Kernels.store8(Kernels.load8(dst + 8) + vb, dst + 8)
                    } else {
                        Kernels.store8(va, dst); Kernels.store8(vb, dst + 8)
                    }
                }
            }
        }
    }
}

/// Writes 8 complex values `(re[l], im[l])` interleaved at `p[0 ..< 16]`.
@inline(__always) private func storeInterleaved(_ re: SIMD8<Float>, _ im: SIMD8<Float>, to p: UnsafeMutablePointer<Float>) {
    let v = SIMD16<Float>(re[0], im[0], re[1], im[1], re[2], im[2], re[3], im[3],
                          re[4], im[4], re[5], im[5], re[6], im[6], re[7], im[7])
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// Reads 8 complex values interleaved at `p[0 ..< 16]` as `(re, im)`.
@inline(__always) private func loadInterleaved(_ p: UnsafeMutablePointer<Float>) -> (SIMD8<Float>, SIMD8<Float>) {
    let v = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    return (v.evenHalf, v.oddHalf)
}

/// The positional conv's weights in the frequency domain, for `SpeechEncoder.positionalConvFFT`.
///
/// Block length n: the smallest power of two ≥ 2K (256 for the published K = 128), so each block yields
/// hop = n − K + 1 new frames (129) and the spectra do not depend on the clip length. Larger n would cut the
/// bins per output frame (n = 512: 257 bins for 385 frames) but double this table and, at T = 149 (3 s), costs
/// the same 257 vs 258 bins per clip; smaller n (non powers of two) would need more, shorter blocks.
/// Memory: `(n/2 + 1)·G·(C/G)²` complex floats: 129 · 16 · 48² · 8 B ≈ 38 MB for base models (C = 768),
/// ≈ 68 MB for large ones (C = 1024, C/G = 64), built once per encoder on first use (about 85 ms, release build, C = 768).
struct PositionalConvSpectra: Sendable {
    /// C, G, K.
    let channels: Int, groups: Int, kernel: Int
    /// The block transform (n points).
    let fft: ComplexFFT
    /// n/2 + 1 (the bins of a real signal's spectrum).
    let bins: Int
    /// New output frames per block, n − K + 1.
    let hop: Int
    /// `[bins, G, C/G in, C/G out]` complex interleaved: `conj(W[f]) / (2n)` for output `o`, input `i` of each
    /// group (conj: the layer is a correlation; 1/2 from splitting two real channels out of one complex FFT,
    /// 1/n the inverse FFT's scale).
    let values: [Float]

    /// Whether the FFT path handles this layout (channels in chunks of 16, whole groups).
    static func supports(channels: Int, groups: Int) -> Bool {
        channels > 0 && channels % 16 == 0 && groups > 0 && channels % groups == 0
    }

    /// The block length for kernel `k`: the smallest power of two ≥ 2K.
    static func blockLength(kernel k: Int) -> Int {
        var n = 1
        while n < 2 * max(k, 1) { n *= 2 }
        return n
    }

    /// Transforms `weight` `[C, K, C/G]` (taps-major, as `SpeechEncoder.posConvWeight`); nil when not `supports`.
    init?(weight: [Float], channels c: Int, groups g: Int, kernel k: Int) {
        guard Self.supports(channels: c, groups: g), k > 0, weight.count == c * k * (c / g),
              let fft = ComplexFFT(count: Self.blockLength(kernel: k)) else { return nil }
        let cg = c / g, n = fft.count, bins = n / 2 + 1
        channels = c
        groups = g
        kernel = k
        self.fft = fft
        self.bins = bins
        hop = n - k + 1
        var out = [Float](repeating: 0, count: bins * g * cg * cg * 2)
        var re = [Float](repeating: 0, count: 8 * n), im = [Float](repeating: 0, count: 8 * n)
        let scale = 0.5 / Float(n)  // the input split's 1/2 (positionalConvFFT stores 2A, 2B) and the inverse FFT's 1/n
        weight.withUnsafeBufferPointer { w in
            re.withUnsafeMutableBufferPointer { rb in
                im.withUnsafeMutableBufferPointer { ib in
                    guard let w = w.baseAddress, let re = rb.baseAddress, let im = ib.baseAddress else { return }
                    // Outputs o0 ..< o0 + 8 in the real part, o0 + 8 ..< o0 + 16 in the imaginary part, one input i.
                    for o0 in stride(from: 0, to: c, by: 16) {
                        for i in 0..<cg {
                            re.update(repeating: 0, count: 8 * n)
                            im.update(repeating: 0, count: 8 * n)
                            for tap in 0..<k {
                                for l in 0..<8 {
                                    re[8 * tap + l] = w[((o0 + l) * k + tap) * cg + i]
                                    im[8 * tap + l] = w[((o0 + 8 + l) * k + tap) * cg + i]
                                }
                            }
                            fft.forward(re: re, im: im)
                            for f in 0..<bins {
                                let m = (n - f) % n
                                for l in 0..<8 {
                                    // A = (Z[f] + conj Z[m]) / 2 and B = (Z[f] − conj Z[m]) / 2i, stored conjugated.
                                    let (ar, ai) = (0.5 * (re[8 * f + l] + re[8 * m + l]), 0.5 * (im[8 * f + l] - im[8 * m + l]))
                                    let (br, bi) = (0.5 * (im[8 * f + l] + im[8 * m + l]), 0.5 * (re[8 * m + l] - re[8 * f + l]))
                                    let (oa, ob) = (o0 + l, o0 + 8 + l)
                                    let idxA = (((f * g + oa / cg) * cg + i) * cg + oa % cg) * 2
                                    let idxB = (((f * g + ob / cg) * cg + i) * cg + ob % cg) * 2
                                    (out[idxA], out[idxA + 1]) = (ar * scale, -ai * scale)
                                    (out[idxB], out[idxB + 1]) = (br * scale, -bi * scale)
                                }
                            }
                        }
                    }
                }
            }
        }
        values = out
    }
}

/// A value built once on first use, under a lock (so concurrent forwards on per-thread workspaces share it), and
/// dropped by `reset` when what it was built from changes.
final class LazyPositionalSpectra: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: PositionalConvSpectra?

    /// The stored spectra, built by `make` if absent (`make` runs under the lock; nil results are not stored).
    func value(_ make: () -> PositionalConvSpectra?) -> PositionalConvSpectra? {
        lock.lock()
        defer { lock.unlock() }
        if stored == nil { stored = make() }
        return stored
    }

    /// Forgets the stored spectra (the weights changed).
    func reset() {
        lock.lock()
        stored = nil
        lock.unlock()
    }
}
