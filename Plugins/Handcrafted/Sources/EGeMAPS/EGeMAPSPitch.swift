// eGeMAPS v02's F0 as openSMILE 3.0 computes it (GeMAPSv01b_core.lld.conf.inc): subharmonic summation (cPitchShs) on
// an octave-scaled spectrum (cSpecScale), Viterbi smoothing of the candidates (cPitchSmootherViterbi), an energy gate
// (cValbasedSelector on cEnergy) and the semitone scale re 27.5 Hz.
//   frames      60 ms (960 samples) every 10 ms, first frame [0, 960), only whole frames
//   window      Gaussian, σ = 0.4: exp(−½((i − (N−1)/2) / (σ(N−1)/2))²)
//   spectrum    zero-padded symmetrically to 1024, |FFT|, 513 bins of 15.625 Hz
//   specScale   peaks enhanced (smileDsp_specEnhanceSHS) and smoothed (smileDsp_specSmoothSHS), then a natural cubic
//               spline from log2(bin frequency) onto 513 equally spaced points of log2 f from 25 Hz to 8 kHz, then
//               openSMILE's auditory weighting 0.5 + atan(3(i + 1 − s)/ppo)/π
//   SHS         15 harmonics, compression 0.85, shifts floor(ppo · log2 h), sum / 15; the 6 highest peaks (greedy),
//               each refined by a parabola through 3 points on the log2 axis; voicing 1 − mean/score
//   Viterbi     openSMILE's smoother with its weights (wLocal 2, wTvv 10, wTvvd 10 — setWeights copies tvv into tvvd —,
//               wTvuv 10, wThr 4, wRange 1, a u→u cost of 1 because `i == j == n−1` never holds in C), 40-frame buffer
//   gate        F0 is 0 where the RMS of the windowed 60 ms frame is ≤ 0.001
// docs/history.md (session 11, eGeMAPS) lists the odd definitions kept here with their source lines.

import Foundation

/// The per-frame F0 analysis (tables built once; one instance per thread).
final class EGeMAPSPitch {
    static let frameLength = 960
    static let fftLength = 1024
    static let bins = 513
    static let hop = 160
    static let nCandidates = 6
    static let voicingCutoff = 0.7

    private let fft: RealFFT
    private let window: [Double]
    /// Source axis log2(k · 15.625) (k ≥ 1; k = 0 extrapolated linearly as openSMILE does) and the spline's target
    /// points, with each target's bracketing interval and cached differences.
    private let ft: [Double]
    private let lower: [Int]
    private let audw: [Double]
    private let target: [Double]
    /// SHS shift per harmonic 2...15 (in target points).
    private let shifts: [Int]
    /// log2 axis of the target points in float, as cPitchShs keeps it: Fmint + i·Fstept.
    private let fmint: Float, fstept: Float

    init() throws(FeatureError) {
        fft = try RealFFT(n: Self.fftLength)
        let n = Double(Self.frameLength), sigma = 0.4
        window = (0..<Self.frameLength).map { i in
            let t = (Double(i) - (n - 1) / 2) / (sigma * (n - 1) / 2)
            return exp(-0.5 * t * t)
        }
        let dF = 16000.0 / Double(Self.fftLength)
        var f = [Double](repeating: 0, count: Self.bins)
        for k in 1..<Self.bins { f[k] = log2(Double(k) * dF) }
        f[0] = 2 * f[1] - f[2]
        ft = f
        let np = Self.bins
        let fminT = log2(25.0), fmaxT = log2(dF * Double(np - 1))
        let step = (fmaxT - fminT) / Double(np - 1)
        target = (0..<np).map { fminT + Double($0) * step }
        lower = target.map { x in
            var lo = 0, hi = np - 1
            while hi - lo > 1 { let mid = (hi + lo) / 2; if f[mid] > x { hi = mid } else { lo = mid } }
            return lo
        }
        let nOctaves = log(fmaxT.exp2 / 25) / log(2.0)
        let ppo = Double(np) / nOctaves
        let atanS = ppo * log2(65.0 / 50.0) - 1
        audw = (0..<np).map { 0.5 + atan(3 * (Double($0 + 1) - atanS) / ppo) / Double.pi }
        // cPitchShs reads points-per-octave back from float level metadata.
        let ppoF = Double(Float(ppo))
        shifts = (2...15).map { Int((ppoF * log2(Double($0))).rounded(.down)) }
        fmint = Float(fminT)
        fstept = (Float(fmaxT) - Float(fminT)) / Float(np - 1)
    }

    /// Number of whole 60 ms frames in `count` samples.
    static func frameCount(_ count: Int) -> Int { count < frameLength ? 0 : (count - frameLength) / hop + 1 }

