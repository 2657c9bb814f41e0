// Real-input FFT of a power-of-two length, in Double.
//
// Why this design: every transform the extractor needs has a power-of-two length (the STFT's n_fft, 2048 by
// default, and pYIN's autocorrelation length, the next power of two ≥ 2·frame_length − 1), so an iterative
// radix-2 decimation-in-time complex FFT is enough, is short enough to check by eye, and is tested against a
// naive O(N²) DFT. A real signal of length N is packed into a complex signal of length N/2 (even samples real,
// odd samples imaginary), transformed, and split into the N/2 + 1 bins of the real spectrum: this halves the work
// compared with a complex FFT of length N. Twiddles and the bit-reversal permutation are computed once per plan.
// Double precision keeps us well inside the 1e-4 parity budget against librosa (which is exact to ~1e-12 in float64).

import Foundation

/// A reusable plan for forward and inverse real FFTs of one power-of-two length `n`.
///
/// Not thread-safe: each thread uses its own plan (plans are cheap; the scratch buffers live inside).
public final class RealFFT {
    /// Transform length (a power of two, ≥ 4).
    public let n: Int
    /// Half length: the complex FFT length used internally.
    let half: Int
    /// Per-stage twiddles, stage with half-length h at offset h − 1: cos/sin of −2πj/(2h), j < h (contiguous, so
    /// the butterflies of a stage vectorise over j).
    private var stageCos: [Double]
    private var stageSin: [Double]
    /// cos/sin of -2πk/n for k ≤ half (real split twiddles).
    private var splitCos: [Double]
    private var splitSin: [Double]
    /// Bit-reversal permutation of `half` indices.
    private var bitReverse: [Int]
    /// Scratch: the packed complex signal, split into real and imaginary parts.
    private var zr: [Double]
    private var zi: [Double]

    /// Creates a plan; `n` must be a power of two ≥ 4.
    public init(n: Int) throws(FeatureError) {
        guard n >= 4, n & (n - 1) == 0 else {
            throw FeatureError.invalidConfig("FFT length \(n) is not a power of two ≥ 4; choose n_fft = 512, 1024, 2048, 4096, ...")
        }
        self.n = n
        half = n / 2
        var sc: [Double] = [], ss: [Double] = []
        var h = 1
        while h < n / 2 {
            for j in 0..<h {
                sc.append(cos(-2 * Double.pi * Double(j) / Double(2 * h)))
                ss.append(sin(-2 * Double.pi * Double(j) / Double(2 * h)))
            }
            h *= 2
        }
        stageCos = sc
        stageSin = ss
        splitCos = (0...half).map { cos(-2 * Double.pi * Double($0) / Double(n)) }
        splitSin = (0...half).map { sin(-2 * Double.pi * Double($0) / Double(n)) }
        var bits = 0
        while (1 << bits) < half { bits += 1 }
        bitReverse = (0..<half).map { i in
            var r = 0
            for b in 0..<bits where i & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
            return r
        }
        zr = [Double](repeating: 0, count: half)
        zi = [Double](repeating: 0, count: half)
    }

    /// In-place complex FFT of length `half` on split real/imaginary arrays; `inverse` conjugates the twiddles
    /// (no scaling).
    private func complexFFT(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>, inverse: Bool) {
        let m = half
        bitReverse.withUnsafeBufferPointer { br in
            for i in 0..<m {
                let j = br[i]
                if j > i {
                    let tr = re[i]; re[i] = re[j]; re[j] = tr
                    let ti = im[i]; im[i] = im[j]; im[j] = ti
                }
            }
        }
        // stage h = 1: twiddle 1
        var a = 0
        while a + 1 < m {
            let xr = re[a + 1], xi = im[a + 1]
            re[a + 1] = re[a] - xr; im[a + 1] = im[a] - xi
            re[a] += xr; im[a] += xi
            a += 2
        }
        let sign = SIMD2<Double>(repeating: inverse ? -1 : 1)
        let rre = UnsafeMutableRawPointer(re), rim = UnsafeMutableRawPointer(im)
        stageCos.withUnsafeBufferPointer { ct in
            stageSin.withUnsafeBufferPointer { st in
                guard let cb = ct.baseAddress, let sb = st.baseAddress else { return }
                let rc = UnsafeRawPointer(cb), rs = UnsafeRawPointer(sb)
                var h = 2
                while h < m + 1 && h <= m / 2 {
                    let tw = (h - 1) * 8
                    var start = 0
                    while start < m {
                        var j = 0
                        while j < h {
                            let wr = rc.loadUnaligned(fromByteOffset: tw + j * 8, as: SIMD2<Double>.self)
                            let wi = sign * rs.loadUnaligned(fromByteOffset: tw + j * 8, as: SIMD2<Double>.self)
                            let oa = (start + j) * 8, ob = (start + j + h) * 8
                            let br = rre.loadUnaligned(fromByteOffset: ob, as: SIMD2<Double>.self)
                            let bi = rim.loadUnaligned(fromByteOffset: ob, as: SIMD2<Double>.self)
                            let ar = rre.loadUnaligned(fromByteOffset: oa, as: SIMD2<Double>.self)
                            let ai = rim.loadUnaligned(fromByteOffset: oa, as: SIMD2<Double>.self)
                            let xr = br * wr - bi * wi
                            let xi = br * wi + bi * wr
                            rre.storeBytes(of: ar - xr, toByteOffset: ob, as: SIMD2<Double>.self)
                            rim.storeBytes(of: ai - xi, toByteOffset: ob, as: SIMD2<Double>.self)
                            rre.storeBytes(of: ar + xr, toByteOffset: oa, as: SIMD2<Double>.self)
                            rim.storeBytes(of: ai + xi, toByteOffset: oa, as: SIMD2<Double>.self)
                            j += 2
                        }
                        start += 2 * h
                    }
                    h *= 2
                }
            }
        }
    }

