// Voice-quality and rhythm descriptors that librosa does not have. Each follows a published definition, simplified
// where noted; the plugin README gives the sources. All use pYIN's voicing and f0 (hop-aligned frames).
//  - Formants F1–F3: pre-emphasis from 50 Hz, 25 ms Hamming frames every 10 ms, LPC by autocorrelation +
//    Levinson–Durbin (Markel & Gray 1976; order 2 + sr/1000 by default), roots by Aberth–Ehrlich iteration,
//    keep roots with 90 Hz < f < sr/2 − 50 Hz and bandwidth < 400 Hz, lowest three, voiced frames only.
//  - HNR: Boersma (1993) "Accurate short-term analysis of the fundamental frequency and the harmonics-to-noise
//    ratio of a sampled sound": Hann window of 4.5 periods of 75 Hz, r(τ) = r_xw(τ)/r_w(τ) normalised at 0, peak
//    near the pYIN period (±20 %) refined parabolically, HNR = 10·log10(r / (1 − r)) per voiced frame.
//  - Jitter/shimmer (local), as Praat defines them (mean absolute difference of consecutive periods / peak
//    amplitudes divided by the mean), on cycles found by waveform cross-correlation guided by pYIN's f0.
//  - Speech rate: syllable nuclei per second after de Jong & Wempe (2009): intensity peaks above (0.99-quantile
//    − 25 dB), with a ≥ 2 dB dip from the previous nucleus, in voiced frames.

import Foundation

/// Voice-quality analysis of one clip given its pYIN track.
public struct VoiceQuality {
    /// Sample rate (Hz).
    public let sampleRate: Double
    /// pYIN hop in samples (to map times to pitch frames).
    public let pitchHop: Int
    /// LPC order for formants.
    public let lpcOrder: Int
    /// HNR window length in samples (4.5 periods of 75 Hz).
    let hnrWindow: Int
    /// FFT plan for the HNR autocorrelations (≥ 2 · window, so circular = linear correlation).
    let hnrFFT: RealFFT

    /// Creates the analyser.
    public init(sampleRate: Double, pitchHop: Int, lpcOrder: Int) throws(FeatureError) {
        self.sampleRate = sampleRate
        self.pitchHop = pitchHop
        self.lpcOrder = lpcOrder
        hnrWindow = Int((4.5 / 75.0 * sampleRate).rounded())
        var n = 4
        while n < 2 * hnrWindow { n *= 2 }
        hnrFFT = try RealFFT(n: n)
    }

    /// Autocorrelation r(k), k < count, of `x` (zero-padded to the plan length) through the FFT.
    func autocorrelation(_ x: [Double]) -> [Double] {
        let m = hnrFFT.n
        var buf = x + [Double](repeating: 0, count: m - x.count)
        var re = [Double](repeating: 0, count: m / 2 + 1), im = re
        var out = [Double](repeating: 0, count: m)
        buf.withUnsafeMutableBufferPointer { b in
            re.withUnsafeMutableBufferPointer { r in
                im.withUnsafeMutableBufferPointer { i in
                    out.withUnsafeMutableBufferPointer { o in
                        guard let bp = b.baseAddress, let rp = r.baseAddress, let ip = i.baseAddress, let op = o.baseAddress else { return }
                        hnrFFT.forward(UnsafePointer(bp), rp, ip)
                        for k in 0...(m / 2) { rp[k] = rp[k] * rp[k] + ip[k] * ip[k]; ip[k] = 0 }
                        hnrFFT.inverse(UnsafePointer(rp), UnsafePointer(ip), op)
                    }
                }
            }
        }
        return out
    }

    /// The pitch frame nearest to sample `s`.
    func pitchFrame(_ s: Int, _ track: PitchTrack) -> Int {
        min(max(Int((Double(s) / Double(pitchHop)).rounded()), 0), track.voiced.count - 1)
    }

    // MARK: Formants

