// Formants F1–F3 from LPC (see VoiceQuality.swift for the definition and sources).

import Foundation

extension VoiceQuality {
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
