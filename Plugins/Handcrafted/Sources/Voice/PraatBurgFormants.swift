// Praat's "Sound: To Formant (burg)..." (Praat 6.1.38, fon/Sound_to_Formant.cpp, Paul Boersma & David Weenink),
// step by step, with its defaults: maximum formant 5500 Hz, 5 formants (10 poles), window length 0.025 s (the
// Gaussian window spans twice that), time step window/4 = 0.00625 s, pre-emphasis from 50 Hz, safety margin 50 Hz.
//  1. Sound_resample to 2 × 5500 Hz, precision 50: FFT low-pass (signal after 1000 zeros in a power-of-two buffer
//     ≥ n + 2000, packed real spectrum zeroed from index ⌊upfactor·nfft⌋ on and at Nyquist), then windowed-sinc
//     interpolation of depth 50 (NUM_interpolate_sinc) at the new sample times, the new samples centred on the clip.
//  2. Pre-emphasis x[i] −= exp(−2π·50·dx)·x[i−1], from the end backwards.
//  3. Frames as Sampled_shortTermAnalysis places them: n = 1 + ⌊(duration − 0.05) / dt⌋, centred on the clip.
//  4. Each frame: ⌊0.05/dx⌋ samples around the frame time times the Gaussian window
//     (exp(−48 (i − mid)² / (N + 1)²) − e^−12) / (1 − e^−12); all-zero frames have no formants.
//  5. Burg LPC of order 10 (NUMburg), roots of z^10 − a1 z^9 − … − a10, roots outside the unit circle reflected
//     (1 / conj z), every root with Im ≥ 0 and 50 Hz ≤ f ≤ 5450 Hz is a formant, sorted by frequency.

import Foundation

/// Formant tracks exactly as Praat's `To Formant (burg)` computes them.
public struct PraatBurgFormants: Sendable {
    /// Highest formant frequency (Hz); the sound is resampled to twice this.
    public var maximumFormant = 5500.0
    /// Maximum number of formants (the LPC order is twice this).
    public var numberOfFormants = 5
    /// Praat's "window length" (s): the Gaussian window is twice as long.
    public var windowLength = 0.025
    /// Pre-emphasis corner frequency (Hz).
    public var preEmphasis = 50.0
    /// Formants closer than this to 0 or to the Nyquist frequency are dropped (Hz).
    public var safetyMargin = 50.0

    /// Praat's defaults.
    public init() {}

    /// Time step between frames (s): Praat's default window length / 4 unless set (the peer pipeline sets 0.01).
    public var timeStep: Double {
        get { explicitTimeStep ?? windowLength / 4 }
        set { explicitTimeStep = newValue > 0 ? newValue : nil }
    }
    private var explicitTimeStep: Double?

    /// One analysis: frame times (s, clip time where sample i of the input lies at (i + 0.5)/sr) and each frame's
    /// formant frequencies in Hz, ascending (as many as Praat finds: 0…5).
    public struct Track: Sendable {
        /// Centre time of every frame (s).
        public var times: [Double]
        /// Formant frequencies per frame (Hz), ascending. // [frames][0...numberOfFormants]
        public var frequencies: [[Double]]
    }

    /// Runs the analysis on `y` sampled at `sampleRate` Hz (empty track when the clip is shorter than a window).
    public func track(_ y: [Double], sampleRate: Double) -> Track {
        let dxIn = 1.0 / sampleRate
        let newRate = 2 * maximumFormant
        // the clip ends at n / sr, as parselmouth's Sound(values, sampling_frequency) sets xmax (n·dx can be 1 ulp
        // more, which moves every frame time by ~1e-16 s and, with a 10 ms step, flips sample windows)
        var (s, x1) = Self.resample(y, dx: dxIn, newRate: newRate, depth: 50, xmax: Double(y.count) / sampleRate)
        let dx = 1.0 / newRate
        let nx = s.count
        guard nx > 0 else { return Track(times: [], frequencies: []) }
        // pre-emphasis, in place from the end (Sound_preEmphasis)
        let pre = exp(-2.0 * Double.pi * preEmphasis * dx)
        var i = nx - 1
        while i >= 1 { s[i] -= pre * s[i - 1]; i -= 1 }
        let dt = timeStep
        let duration = Double(nx) * dx
        let dtWindow = 2.0 * windowLength
        let nFrames = 1 + Int(floor((duration - dtWindow) / dt))
        let nWindow = Int(floor(dtWindow / dx)), halfWindow = nWindow / 2
        let poles = 2 * numberOfFormants
        guard nFrames >= 1, nWindow >= poles + 1 else { return Track(times: [], frequencies: []) }
        let t1 = x1 + 0.5 * (duration - dx - Double(nFrames - 1) * dt)
        let edge = exp(-12.0), mid = 0.5 * Double(nWindow + 1), np1 = Double(nWindow + 1)
        let window = (1...nWindow).map { k -> Double in
            let d = Double(k) - mid
            return (exp(-48.0 * d * d / np1 / np1) - edge) / (1 - edge)
        }
        let nyquist = 0.5 / dx
        var times: [Double] = [], freqs: [[Double]] = []
        var frame = [Double](repeating: 0, count: nWindow)
        for f in 0..<nFrames {
            let t = t1 + Double(f) * dt
            times.append(t)
            // 1-based sample numbers as in Praat
            let left = Int(floor((t - x1) / dx)) + 1
            let start = max(left + 1 - halfWindow, 1), end = min(left + halfWindow, nx)
            var peak = 0.0
            if start <= end { for k in start...end { peak = max(peak, s[k - 1] * s[k - 1]) } }
            guard peak > 0 else { freqs.append([]); continue }
            let len = end - start + 1
            for j in 0..<len { frame[j] = s[start - 1 + j] * window[j] }
            guard let a = Self.burg(Array(frame[0..<len]), order: poles) else { freqs.append([]); continue }
            // z^p − a1 z^(p−1) − … − ap (Praat's polynomial from the LP coefficients)
            let roots = polynomialRoots([1.0] + a.map { -$0 })
            var fs: [Double] = []
            for var z in roots {
                let m2 = z.re * z.re + z.im * z.im
                if m2 > 1 { z = Complex(re: z.re / m2, im: z.im / m2) }     // Roots_fixIntoUnitCircle: 1 / conj z
                guard z.im >= 0 else { continue }
                let fq = abs(atan2(z.im, z.re)) * nyquist / Double.pi
                if fq >= safetyMargin, fq <= nyquist - safetyMargin { fs.append(fq) }
            }
            freqs.append(fs.sorted())
        }
        return Track(times: times, frequencies: freqs)
    }