    /// One frame's candidates: F0 (Hz) and voicing, after openSMILE's range filter (55–1000 Hz) and max-score swap.
    struct Candidates { var f0: [Float]; var voicing: [Float] }

    /// F0 per 60 ms frame in Hz (0 = unvoiced) after Viterbi smoothing, and the gated semitone track openSMILE
    /// calls `F0finalLog` after its energy selector (0 = unvoiced).
    /// `converged` is the last frame the smoother had decided when the input ended (−1: none): openSMILE's
    /// downstream levels see frames after it only through its end-of-input flush (see `EGeMAPSv02.tracks`).
    /// `magnitude` and `acf` are each frame's 513-bin spectrum and its ACF, for `EGeMAPSHarmonics`.
    func analyze(_ y: [Double]) -> (hz: [Double], semitone: [Double], converged: Int, magnitude: [[Double]], acf: [[Double]]) {
        let T = Self.frameCount(y.count)
        var cands: [Candidates] = []
        cands.reserveCapacity(T)
        var rms: [Double] = []
        var mags: [[Double]] = [], acfs: [[Double]] = []
        var buf = [Double](repeating: 0, count: Self.fftLength)
        var re = [Double](repeating: 0, count: Self.bins), im = re, mag = re
        let pad = (Self.fftLength - Self.frameLength) / 2
        for t in 0..<T {
            var e = 0.0
            for i in 0..<Self.frameLength {
                let x = y[t * Self.hop + i] * window[i]
                buf[pad + i] = x
                e += x * x
            }
            rms.append((e / Double(Self.frameLength)).squareRoot())
            buf.withUnsafeBufferPointer { b in
                re.withUnsafeMutableBufferPointer { r in
                    im.withUnsafeMutableBufferPointer { m in
                        if let bp = b.baseAddress, let rp = r.baseAddress, let mp = m.baseAddress { fft.forward(bp, rp, mp) }
                    }
                }
            }
            for k in 0..<Self.bins { mag[k] = (re[k] * re[k] + im[k] * im[k]).squareRoot() }
            cands.append(candidates(scaled(mag)))
            mags.append(mag)
            acfs.append(EGeMAPSHarmonics.acf(mag, fft: fft))
        }
        let (hz, converged) = Self.viterbi(cands)
        let semitone = (0..<T).map { t -> Double in
            let f = Float(hz[t])
            var v: Float = 0
            if f > 29.136 { v = 12 * log(f / 27.5) / log(2) } else if f > 0 { v = 1 }
            return rms[t] > 0.001 ? Double(v) : 0
        }
        return (hz, semitone, converged, mags, acfs)
    }

    /// cSpecScale: enhance, smooth, spline onto the octave axis, auditory weighting (values kept as float).
    private func scaled(_ magnitude: [Double]) -> [Double] {
        var a = magnitude
        Self.enhance(&a)
        Self.smooth(&a)
        let y2 = Self.naturalSpline(ft, a)
        var out = [Double](repeating: 0, count: target.count)
        for (i, x) in target.enumerated() {
            let lo = lower[i], hi = lo + 1
            let h = ft[hi] - ft[lo]
            let A = (ft[hi] - x) / h, B = 1 - A
            let v = A * a[lo] + B * a[hi] + ((A * A * A - A) * y2[lo] + (B * B * B - B) * y2[hi]) * h * h / 6
            let vf = Double(Float(v))
            out[i] = vf > 0 ? vf * audw[i] : 0
        }
        return out
    }

    /// smileDsp_specEnhanceSHS: zero everything more than 2 bins away from the local maxima. With a single maximum
    /// openSMILE reads posmax[1] (a zeroed slot), so bins 3... are zeroed whatever the peak: kept.
    static func enhance(_ a: inout [Double]) {
        let n = a.count
        guard n >= 2 else { return }
        var pos: [Int] = []
        if a[0] > a[1] { pos.append(0) }
        for i in 1..<(n - 1) where a[i] > a[i - 1] && a[i] >= a[i + 1] { pos.append(i) }
        if a[n - 1] > a[n - 2] { pos.append(n - 1) }
        if pos.count == 1 {
            for j in 3..<n { a[j] = 0 }
        } else if pos.count > 1 {
            for i in 1..<pos.count where pos[i] - 3 >= pos[i - 1] + 3 {
                for j in (pos[i - 1] + 3)...(pos[i] - 3) { a[j] = 0 }
            }
        }
    }

