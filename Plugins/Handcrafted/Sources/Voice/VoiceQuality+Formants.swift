// Formants F1–F3 from LPC (see VoiceQuality.swift for the definition and sources).

import Foundation

/// The formant tracker behind the `formants` descriptor (config `formant_method`).
public enum FormantMethod: String, CaseIterable, Sendable {
    /// 25 ms Hamming frames every 10 ms, autocorrelation LPC of `lpc_order`, bandwidth < 400 Hz (the default).
    case lpc
    /// Praat's To Formant (burg) with Praat's defaults (5500 Hz, 5 formants, 0.025 s, 50 Hz), frames every 6.25 ms.
    case praatBurg = "praat-burg"
}

extension VoiceQuality {
    /// Seconds between the frames `formants` returns (before the unvoiced ones are dropped).
    public var formantTimeStep: Double { formantMethod == .lpc ? 0.010 : PraatBurgFormants().timeStep }

    /// F1–F3 (Hz) per analysed voiced frame. // [frames][3], NaN where fewer formants were found
    public func formants(_ y: [Double], track: PitchTrack) -> [[Double]] {
        switch formantMethod {
        case .lpc: return lpcFormants(y, track: track)
        case .praatBurg: return praatFormants(y, track: track)
        }
    }

    /// Praat's To Formant (burg) frames whose centre lies in a pYIN-voiced frame: F1–F3, NaN where Praat found
    /// fewer formants (Praat's F1 is simply the lowest formant it keeps; no bandwidth limit).
    func praatFormants(_ y: [Double], track: PitchTrack) -> [[Double]] {
        guard !track.voiced.isEmpty else { return [] }
        let fm = PraatBurgFormants().track(y, sampleRate: sampleRate)
        var out: [[Double]] = []
        for (t, fs) in zip(fm.times, fm.frequencies) {
            // input sample i lies at (i + 0.5)/sr; pYIN frame k is centred on sample k·hop
            let sample = Int((t * sampleRate - 0.5).rounded())
            guard track.voiced[pitchFrame(sample, track)] else { continue }
            out.append((0..<3).map { $0 < fs.count ? fs[$0] : .nan })
        }
        return out
    }

    /// Today's LPC tracker (see VoiceQuality.swift). // [frames][3]
    func lpcFormants(_ y: [Double], track: PitchTrack) -> [[Double]] {
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
        var r = Self.lagProducts(x, maxLag: p)
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

    /// r[k] = Σ_i x[i]·x[i + k] for k ≤ maxLag, each summed in i order (as the plain double loop does, so the same
    /// rounding) but with all lags accumulated side by side instead of one dependent chain per lag.
    static func lagProducts(_ x: [Double], maxLag p: Int) -> [Double] {
        let n = x.count
        var r = [Double](repeating: 0, count: p + 1)
        guard n > 0 else { return r }
        let lanes = (p + 2) / 2                          // SIMD2 accumulators covering lags 0...p (+1 spare)
        var acc = [SIMD2<Double>](repeating: .zero, count: lanes)
        x.withUnsafeBufferPointer { xb in
            acc.withUnsafeMutableBufferPointer { ab in
                guard let xp = xb.baseAddress, let ap = ab.baseAddress else { return }
                let rx = UnsafeRawPointer(xp)
                // every lag (and the spare one) in range: vectorised over lags
                let full = Swift.max(n - (2 * lanes - 1), 0)
                var i = 0
                while i < full {
                    let xi = SIMD2<Double>(repeating: xp[i])
                    for l in 0..<lanes {
                        ap[l] += xi * rx.loadUnaligned(fromByteOffset: (i &+ 2 &* l) &* 8, as: SIMD2<Double>.self)
                    }
                    i = i &+ 1
                }
                // the tail: lag k only while i + k < n
                while i < n {
                    for k in 0...p where i + k < n { ap[k / 2][k % 2] += xp[i] * xp[i + k] }
                    i = i &+ 1
                }
            }
        }
        for k in 0...p { r[k] = acc[k / 2][k % 2] }
        return r
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
    /// p(z) and p'(z) by Horner for two points at once (each lane does exactly the scalar recurrence).
    @inline(__always) func horner2(_ zr: SIMD2<Double>, _ zi: SIMD2<Double>)
        -> (SIMD2<Double>, SIMD2<Double>, SIMD2<Double>, SIMD2<Double>) {
        var pr = SIMD2<Double>(repeating: 1), pi = SIMD2<Double>.zero, dr = SIMD2<Double>.zero, di = SIMD2<Double>.zero
        for j in 1...p {
            let ndr = dr * zr - di * zi + pr, ndi = dr * zi + di * zr + pi
            dr = ndr; di = ndi
            let npr = pr * zr - pi * zi + SIMD2(repeating: c[j]), npi = pr * zi + pi * zr
            pr = npr; pi = npi
        }
        return (pr, pi, dr, di)
    }
    for _ in 0..<80 {
        var maxStep = 0.0
        var k = 0
        while k < p {
            // p(z) and p'(z) do not depend on this sweep's earlier updates: evaluate roots k and k + 1 together
            let k2 = Swift.min(k + 1, p - 1)
            let (prs, pis, drs, dis) = horner2(SIMD2(z[k].re, z[k2].re), SIMD2(z[k].im, z[k2].im))
            for lane in 0..<(k2 > k ? 2 : 1) {
                let kk = k + lane
                let pr = prs[lane], pi = pis[lane], dr = drs[lane], di = dis[lane]
                let zr = z[kk].re, zi = z[kk].im
                // ratio = p / p'
                let dd = dr * dr + di * di
                guard dd > 0 else { continue }
                let rr = (pr * dr + pi * di) / dd, ri = (pi * dr - pr * di) / dd
                // sum 1/(z_k − z_j), with this sweep's updated z_j for j < k (Gauss–Seidel)
                var sr = 0.0, si = 0.0
                for j in 0..<p where j != kk {
                    let ar = zr - z[j].re, ai = zi - z[j].im
                    let m = ar * ar + ai * ai
                    if m > 0 { sr += ar / m; si -= ai / m }
                }
                // w = ratio / (1 − ratio · sum)
                let br = 1 - (rr * sr - ri * si), bi = -(rr * si + ri * sr)
                let bm = br * br + bi * bi
                guard bm > 0 else { continue }
                let wr = (rr * br + ri * bi) / bm, wi = (ri * br - rr * bi) / bm
                z[kk].re -= wr; z[kk].im -= wi
                maxStep = max(maxStep, abs(wr) + abs(wi))
            }
            k += 2
        }
        if maxStep < 1e-10 { break }    // 1e-10 of the unit circle is far below 1 Hz
    }
    return z
}
