// The FFT path of the "same" grouped conv (Kernels+Conv1dSame.swift): overlap-save with fixed-length blocks, the
// weights transformed once (`Conv1dSameSpectra`), 16 channels per pair of 8-lane complex transforms (`ComplexFFT`).
import Foundation

extension Kernels {
    /// Floats of scratch `conv1dSameFFT` needs for `batch` clips of `t` frames: the input and output spectra, each
    /// `(n/2 + 1)·v·C` complex (v = B·blocks; ≈ 6.3 MB at B = 4, T = 149, C = 768), and `16·n` floats per thread.
    public static func conv1dSameFFTScratchCount(_ spectra: Conv1dSameSpectra, batch: Int, frames t: Int) -> Int {
        let v = batch * ((t + spectra.hop - 1) / spectra.hop)
        return 2 * spectra.bins * v * spectra.channels * 2 + max(1, Dense.threads) * 16 * spectra.fft.count
    }

    /// Overlap-save FFT correlation of `x [B, T, C]` with the spectra's weights, into `out [B, T, C]`
    /// (`= y + bias`, or `+= y` with `accumulate`); `x` and `out` must not alias.
    ///
    /// Forward: `y[t] = sum_j w[j] x[t + j − K/2]`. Each clip is cut into `ceil(T / hop)` blocks; block `s` is
    /// the n input frames from `s·hop − pad` (zeros outside the clip) and yields output frames `s·hop ..< s·hop + hop`,
    /// which never wrap around the block. Per block and 16 channels, one complex FFT carries two real channels
    /// (8 lanes in the real part, 8 in the imaginary one); per bin and group, one complex GEMM
    /// `[v, C/G] × [C/G, C/G]` over the v = B·blocks block spectra; then the inverse FFT, again two real channels
    /// per complex transform.
    /// Adjoint (`adjoint`, the input gradient): `y[s] = sum_j w[j]ᵀ x[s + K/2 − j]`, a correlation with the kernel
    /// flipped in time (pad `K − 1 − K/2`) and transposed per group; its spectrum is `e^{2 pi i f (K−1)/n} W[f]`, so
    /// each bin's GEMM reads the stored `conj(W[f]) / 2n` conjugate-transposed with that phase as alpha (no second
    /// table). `scratch` holds at least `conv1dSameFFTScratchCount` floats.
    public static func conv1dSameFFT(_ spectra: Conv1dSameSpectra, batch: Int, frames t: Int, x: UnsafePointer<Float>,
                                     adjoint: Bool, bias: UnsafePointer<Float>?, accumulate: Bool,
                                     into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let (c, g, cg, k) = (spectra.channels, spectra.groups, spectra.channels / spectra.groups, spectra.kernel)
        let (n, bins, hop) = (spectra.fft.count, spectra.bins, spectra.hop)
        let pad = adjoint ? k - 1 - k / 2 : k / 2
        let blocks = (t + hop - 1) / hop, v = batch * blocks, chunks = c / 16
        let xs = scratch                                   // [bins, v, C] complex (re, im interleaved)
        let ys = scratch + bins * v * c * 2                // [bins, v, C] complex
        let planes = ys + bins * v * c * 2                 // [threads, 2, n, 8]
        let fft = spectra.fft, reversed = spectra.fft.reversed
        // 1. Forward FFTs: item (block, 16-channel chunk).
        Dense.parallelChunksWithSerialBLAS(v * chunks) { thread, items in
            let re = planes + thread * 16 * n, im = re + 8 * n
            for item in items {
                let (vi, c0) = (item / chunks, (item % chunks) * 16)
                let (b, t0) = (vi / blocks, (vi % blocks) * hop - pad)
                for m in 0..<n {
                    let frame = t0 + m, slot = 8 * reversed[m]  // loaded in bit-reversed order for the FFT
                    if frame >= 0 && frame < t {
                        let src = x + (b * t + frame) * c + c0
                        store8(load8(src), re + slot)
                        store8(load8(src + 8), im + slot)
                    } else {
                        store8(.zero, re + slot)
                        store8(.zero, im + slot)
                    }
                }
                fft.forward(re: re, im: im, permuted: true)
                // Split Z = A + iB (A, B real signals): A[f] = (Z[f] + conj Z[n−f]) / 2, B[f] = (Z[f] − conj Z[n−f]) / 2i;
                // the halves are folded into the weight spectra.
                for f in 0..<bins {
                    let mirror = (n - f) % n
                    let (zr, zi) = (load8(re + 8 * f), load8(im + 8 * f))
                    let (mr, mi) = (load8(re + 8 * mirror), load8(im + 8 * mirror))
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
                        cgemm(m: v, n: cg, k: cg, alpha: alpha, a: a, lda: c, b: w, ldb: cg,
                                      transB: adjoint ? .conjugateTranspose : .none, beta: (0, 0), c: y, ldc: c)
                    }
                }
            }
        }
        // 3. Inverse FFTs: Z = A + iB from the two channels' half spectra (Hermitian), then the kept frames.
        Dense.parallelChunksWithSerialBLAS(v * chunks) { thread, items in
            let re = planes + thread * 16 * n, im = re + 8 * n
            for item in items {
                let (vi, c0) = (item / chunks, (item % chunks) * 16)
                let (b, t0) = (vi / blocks, (vi % blocks) * hop)
                for f in 0..<bins {
                    let src = ys + ((f * v + vi) * c + c0) * 2
                    let (ar, ai) = loadInterleaved(src), (br, bi) = loadInterleaved(src + 16)
                    let (slot, mirror) = (8 * reversed[f], 8 * reversed[(n - f) % n])  // bit-reversed order
                    store8(ar - bi, re + slot); store8(ai + br, im + slot)
                    if f > 0 && f < n - f {
                        store8(ar + bi, re + mirror); store8(br - ai, im + mirror)
                    }
                }
                fft.inverse(re: re, im: im, permuted: true)
                let ba = bias.map { load8($0 + c0) } ?? .zero, bb = bias.map { load8($0 + c0 + 8) } ?? .zero
                for m in 0..<min(hop, t - t0) {
                    let dst = out + (b * t + t0 + m) * c + c0
                    let (va, vb) = (load8(re + 8 * m) + ba, load8(im + 8 * m) + bb)
                    if accumulate {
                        store8(load8(dst) + va, dst); store8(load8(dst + 8) + vb, dst + 8)
                    } else {
                        store8(va, dst); store8(vb, dst + 8)
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

/// A "same" conv's weights in the frequency domain, for `Kernels.conv1dSameFFT`.
///
/// Block length n: the smallest power of two ≥ 2K (256 for the published K = 128), so each block yields
/// hop = n − K + 1 new frames (129) and the spectra do not depend on the clip length. Larger n would cut the
/// bins per output frame (n = 512: 257 bins for 385 frames) but double this table and, at T = 149 (3 s), costs
/// the same 257 vs 258 bins per clip; smaller n (non powers of two) would need more, shorter blocks.
/// Memory: `(n/2 + 1)·G·(C/G)²` complex floats: 129 · 16 · 48² · 8 B ≈ 38 MB for base models (C = 768),
/// ≈ 68 MB for large ones (C = 1024, C/G = 64), built once per encoder on first use (about 85 ms, release build, C = 768).
public struct Conv1dSameSpectra: Sendable {
    /// C, G, K.
    public let channels: Int, groups: Int, kernel: Int
    /// The block transform (n points).
    public let fft: ComplexFFT
    /// n/2 + 1 (the bins of a real signal's spectrum).
    public let bins: Int
    /// New output frames per block, n − K + 1.
    public let hop: Int
    /// `[bins, G, C/G in, C/G out]` complex interleaved: `conj(W[f]) / (2n)` for output `o`, input `i` of each
    /// group (conj: the layer is a correlation; 1/2 from splitting two real channels out of one complex FFT,
    /// 1/n the inverse FFT's scale).
    public let values: [Float]

    /// Whether the FFT path handles this layout (channels in chunks of 16, whole groups).
    public static func supports(channels: Int, groups: Int) -> Bool {
        channels > 0 && channels % 16 == 0 && groups > 0 && channels % groups == 0
    }

    /// The block length for kernel `k`: the smallest power of two ≥ 2K.
    public static func blockLength(kernel k: Int) -> Int {
        var n = 1
        while n < 2 * max(k, 1) { n *= 2 }
        return n
    }

    /// Transforms `weight` `[C, K, C/G]` (taps-major, `packConv1dWeightChannelsLast` order); nil when not `supports`.
    public init?(packedWeight weight: [Float], channels c: Int, groups g: Int, kernel k: Int) {
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
        let scale = 0.5 / Float(n)  // the input split's 1/2 (conv1dSameFFT stores 2A, 2B) and the inverse FFT's 1/n
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