    /// smileDsp_specSmoothSHS: (a[i−1] + 2a[i] + a[i+1]) / 4 in place, a[−1] = 0, the last bin untouched.
    static func smooth(_ a: inout [Double]) {
        var prev = 0.0
        for i in 0..<(a.count - 1) {
            let ai = a[i]
            a[i] = (prev + 2 * ai + a[i + 1]) / 4
            prev = ai
        }
    }

    /// Second derivatives of the natural cubic spline through (x, y) (smileMath_cspline with y1p = ynp = 1e30).
    static func naturalSpline(_ x: [Double], _ y: [Double]) -> [Double] {
        let n = x.count
        var y2 = [Double](repeating: 0, count: n), u = [Double](repeating: 0, count: n)
        for i in 1..<(n - 1) {
            let sig = (x[i] - x[i - 1]) / (x[i + 1] - x[i - 1])
            let p = sig * y2[i - 1] + 2
            y2[i] = (sig - 1) / p
            let d = (y[i + 1] - y[i]) / (x[i + 1] - x[i]) - (y[i] - y[i - 1]) / (x[i] - x[i - 1])
            u[i] = (6 * d / (x[i + 1] - x[i - 1]) - sig * u[i - 1]) / p
        }
        y2[n - 1] = 0
        for k in stride(from: n - 2, through: 0, by: -1) { y2[k] = y2[k] * y2[k + 1] + u[k] }
        return y2
    }

    /// cPitchShs::pitchDetect + cPitchBase::processVector for one scaled spectrum.
    private func candidates(_ s: [Double]) -> Candidates {
        let n = s.count, nc = Self.nCandidates
        var ss = s
        var scale = 0.85
        for sh in shifts {
            for j in sh..<n { ss[j - sh] += s[j] * scale }
            scale *= 0.85
        }
        for j in 0..<n { ss[j] /= 15; if ss[j] < 0 { ss[j] = 0 } }
        // Greedy peak list, highest score first.
        var pk: [Int] = [], sc: [Double] = []
        for i in 1..<(n - 1) where ss[i - 1] < ss[i] && ss[i] > ss[i + 1] {
            for j in 0..<nc where j >= sc.count || sc[j] == 0 || sc[j] < ss[i] {
                pk.insert(i, at: j); sc.insert(ss[i], at: j)
                if pk.count > nc { pk.removeLast(); sc.removeLast() }
                break
            }
        }
        let mean = ss.reduce(0, +) / Double(n)
        var f0 = [Float](repeating: 0, count: nc), v = [Float](repeating: 0, count: nc), score = [Float](repeating: 0, count: nc)
        for (c, j) in pk.enumerated() {
            let x1 = Double(Float(j - 1) * fstept + fmint), x2 = Double(Float(j) * fstept + fmint)
            let x3 = Double(Float(j + 1) * fstept + fmint)
            let (fx, y) = Self.parabola(x1, ss[j - 1], x2, ss[j], x3, ss[j + 1])
            f0[c] = Float(exp(fx * log(2.0)))
            score[c] = Float(y)
            v[c] = (y > 0 && y > mean) ? Float(1 - mean / y) : 0
        }
        // cPitchBase: drop candidates outside 55–1000 Hz (shifting the rest up), then move the max score to slot 0.
        var count = pk.count, i = 0
        while i < nc && count > 0 {
            if f0[i] > 1000 || f0[i] < 55 {
                let orig = f0[i]
                f0.remove(at: i); f0.append(0); v.remove(at: i); v.append(0); score.remove(at: i); score.append(0)
                if orig > 0 { count -= 1; i -= 1 }
            }
            i += 1
        }
        var maxI = 0
        for k in 1..<nc where score[k] > score[maxI] { maxI = k }
        if maxI > 0 { f0.swapAt(0, maxI); v.swapAt(0, maxI) }
        return Candidates(f0: f0, voicing: v)
    }

    /// smileMath_quadFrom3pts: the vertex (x, y) of the parabola through three points (peak picking if degenerate).
    static func parabola(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ x3: Double, _ y3: Double) -> (Double, Double) {
        let den = x1 * x1 * x2 + x2 * x2 * x3 + x3 * x3 * x1 - x3 * x3 * x2 - x2 * x2 * x1 - x1 * x1 * x3
        if den != 0 {
            let a = (y1 * x2 + y2 * x3 + y3 * x1 - y3 * x2 - y2 * x1 - y1 * x3) / den
            let b = (x1 * x1 * y2 + x2 * x2 * y3 + x3 * x3 * y1 - x3 * x3 * y2 - x2 * x2 * y1 - x1 * x1 * y3) / den
            let c1 = x1 * x1 * x2 * y3 + x2 * x2 * x3 * y1 + x3 * x3 * x1 * y2
            let c2 = x3 * x3 * x2 * y1 + x2 * x2 * x1 * y3 + x1 * x1 * x3 * y2
            let c = (c1 - c2) / den
            if a != 0 { let x = -b / (2 * a); return (x, c - a * x * x) }
        }
        if y1 > y2 && y1 > y3 { return (x1, y1) }
        if y2 > y1 && y2 > y3 { return (x2, y2) }
        if y3 > y1 && y3 > y2 { return (x3, y3) }
        return (x1, y1)
    }

