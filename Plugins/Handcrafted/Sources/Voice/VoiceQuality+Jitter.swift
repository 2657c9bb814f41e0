// Jitter (local) and shimmer (local) from cycle-by-cycle periods and amplitudes.

import Foundation

extension VoiceQuality {
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
}