    /// F1–F3 (Hz) per analysed voiced frame. // [frames][3], NaN where fewer than three formants were found
    public func formants(_ y: [Double], track: PitchTrack) -> [[Double]] {
        let n = y.count
        let win = Int((0.025 * sampleRate).rounded()), hop = Int((0.010 * sampleRate).rounded())
        guard n >= win, !track.voiced.isEmpty else { return [] }
        let alpha = exp(-2 * Double.pi * 50 / sampleRate)
        var pre = [Double](repeating: 0, count: n)
        pre[0] = y[0]
        for i in 1..<n { pre[i] = y[i] - alpha * y[i - 1] }
        let hamming = (0..<win).map { 0.54 - 0.46 * cos(2 * Double.pi * Double($0) / Double(win - 1)) }
        var out: [[Double]] = []
        var frame = [Double](repeating: 0, count: win)
        var warm: [Complex]? = nil       // the previous frame's roots start the next frame's iteration
        var start = 0
        while start + win <= n {
            if track.voiced[pitchFrame(start + win / 2, track)] {
                var energy = 0.0
                for i in 0..<win { frame[i] = pre[start + i] * hamming[i]; energy += frame[i] * frame[i] }
                if energy > 1e-12, let a = lpc(frame, order: lpcOrder) {
                    let roots = polynomialRoots(a, start: warm)
                    warm = roots
                    out.append(formantsFromRoots(roots))
                } else {
                    warm = nil
                }
            } else {
                warm = nil
            }
            start += hop
        }
        return out
    }

    /// LPC coefficients [1, a1, ..., ap] by autocorrelation and Levinson–Durbin; nil if unstable.
    func lpc(_ x: [Double], order p: Int) -> [Double]? {
        let n = x.count
        var r = [Double](repeating: 0, count: p + 1)
        for k in 0...p { var s = 0.0; for i in 0..<(n - k) { s += x[i] * x[i + k] }; r[k] = s }
        guard r[0] > 0 else { return nil }
        r[0] *= 1 + 1e-9   // white-noise correction keeps the recursion stable on near-silent frames
        var a = [Double](repeating: 0, count: p + 1)
        a[0] = 1
        var err = r[0]
        var prev = a
        for i in 1...p {
            var acc = r[i]
            for j in 1..<i { acc += a[j] * r[i - j] }
            let k = -acc / err
            for j in 0..<i { prev[j] = a[j] }
            for j in 1..<i { a[j] = prev[j] + k * prev[i - j] }
            a[i] = k
            err *= 1 - k * k
            guard err > 0 else { return nil }
        }
        return a
    }

    /// Formant frequencies from the roots of A(z) = z^p + a1 z^(p−1) + ... + ap.
    func formantsFromRoots(_ roots: [Complex]) -> [Double] {
        var cands: [Double] = []
        for z in roots where z.im > 0 {
            let f = atan2(z.im, z.re) * sampleRate / (2 * Double.pi)
            let bw = -log(max((z.re * z.re + z.im * z.im).squareRoot(), 1e-12)) * sampleRate / Double.pi
            if f > 90, f < sampleRate / 2 - 50, bw < 400 { cands.append(f) }
        }
        cands.sort()
        return (0..<3).map { $0 < cands.count ? cands[$0] : .nan }
    }

    // MARK: HNR