    /// Praat's Sound_resample(me, newRate, depth) for a sound starting at time 0 with samples at (i + 0.5)·dx and
    /// ending at `xmax` (default n·dx): the resampled samples and the time of the first one.
    static func resample(_ y: [Double], dx: Double, newRate: Double, depth: Int,
                         xmax clipEnd: Double? = nil) -> ([Double], Double) {
        let nx = y.count
        let upfactor = newRate * dx
        let xmax = clipEnd ?? Double(nx) * dx
        let count = Int(floor(xmax * newRate + 0.5))
        guard count >= 1 else { return ([], 0) }
        var filtered = y
        if upfactor < 1 {
            let turn = 1000
            var nfft = 1
            while nfft < nx + 2 * turn { nfft *= 2 }
            if let fft = try? RealFFT(n: nfft) {
                var data = [Double](repeating: 0, count: nfft)
                for k in 0..<nx { data[turn + k] = y[k] }
                var re = [Double](repeating: 0, count: nfft / 2 + 1), im = re
                var out = [Double](repeating: 0, count: nfft)
                data.withUnsafeBufferPointer { d in
                    re.withUnsafeMutableBufferPointer { r in
                        im.withUnsafeMutableBufferPointer { m in
                            guard let dp = d.baseAddress, let rp = r.baseAddress, let mp = m.baseAddress else { return }
                            fft.forward(dp, rp, mp)
                        }
                    }
                }
                // Praat's packed spectrum (1-based): [1] DC, [2] Nyquist, [2k+1] Re bin k, [2k+2] Im bin k;
                // entries from ⌊upfactor·nfft⌋ on are zeroed, and the Nyquist entry
                let cut = Int(floor(upfactor * Double(nfft)))
                for k in 1..<(nfft / 2) {
                    if 2 * k + 1 >= cut { re[k] = 0 }
                    if 2 * k + 2 >= cut { im[k] = 0 }
                }
                re[nfft / 2] = 0; im[nfft / 2] = 0
                re.withUnsafeBufferPointer { r in
                    im.withUnsafeBufferPointer { m in
                        out.withUnsafeMutableBufferPointer { o in
                            guard let rp = r.baseAddress, let mp = m.baseAddress, let op = o.baseAddress else { return }
                            fft.inverse(rp, mp, op)
                        }
                    }
                }
                for k in 0..<nx { filtered[k] = out[turn + k] }
            }
        }
        let x1Old = 0.5 * dx
        let dxNew = 1.0 / newRate
        let x1New = 0.5 * (0 + xmax - Double(count - 1) / newRate)
        var result = [Double](repeating: 0, count: count)
        // Between integer rates the fractional positions repeat every newRate / gcd samples (11 for 16 → 11 kHz):
        // away from the edges, reuse the sinc weights of the last sample with the same fraction (to 1e-9 of a
        // sample; rounding of the position differs by ~1e-11) instead of recomputing them.
        let oldRate = (1.0 / dx).rounded()
        var period = 0
        if newRate == newRate.rounded(), oldRate > 0, abs(oldRate * dx - 1) < 1e-12 {
            var a = Int(newRate), b = Int(oldRate)
            while b != 0 { (a, b) = (b, a % b) }
            if a > 0, Int(newRate) / a <= 256 { period = Int(newRate) / a }
        }
        let width = 2 * depth
        var fracs = [Double](repeating: -1, count: max(period, 1))          // -1: not computed yet
        var weights = [Double](repeating: 0, count: max(period, 1) * width)  // [period][2·depth]
        filtered.withUnsafeBufferPointer { yb in
            for i in 0..<count {
                let x = x1New + Double(i) * dxNew
                let index = (x - x1Old) / dx + 1.0
                let midleft = Int(floor(index))
                let frac = index - Double(midleft)
                let interior = period > 0 && frac > 1e-9 && frac < 1 - 1e-9
                    && midleft - depth + 1 >= 1 && midleft + depth <= nx
                guard interior, let y = yb.baseAddress else {
                    result[i] = interpolateSinc(filtered, at: index, depth: depth)
                    continue
                }
                let c = i % period
                if abs(fracs[c] - frac) > 1e-9 {
                    fracs[c] = frac
                    let w = sincWeights(at: index, depth: depth)
                    for j in 0..<width { weights[c * width + j] = w[j] }
                }
                // Praat's order: midleft down to midleft − depth + 1, then midleft + 1 up to midleft + depth
                result[i] = weights.withUnsafeBufferPointer { wb -> Double in
                    guard let w = wb.baseAddress else { return 0 }
                    let wl = w + c * width, wr = wl + depth
                    let yl = y + (midleft - 1), yr = y + midleft
                    var sum = 0.0
                    for j in 0..<depth { sum += yl[-j] * wl[j] }
                    for j in 0..<depth { sum += yr[j] * wr[j] }
                    return sum
                }
            }
        }
        return (result, x1New)
    }

