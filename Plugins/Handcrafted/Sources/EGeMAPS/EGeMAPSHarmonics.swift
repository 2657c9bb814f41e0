// eGeMAPS v02's harmonic descriptors as openSMILE 3.0's cHarmonics computes them (harmonics.cpp), per 60 ms frame,
// from the Gaussian-windowed 1024-point magnitude spectrum (15.625 Hz bins), the gated F0 in Hz and F1–F3:
//   HNRdBACF     ACF = |inverse real FFT of the power spectrum| (Ooura's unnormalised inverse, / 513); lag
//                floor(16000 / F0) moved to the closest ACF peak (getClosestPeak); 10·log10(a[lag] / (a[0] − a[lag]))
//                clamped to [−90, 110] dB; 0 when F0 = 0
//   harmonics    for h = 1…100: the bin nearest h·F0 if it is a local max, else the nearest local max searching
//                outwards within the bins nearest (h − ½)F0 … (h + ½)F0; magnitude, and a parabola through the 3 bins
//                (Hz axis) for the interpolated frequency and magnitude; a harmonic on the same bin as the previous
//                one is dropped
//   log-rel      20·log10(interpolated magnitude of harmonic h / magnitude (not interpolated) of H1), ≥ −200
//   H1−H2        log-rel(harmonic 2) − log-rel(harmonic 3), clamped to ±201: openSMILE parses "H1-H2" into 0-based
//                indices 1 and 2, so its H1 is the 2nd harmonic (odd, kept); H1−A3: log-rel(harmonic 2) − log-rel(A3),
//                A3 = the harmonic with the largest magnitude whose interpolated frequency is within 0.8–1.2 · F3
//                (log-rel(harmonic 2) − 201 when none)
//   amplitudes   F1–F3 amplitudeLogRelF0: log-rel of that formant's A harmonic, 0 when none (openSMILE writes 0,
//                not −201, there), −201 for an unvoiced frame
// H1−H2 and H1−A3 are 0 for an unvoiced frame.

import Foundation

enum EGeMAPSHarmonics {
    static let bins = 513
    static let binHz = 15.625

    /// Per-frame outputs: HNR (dB), H1−H2, H1−A3, F1–F3 amplitude (dB re H1).
    struct Frame { var hnr = 0.0, h1h2 = 0.0, h1a3 = 0.0; var amplitude = [-201.0, -201.0, -201.0] }

    static func isPeak(_ x: [Double], _ n: Int) -> Bool {
        let N = x.count
        if n >= N || n < 0 { return false }
        if n + 1 < N { return n > 0 ? (x[n] > x[n - 1] && x[n] > x[n + 1]) : x[0] > x[1] }
        return n > 0 && x[n] > x[n - 1]
    }

    /// cHarmonics::freqToBin on the 15.625 Hz axis: the first bin from `start` above `f`, or the one below it when
    /// that is nearer; 0 when none.
    static func freqToBin(_ f: Float, _ start: Int) -> Int {
        var b = max(start, 1)
        while b < bins {
            let fb = Float(Double(b) * binHz)
            if fb > f { return fb - f > f - Float(Double(b - 1) * binHz) ? b - 1 : b }
            b += 1
        }
        return 0
    }

    /// cHarmonics::getClosestPeak.
    static func closestPeak(_ x: [Double], _ idx: Int) -> Int {
        let N = x.count
        if isPeak(x, idx) { return idx }
        var o = 1
        while idx - o > 0 || idx + o < N - 1 {
            if idx - o > 0 && isPeak(x, idx - o) { return idx - o }
            if idx + o < N - 1 && isPeak(x, idx + o) { return idx + o }
            o += 1
        }
        guard idx >= 0 && idx < N else { return idx }
        if x[0] > x[idx] && x[N - 1] <= x[idx] { return 0 }
        if x[0] <= x[idx] && x[N - 1] > x[idx] { return N - 1 }
        if x[0] > x[idx] && x[N - 1] > x[idx] { return idx < N / 2 ? 0 : N - 1 }
        return idx
    }