    /// cSmileViterbiPitchSmooth over all frames (incremental, 40-frame ring of paths, forced decisions and the final
    /// flush exactly as openSMILE makes them): the chosen candidate's F0 per frame, 0 for the unvoiced state, and
    /// the last frame decided before the flush.
    static func viterbi(_ frames: [Candidates]) -> (hz: [Double], converged: Int) {
        let nc = nCandidates, ns = nc + 1, buflen = 40
        let wLocal = 2.0, wTvv = 10.0, wTvvd = 10.0, wTvuv = 10.0, wThr = 4.0, wRange = 1.0
        let thr = Float(voicingCutoff)
        var lastChange = 1.0
        func fWeight(_ f: Float) -> Double {
            let f = Double(f)
            if f > 0 && f < 100 { return -f / 100 + 1 }
            if f >= 100 && f < 350 { return 0 }
            if f >= 350 && f < 600 { return (f - 350) / 250 }
            if f >= 600 { return 1.2 }
            return 2
        }
        func local(_ i: Int, _ fr: Candidates) -> Double {
            if i < ns - 1 {
                let pv = min(max(Double(fr.voicing[i]), 0.01), 1)
                let t = Float(pv) < thr ? wThr : 0
                return (-log(pv) + t) * wLocal + fWeight(fr.f0[i]) * wRange
            }
            let voiced = fr.voicing.contains { $0 >= thr }
            return wLocal * (voiced ? wThr : 0)
        }
        func transition(_ i: Int, _ j: Int, _ a: Candidates, _ b: Candidates) -> Double {
            if i < ns - 1 && j < ns - 1 {
                let f0 = a.f0[j], f1 = b.f0[i]
                if f0 == 0 || f1 == 0 { return 999 }
                let r = log(Double(f1 / f0))
                let x = wTvv * abs(r) + wTvvd * abs(r - lastChange)
                lastChange = r
                return x
            }
            if (i == ns - 1 && j < ns - 1) || (i < ns - 1 && j == ns - 1) { lastChange = 0; return wTvuv }
            return 1
        }
        let T = frames.count
        var paths = [[Int]](repeating: [Int](repeating: 0, count: ns * buflen), count: 2)
        var pb = 0
        var cost = [Double](repeating: 0, count: ns), newCost = cost
        var best = [Int](repeating: 0, count: T)
        var conv = -1, pidx = 0
        for t in 0..<T {
            let b = frames[t]
            if pidx == 0 {
                for i in 0..<ns { cost[i] = local(i, b); paths[pb][i * buflen] = i }
            } else {
                let a = frames[t - 1], nb = (pb + 1) % 2
                for i in 0..<ns {
                    var ms = 0
                    var mc = transition(i, 0, a, b) + cost[0]
                    for j in 1..<ns {
                        let c = transition(i, j, a, b) + cost[j]
                        if c < mc { ms = j; mc = c }
                    }
                    newCost[i] = mc + local(i, b)
                    for k in 0..<buflen { paths[nb][i * buflen + k] = paths[pb][ms * buflen + k] }
                    paths[nb][i * buflen + pidx % buflen] = i
                }
                swap(&cost, &newCost)
                pb = nb
            }
            pidx += 1
            if pidx - conv > buflen {
                var ms = 0
                for i in 1..<ns where cost[i] < cost[ms] { ms = i }
                conv += 1
                best[conv] = paths[pb][ms * buflen + conv % buflen]
            } else {
                var n = conv + 1
                while n < pidx {
                    let x = paths[pb][n % buflen]
                    if (1..<ns).allSatisfy({ paths[pb][$0 * buflen + n % buflen] == x }) { conv += 1; best[conv] = x } else { break }
                    n += 1
                }
            }
        }
        let converged = conv
        var ms = 0
        for i in 1..<ns where cost[i] < cost[ms] { ms = i }
        var n = conv + 1
        while n < pidx { best[n] = paths[pb][ms * buflen + n % buflen]; n += 1 }
        return ((0..<T).map { t in best[t] < nc ? Double(frames[t].f0[best[t]]) : 0 }, converged)
    }
}

private extension Double {
    /// 2^self.
    var exp2: Double { Foundation.exp2(self) }
}