    /// HNR (dB) per voiced pitch frame (Boersma 1993).
    public func hnr(_ y: [Double], track: PitchTrack) -> [Double] {
        let n = y.count
        let win = hnrWindow
        let w = (0..<win).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(win)) }
        let rwRaw = autocorrelation(w)
        let rw = (0...(win / 2 + 1)).map { rwRaw[$0] / rwRaw[0] }   // normalised window autocorrelation
        var out: [Double] = []
        var xw = [Double](repeating: 0, count: win)
        for t in track.voiced.indices where track.voiced[t] && track.f0[t].isFinite {
            let center = t * pitchHop
            let start = center - win / 2
            var mean = 0.0, cnt = 0
            for i in 0..<win where start + i >= 0 && start + i < n { mean += y[start + i]; cnt += 1 }
            guard cnt == win else { continue }          // full windows only
            mean /= Double(win)
            for i in 0..<win { xw[i] = (y[start + i] - mean) * w[i] }
            let period = sampleRate / track.f0[t]
            let lo = max(2, Int((0.8 * period).rounded(.down))), hi = min(win / 2, Int((1.25 * period).rounded(.up)))
            guard hi > lo + 1 else { continue }
            let rx = autocorrelation(xw)
            let r0 = rx[0]
            guard r0 > 0 else { continue }
            var best = -Double.infinity, bestK = lo
            var vals = [Double](repeating: 0, count: hi - lo + 3)
            for k in (lo - 1)...(hi + 1) {
                let v = (rx[k] / r0) / rw[k]
                vals[k - lo + 1] = v
                if k >= lo && k <= hi && v > best { best = v; bestK = k }
            }
            let a = vals[bestK - lo], b = vals[bestK - lo + 1], c = vals[bestK - lo + 2]
            let denom = a - 2 * b + c
            var r = b
            if denom < 0 { let d = 0.5 * (a - c) / denom; r = b - 0.25 * (a - c) * d }
            r = min(max(r, 1e-9), 1 - 1e-9)
            out.append(10 * log10(r / (1 - r)))
        }
        return out
    }

    // MARK: Jitter, shimmer

    /// Cycle-by-cycle periods (samples, sub-sample) and peak amplitudes, grouped by voiced run. Each next cycle
    /// start is the lag in 0.8–1.2 pYIN periods that maximises the normalised cross-correlation of one period of
    /// waveform with the next (the waveform-matching idea of Praat's cross-correlation pulse marking), refined
    /// parabolically; the amplitude of a cycle is its waveform maximum.
    func cycles(_ y: [Double], track: PitchTrack) -> [[(period: Double, amplitude: Double)]] {
        let n = y.count
        var runs: [[(period: Double, amplitude: Double)]] = []
        var t = 0
        let frames = track.voiced.count
        while t < frames {
            guard track.voiced[t] else { t += 1; continue }
            var e = t
            while e + 1 < frames && track.voiced[e + 1] { e += 1 }
            let a = max(0, t * pitchHop - pitchHop / 2), b = min(n, e * pitchHop + pitchHop / 2)
            func f0(at s: Int) -> Double { let v = track.f0[pitchFrame(s, track)]; return v.isFinite ? v : track.f0[t] }
            var run: [(period: Double, amplitude: Double)] = []
            // anchor: the waveform maximum in the first period; windows run from a quarter period before each
            // anchor to half a period after it, so they cover the excitation and little of the neighbours
            let first = Int((sampleRate / f0(at: a)).rounded())
            let from = a + first / 2        // leave room for the window before the anchor
            var p = from
            if from + first < b { for i in from..<(from + first) where y[i] > y[p] { p = i } }
            while true {
                let period = sampleRate / f0(at: p)
                let before = Int((0.25 * period).rounded()), len = before + Int((0.5 * period).rounded())
                let lo = Int((0.8 * period).rounded(.down)), hi = Int((1.2 * period).rounded(.up))
                let w0 = p - before
                guard len > 2, w0 >= 0, w0 + hi + len + 1 <= b else { break }
                var e0 = 0.0
                for i in 0..<len { e0 += y[w0 + i] * y[w0 + i] }
                var scores = [Double](repeating: -2, count: hi - lo + 3)
                var bestL = lo
                for lag in (lo - 1)...(hi + 1) {
                    var c = 0.0, e1 = 0.0
                    for i in 0..<len { let v = y[w0 + lag + i]; c += y[w0 + i] * v; e1 += v * v }
                    let r = e0 > 0 && e1 > 0 ? c / (e0 * e1).squareRoot() : 0
                    scores[lag - lo + 1] = r
                    if lag >= lo, lag <= hi, r > scores[bestL - lo + 1] { bestL = lag }
                }
                let sa = scores[bestL - lo], sb = scores[bestL - lo + 1], sc = scores[bestL - lo + 2]
                let d = sa - 2 * sb + sc
                let refined = Double(bestL) + (d < 0 ? 0.5 * (sa - sc) / d : 0)
                var amp = -Double.infinity
                for i in 0..<bestL { amp = max(amp, y[w0 + i]) }
                run.append((refined, amp))
                p += bestL
            }
            if run.count >= 2 { runs.append(run) }
            t = e + 1
        }
        return runs
    }

    /// (jitter local, shimmer local) as fractions; NaN when there is no usable pair of consecutive cycles.
    /// Jitter: mean |T_i − T_{i−1}| / mean T; shimmer: mean |A_i − A_{i−1}| / mean A, over consecutive cycles
    /// whose periods lie within [1/fmax, 1/fmin] and differ by at most a factor 1.3 (Praat's defaults).
    public func jitterShimmer(_ y: [Double], track: PitchTrack, fmin: Double, fmax: Double) -> (Double, Double) {
        var dp = 0.0, sp = 0.0, np = 0, nPer = 0
        var da = 0.0, sa = 0.0, na = 0
        let minP = sampleRate / fmax, maxP = sampleRate / fmin
        for run in cycles(y, track: track) {
            var prev: (period: Double, amplitude: Double)? = nil
            for c in run {
                guard c.period >= minP, c.period <= maxP else { prev = nil; continue }
                if let pr = prev, max(pr.period, c.period) / min(pr.period, c.period) <= 1.3 {
                    dp += abs(c.period - pr.period); np += 1
                    da += abs(c.amplitude - pr.amplitude); sa += c.amplitude; na += 1
                }
                sp += c.period; nPer += 1
                prev = c
            }
        }
        let jitter = np > 0 ? (dp / Double(np)) / (sp / Double(nPer)) : .nan
        let shimmer = na > 0 && sa > 0 ? (da / Double(na)) / (sa / Double(na)) : .nan
        return (jitter, shimmer)
    }

    // MARK: Speech rate

    /// Syllable nuclei per second (de Jong & Wempe 2009, simplified).
    public func speechRate(_ y: [Double], track: PitchTrack) -> Double {
        let n = y.count
        guard n > 0 else { return .nan }
        let win = Int((0.040 * sampleRate).rounded()), hop = Int((0.010 * sampleRate).rounded())
        let w = (0..<win).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(win)) }
        let wsum = w.reduce(0, +)
        var intensity: [Double] = []
        var centers: [Int] = []
        var start = -win / 2
        while start + win / 2 < n {
            var e = 0.0
            for i in 0..<win { let s = start + i; if s >= 0 && s < n { e += y[s] * y[s] * w[i] } }
            intensity.append(10 * log10(e / wsum + 1e-12))
            centers.append(start + win / 2)
            start += hop
        }
        guard intensity.count > 2 else { return 0 }
        let sorted = intensity.sorted()
        let q99 = sorted[min(sorted.count - 1, Int(0.99 * Double(sorted.count - 1)))]
        let threshold = q99 - 25
        var count = 0
        var lastPeak = -1
        for i in 1..<(intensity.count - 1) where intensity[i] > intensity[i - 1] && intensity[i] >= intensity[i + 1] {
            guard intensity[i] > threshold, track.voiced[pitchFrame(centers[i], track)] else { continue }
            if lastPeak >= 0 {
                let dip = intensity[lastPeak...i].min() ?? intensity[i]
                guard intensity[i] - dip >= 2 else {
                    if intensity[i] > intensity[lastPeak] { lastPeak = i }
                    continue
                }
            }
            count += 1
            lastPeak = i
        }
        return Double(count) / (Double(n) / sampleRate)
    }
}