    /// Praat's NUM_interpolate_sinc: y (1-based positions) at real position x, windowed sinc of depth `maxDepth`
    /// (raised-cosine window), falling back to cubic / linear / nearest near the edges (PraatSinc.swift).
    static func interpolateSinc(_ y: [Double], at x: Double, depth: Int) -> Double {
        y.withUnsafeBufferPointer { PraatSinc.interpolate($0, at: x, depth: depth) }
    }

    /// The 2·depth weights `interpolateSinc` gives to y[midleft], y[midleft − 1], …, then y[midleft + 1], … at an
    /// interior position x (no edge clipping), computed by the same recurrences.
    static func sincWeights(at x: Double, depth: Int) -> [Double] {
        let midleft = Int(floor(x)), midright = midleft + 1
        let left = midright - depth, right = midleft + depth
        var w: [Double] = []
        w.reserveCapacity(2 * depth)
        // One side's `depth` weights from the first tap's angle a0 and the window width, the raised cosine
        // advanced by rotation (the same recurrence on both sides).
        func side(a0: Double, width: Double) {
            var a = a0
            var halfSin = 0.5 * sin(a)
            let aa = a / width, daa = Double.pi / width
            var cosaa = cos(aa), sinaa = sin(aa)
            let cosdaa = cos(daa), sindaa = sin(daa)
            for _ in 0..<depth {
                w.append(halfSin / a * (1.0 + cosaa))
                a += Double.pi
                let c = cosaa * cosdaa - sinaa * sindaa
                sinaa = cosaa * sindaa + sinaa * cosdaa
                cosaa = c
                halfSin = -halfSin
            }
        }
        side(a0: Double.pi * (x - Double(midleft)), width: x - Double(left) + 1)
        side(a0: Double.pi * (Double(midright) - x), width: Double(right) - x + 1)
        return w
    }

    /// Praat's NUMburg: Burg's LPC coefficients a1…am (prediction x[n] ≈ Σ a_k x[n − k]); nil when the frame is
    /// silent or ill-conditioned (Praat then leaves the coefficients at zero: no formants).
    static func burg(_ x: [Double], order m: Int) -> [Double]? {
        let n = x.count
        guard n > 2, m >= 1 else { return nil }
        var a = [Double](repeating: 0, count: m + 1), aa = a       // 1-based
        var b1 = [Double](repeating: 0, count: n + 1), b2 = b1      // 1-based
        var p = 0.0
        for v in x { p += v * v }
        guard p > 0 else { return nil }
        b1[1] = x[0]
        b2[n - 1] = x[n - 1]
        if n >= 3 { for j in 2...(n - 1) { b1[j] = x[j - 1]; b2[j - 1] = x[j - 1] } }
        for i in 1...m {
            var num = 0.0, den = 0.0
            if n - i >= 1 {
                for j in 1...(n - i) {
                    num += b1[j] * b2[j]
                    den += b1[j] * b1[j] + b2[j] * b2[j]
                }
            }
            guard den > 0 else { return nil }
            a[i] = 2.0 * num / den
            if i >= 2 { for j in 1...(i - 1) { a[j] = aa[j] - a[i] * aa[i - j] } }
            if i < m {
                for j in 1...i { aa[j] = a[j] }
                if n - i - 1 >= 1 {
                    for j in 1...(n - i - 1) {
                        b1[j] -= aa[i] * b2[j]
                        b2[j] = b2[j + 1] - aa[i] * b1[j + 1]
                    }
                }
            }
        }
        return Array(a[1...m])
    }
}