    /// One frame. `magnitude`: 513 bins; `f0`: gated F0 in Hz (0 = unvoiced); `formants`: F1–F3 in Hz (0 = none);
    /// `acf`: the frame's ACF (see `acf(_:)`).
    static func frame(magnitude mag: [Double], acf: [Double], f0: Double, formants: [Double]) -> Frame {
        var out = Frame()
        let f0f = Float(f0)
        // HNR from the ACF.
        let lag = f0f > 0 ? Int((16000 / Double(f0f)).rounded(.down)) : 0
        let refined = lag > 0 ? closestPeak(acf, lag) : 0
        if refined > 0 && refined < acf.count {
            var h = acf[0] - acf[refined]
            h = h == 0 ? 10e10 : acf[refined] / h
            out.hnr = h > 10e10 ? 10 * log10(10e10) : (h < 10e-10 ? 10 * log10(10e-10) : 10 * log10(h))
        }
        guard f0f > 0 else { return out }
        // Harmonic peaks.
        let nH = 100
        var bin = [Int](repeating: -1, count: nH), m = [Double](repeating: 0, count: nH)
        var fi = [Double](repeating: 0, count: nH), mi = [Double](repeating: 0, count: nH)
        var lastBin = freqToBin(0.5 * f0f, 1)
        let firstBin = freqToBin(0.5 * f0f, lastBin)
        // Only H2, H3 and the harmonics that can fall within 1.2 × F3 are ever read; a harmonic's peak lies within
        // ±(F0/2 + 2 bins) of (i + 1)·F0 and the same-bin rule looks back one harmonic only, so the search stops
        // there (openSMILE looks for 100).
        let reach = max(formants.max() ?? 0, 0) * 1.2 + 2 * binHz
        for i in 0..<nH {
            if i > 2 && (Double(i) + 0.5) * Double(f0f) > reach { break }
            let cand = freqToBin(Float(i + 1) * f0f, lastBin)
            var peak = -1
            if isPeak(mag, cand) { peak = cand } else {
                var l = cand - 1, r = cand + 1
                let lo = freqToBin((Float(i) + 0.5) * f0f, lastBin), hi = freqToBin((Float(i) + 1.5) * f0f, cand)
                while (l >= lo || r <= hi) && peak == -1 {
                    if r <= hi { if isPeak(mag, r) { peak = r; break }; r += 1 }
                    if l >= lo { if isPeak(mag, l) { peak = l; break }; l -= 1 }
                }
            }
            if peak >= firstBin && peak < bins - 1 && peak >= 1 {
                bin[i] = peak; m[i] = Double(Float(mag[peak]))
                let (x, y) = EGeMAPSPitch.parabola(Double(peak - 1) * binHz, mag[peak - 1], Double(peak) * binHz, mag[peak],
                                                   Double(peak + 1) * binHz, mag[peak + 1])
                fi[i] = Double(Float(x)); mi[i] = Double(Float(y))
            } else {
                bin[i] = cand
            }
            lastBin = cand
        }
        // Log magnitudes relative to H1; a harmonic on the previous one's bin is dropped.
        var rel = [Double](repeating: -201, count: nH)
        rel[0] = 0
        let useRel = m[0] != 0
        let m0 = useRel ? log10(Double(Float(m[0]))) : 0
        for i in 1..<nH {
            if useRel { rel[i] = mi[i] > 0 ? max(Double(Float(20 * (log10(mi[i]) - m0))), -200) : -200 }
            if bin[i] == bin[i - 1] { bin[i] = 0; fi[i] = 0; m[i] = 0; mi[i] = 0; rel[i] = -201 }
        }
        func clamp(_ v: Double) -> Double { min(max(v, -201), 201) }
        // openSMILE parses "H1-H2" to harmonic indices 1 and 2 of its 0-based list (cHarmonics::
        // parseHarmonicDifferences), so its H1−H2 is the 2nd minus the 3rd harmonic and its "H1" in H1−A3 the 2nd.
        out.h1h2 = clamp(rel[1] - rel[2])
        // The harmonic carrying each formant: the largest magnitude within 0.8–1.2 × Fk (by interpolated frequency).
        let idx = (0..<3).map { k -> Int in
            let lo = Double(Float(0.8) * Float(formants[k])), hi = Double(Float(1.2) * Float(formants[k]))
            var best = -1, bestMag = 0.0
            for h in 0..<nH where fi[h] >= lo && fi[h] <= hi && m[h] > bestMag { best = h; bestMag = m[h] }
            return best
        }
        out.h1a3 = idx[2] >= 0 ? clamp(rel[1] - rel[idx[2]]) : clamp(rel[1] - 201)
        out.amplitude = idx.map { $0 >= 0 ? rel[$0] : 0 }
        return out
    }

    /// |Ooura inverse rdft of the power spectrum| / 513: a[j] = |P0/2 + (−1)^j P512/2 + Σ_{k=1}^{511} P_k cos(2πjk/1024)| / 513.
    static func acf(_ mag: [Double], fft: RealFFT) -> [Double] {
        let n = 1024
        var re = mag.map { $0 * $0 }, im = [Double](repeating: 0, count: bins)
        var out = [Double](repeating: 0, count: n)
        re.withUnsafeMutableBufferPointer { r in
            im.withUnsafeMutableBufferPointer { i in
                out.withUnsafeMutableBufferPointer { o in
                    if let rp = r.baseAddress, let ip = i.baseAddress, let op = o.baseAddress { fft.inverse(rp, ip, op, count: bins) }
                }
            }
        }
        // numpy irfft = (P0 + (−1)^j P512 + 2 Σ P_k cos) / 1024, so Ooura's sum is irfft · 512.
        return (0..<bins).map { abs(out[$0] * 512) / Double(bins) }
    }
}