/// A complex number (root finding only).
struct Complex { var re: Double; var im: Double }

/// Roots of the monic polynomial z^p + c[1] z^(p−1) + ... + c[p] (c[0] = 1) by Aberth–Ehrlich iteration,
/// started from `start` (e.g. the previous frame's roots) or from points on a circle of radius 0.9.
func polynomialRoots(_ c: [Double], start: [Complex]? = nil) -> [Complex] {
    let p = c.count - 1
    guard p >= 1 else { return [] }
    var z = (0..<p).map { k -> Complex in
        let ang = 2 * Double.pi * Double(k) / Double(p) + 0.4
        return Complex(re: 0.9 * cos(ang), im: 0.9 * sin(ang))
    }
    if let start, start.count == p, start.allSatisfy({ $0.re.isFinite && $0.im.isFinite }) { z = start }
    for _ in 0..<80 {
        var maxStep = 0.0
        for k in 0..<p {
            // Horner for p(z) and p'(z)
            var pr = 1.0, pi = 0.0, dr = 0.0, di = 0.0
            let zr = z[k].re, zi = z[k].im
            for j in 1...p {
                let ndr = dr * zr - di * zi + pr, ndi = dr * zi + di * zr + pi
                dr = ndr; di = ndi
                let npr = pr * zr - pi * zi + c[j], npi = pr * zi + pi * zr
                pr = npr; pi = npi
            }
            // ratio = p / p'
            let dd = dr * dr + di * di
            guard dd > 0 else { continue }
            let rr = (pr * dr + pi * di) / dd, ri = (pi * dr - pr * di) / dd
            // sum 1/(z_k − z_j)
            var sr = 0.0, si = 0.0
            for j in 0..<p where j != k {
                let ar = zr - z[j].re, ai = zi - z[j].im
                let m = ar * ar + ai * ai
                if m > 0 { sr += ar / m; si -= ai / m }
            }
            // w = ratio / (1 − ratio · sum)
            let br = 1 - (rr * sr - ri * si), bi = -(rr * si + ri * sr)
            let bm = br * br + bi * bi
            guard bm > 0 else { continue }
            let wr = (rr * br + ri * bi) / bm, wi = (ri * br - rr * bi) / bm
            z[k].re -= wr; z[k].im -= wi
            maxStep = max(maxStep, abs(wr) + abs(wi))
        }
        if maxStep < 1e-10 { break }    // 1e-10 of the unit circle is far below 1 Hz
    }
    return z
}