    /// Forward transform of `input` (`n` reals, read through a pointer) into `n/2 + 1` complex bins
    /// (`outRe`, `outIm`), unnormalised like numpy's `rfft`.
    public func forward(_ input: UnsafePointer<Double>, _ outRe: UnsafeMutablePointer<Double>,
                        _ outIm: UnsafeMutablePointer<Double>) {
        let m = half
        zr.withUnsafeMutableBufferPointer { zrb in
            zi.withUnsafeMutableBufferPointer { zib in
                guard let re = zrb.baseAddress, let im = zib.baseAddress else { return }
                for i in 0..<m {
                    re[i] = input[2 * i]
                    im[i] = input[2 * i + 1]
                }
                complexFFT(re, im, inverse: false)
                splitCos.withUnsafeBufferPointer { sc in
                    splitSin.withUnsafeBufferPointer { ss in
                        for k in 0...m {
                            let k1 = k == m ? 0 : k
                            let k2 = k == 0 ? 0 : m - k
                            // E = (Z[k] + conj Z[m-k]) / 2, O = (Z[k] - conj Z[m-k]) / (2i)
                            let er = 0.5 * (re[k1] + re[k2]), ei = 0.5 * (im[k1] - im[k2])
                            let or = 0.5 * (im[k1] + im[k2]), oi = -0.5 * (re[k1] - re[k2])
                            let wr = sc[k], wi = ss[k]
                            outRe[k] = er + (or * wr - oi * wi)
                            outIm[k] = ei + (or * wi + oi * wr)
                        }
                    }
                }
            }
        }
    }

    /// Inverse of `forward`: `n/2 + 1` complex bins → `n` reals, normalised by 1/n like numpy's `irfft`
    /// (the imaginary parts of bins 0 and n/2 are ignored).
    public func inverse(_ inRe: UnsafePointer<Double>, _ inIm: UnsafePointer<Double>,
                        _ output: UnsafeMutablePointer<Double>) {
        let m = half
        zr.withUnsafeMutableBufferPointer { zrb in
            zi.withUnsafeMutableBufferPointer { zib in
                guard let re = zrb.baseAddress, let im = zib.baseAddress else { return }
                splitCos.withUnsafeBufferPointer { sc in
                    splitSin.withUnsafeBufferPointer { ss in
                        for k in 0..<m {
                            let ar = inRe[k], ai = k == 0 ? 0 : inIm[k]
                            let br = inRe[m - k], bi = (m - k == m) ? 0 : -inIm[m - k]   // conj X[m-k]
                            let er = 0.5 * (ar + br), ei = 0.5 * (ai + bi)
                            let dr = 0.5 * (ar - br), di = 0.5 * (ai - bi)
                            // O = D · e^{+2πik/n}
                            let wr = sc[k], wi = -ss[k]
                            let or = dr * wr - di * wi, oi = dr * wi + di * wr
                            // Z = E + i O
                            re[k] = er - oi
                            im[k] = ei + or
                        }
                    }
                }
                complexFFT(re, im, inverse: true)
                let scale = 1.0 / Double(m)
                for i in 0..<m {
                    output[2 * i] = re[i] * scale
                    output[2 * i + 1] = im[i] * scale
                }
            }
        }
    }
}
