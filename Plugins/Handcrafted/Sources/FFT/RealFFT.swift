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
    /// Scratch: the inverse's packed spectrum in natural order, before `gatherFirstStage`.
    private var sr: [Double]
    private var si: [Double]

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
        sr = [Double](repeating: 0, count: half)
        si = [Double](repeating: 0, count: half)
    }

    /// Bit-reversal permutation and the first radix-2 stage (twiddle 1) in one pass: output pair (2p, 2p + 1) is
    /// (a + b, a − b) for a = source[r] and b = source[r + m/2], r = bitReverse[2p] (bitReverse[2p + 1] = r + m/2).
    /// The source point i is (sre[i · stride], sim[i · stride]).
    @inline(__always)
    private func gatherFirstStage(_ sre: UnsafePointer<Double>, _ sim: UnsafePointer<Double>, stride: Int,
                                  _ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>) {
        let h = half / 2
        bitReverse.withUnsafeBufferPointer { br in
            var p = 0
            while p < h {
                let a = br[2 &* p] &* stride, b = (br[2 &* p] &+ h) &* stride
                let ar = sre[a], ai = sim[a], xr = sre[b], xi = sim[b]
                re[2 &* p &+ 1] = ar - xr; im[2 &* p &+ 1] = ai - xi
                re[2 &* p] = ar + xr; im[2 &* p] = ai + xi
                p = p &+ 1
            }
        }
    }

    /// In-place complex FFT of length `half` on split real/imaginary arrays; `inverse` conjugates the twiddles
    /// (no scaling), on data already permuted and through the first stage (`gatherFirstStage`). Radix-2 decimation
    /// in time; stages h and 2h are done in one pass over each group of 4h points (the same butterflies in the same
    /// order, so the same rounding, with half the loads and stores).
    private func complexFFT(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>, inverse: Bool) {
        let m = half
        // the bit-reversal permutation and stage h = 1 (twiddle 1) were done by `gatherFirstStage`
        let sign = SIMD2<Double>(repeating: inverse ? -1 : 1)
        let rre = UnsafeMutableRawPointer(re), rim = UnsafeMutableRawPointer(im)
        stageCos.withUnsafeBufferPointer { ct in
            stageSin.withUnsafeBufferPointer { st in
                guard let cb = ct.baseAddress, let sb = st.baseAddress else { return }
                let rc = UnsafeRawPointer(cb), rs = UnsafeRawPointer(sb)
                @inline(__always) func twiddle(_ h: Int, _ j: Int) -> (SIMD2<Double>, SIMD2<Double>) {
                    let o = (h &- 1 &+ j) &* 8
                    return (rc.loadUnaligned(fromByteOffset: o, as: SIMD2<Double>.self),
                            sign * rs.loadUnaligned(fromByteOffset: o, as: SIMD2<Double>.self))
                }
                @inline(__always) func load(_ i: Int) -> (SIMD2<Double>, SIMD2<Double>) {
                    (rre.loadUnaligned(fromByteOffset: i &* 8, as: SIMD2<Double>.self),
                     rim.loadUnaligned(fromByteOffset: i &* 8, as: SIMD2<Double>.self))
                }
                @inline(__always) func store(_ i: Int, _ v: (SIMD2<Double>, SIMD2<Double>)) {
                    rre.storeBytes(of: v.0, toByteOffset: i &* 8, as: SIMD2<Double>.self)
                    rim.storeBytes(of: v.1, toByteOffset: i &* 8, as: SIMD2<Double>.self)
                }
                /// (a + b·w, a − b·w), computed as the radix-2 butterfly always has been.
                @inline(__always) func butterfly(_ a: (SIMD2<Double>, SIMD2<Double>), _ b: (SIMD2<Double>, SIMD2<Double>),
                                                 _ w: (SIMD2<Double>, SIMD2<Double>))
                    -> ((SIMD2<Double>, SIMD2<Double>), (SIMD2<Double>, SIMD2<Double>)) {
                    let xr = b.0 * w.0 - b.1 * w.1
                    let xi = b.0 * w.1 + b.1 * w.0
                    return ((a.0 + xr, a.1 + xi), (a.0 - xr, a.1 - xi))
                }
                var h = 2
                while h &* 2 <= m / 2 {          // stages h and 2h together
                    var start = 0
                    while start < m {
                        var j = 0
                        while j < h {
                            let i0 = start &+ j, i1 = i0 &+ h, i2 = i1 &+ h, i3 = i2 &+ h
                            let w1 = twiddle(h, j)
                            let (a1, b1) = butterfly(load(i0), load(i1), w1)
                            let (c1, d1) = butterfly(load(i2), load(i3), w1)
                            let (a2, c2) = butterfly(a1, c1, twiddle(2 &* h, j))
                            let (b2, d2) = butterfly(b1, d1, twiddle(2 &* h, j &+ h))
                            store(i0, a2); store(i1, b2); store(i2, c2); store(i3, d2)
                            j = j &+ 2
                        }
                        start = start &+ 4 &* h
                    }
                    h = h &* 4
                }
                if h <= m / 2 {                    // one stage left
                    var start = 0
                    while start < m {
                        var j = 0
                        while j < h {
                            let i0 = start &+ j, i1 = i0 &+ h
                            let (a1, b1) = butterfly(load(i0), load(i1), twiddle(h, j))
                            store(i0, a1); store(i1, b1)
                            j = j &+ 2
                        }
                        start = start &+ 2 &* h
                    }
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
                gatherFirstStage(input, input + 1, stride: 2, re, im)
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
    /// (the imaginary parts of bins 0 and n/2 are ignored). With `count`, only the first `count` outputs are
    /// written (the transform is the same; callers that need a few lags skip the rest of the copy).
    public func inverse(_ inRe: UnsafePointer<Double>, _ inIm: UnsafePointer<Double>,
                        _ output: UnsafeMutablePointer<Double>, count: Int? = nil) {
        let m = half
        zr.withUnsafeMutableBufferPointer { zrb in
        zi.withUnsafeMutableBufferPointer { zib in
        sr.withUnsafeMutableBufferPointer { srb in
        si.withUnsafeMutableBufferPointer { sib in
            guard let re = zrb.baseAddress, let im = zib.baseAddress, let pr = srb.baseAddress,
                  let pi = sib.baseAddress else { return }
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
                        pr[k] = er - oi
                        pi[k] = ei + or
                    }
                }
            }
            gatherFirstStage(pr, pi, stride: 1, re, im)
            complexFFT(re, im, inverse: true)
            let scale = 1.0 / Double(m)
            let wanted = Swift.min(Swift.max(count ?? n, 0), n)
            for i in 0..<(wanted / 2) {
                output[2 * i] = re[i] * scale
                output[2 * i + 1] = im[i] * scale
            }
            if wanted % 2 == 1 { output[wanted - 1] = re[wanted / 2] * scale }
        }}}}
    }
}
