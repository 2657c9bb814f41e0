// One frame of Praat's autocorrelation pitch analysis (step 2 in PraatPitch.swift; Boersma 1993, sections 2–4):
// local-mean removal, windowing, r(τ) = autocorrelation / window autocorrelation through a zero-padded FFT,
// candidate maxima with parabolic + sinc interpolation, and Brent refinement of each candidate.

import Foundation

/// Per-frame candidate search with its buffers and FFT plan (not thread-safe: one analyzer per thread).
final class PraatPitchFrameAnalyzer {
    private let s: [Double]
    private let dx: Double
    private let minimumPitch: Double
    private let maxnCandidates: Int
    private let voicingThreshold: Double
    private let octaveCost: Double
    private let nsampWindow: Int, halfnsampWindow: Int, maximumLag: Int, nsampFFT: Int
    private let nsampPeriod: Int, halfnsampPeriod: Int
    /// Largest lag kept in r (samples); r runs over −brentIxmax…brentIxmax.
    private let brentIxmax: Int
    /// Sinc depth of the candidates' refinement (70, or 700 for the Gaussian window).
    private let brentDepth: Int
    private let globalPeak: Double
    private let window: [Double]
    /// The window's normalised autocorrelation, lags 0…brentIxmax.
    private let windowR: [Double]
    private let fft: RealFFT
    private var frame: [Double], re: [Double], im: [Double], ac: [Double]
    /// r(τ) for τ = −brentIxmax…brentIxmax: element m is r(m − brentIxmax).
    private var r: [Double]

    init?(samples: [Double], dx: Double, minimumPitch: Double, maxnCandidates: Int, gaussian: Bool,
          voicingThreshold: Double, octaveCost: Double, nsampWindow: Int, halfnsampWindow: Int, maximumLag: Int,
          nsampFFT: Int, nsampPeriod: Int, halfnsampPeriod: Int, brentIxmax: Int, globalPeak: Double) {
        guard let plan = try? RealFFT(n: nsampFFT), brentIxmax >= 2 else { return nil }
        s = samples
        self.dx = dx
        self.minimumPitch = minimumPitch
        self.maxnCandidates = maxnCandidates
        self.voicingThreshold = voicingThreshold
        self.octaveCost = octaveCost
        self.nsampWindow = nsampWindow
        self.halfnsampWindow = halfnsampWindow
        self.maximumLag = maximumLag
        self.nsampFFT = nsampFFT
        self.nsampPeriod = nsampPeriod
        self.halfnsampPeriod = halfnsampPeriod
        self.brentIxmax = brentIxmax
        brentDepth = gaussian ? 700 : 70
        self.globalPeak = globalPeak
        fft = plan
        // window over samples 1…N (Praat's numbering)
        let n = nsampWindow
        let w: [Double]
        if gaussian {
            let mid = 0.5 * Double(n + 1), edge = exp(-12.0), np1 = Double(n + 1)
            w = (1...n).map { i in
                let d = Double(i) - mid
                return (exp(-48.0 * d * d / np1 / np1) - edge) / (1.0 - edge)
            }
        } else {
            w = (1...n).map { 0.5 - 0.5 * cos(Double($0) * 2 * Double.pi / Double(n + 1)) }
        }
        window = w
        var buffer = [Double](repeating: 0, count: nsampFFT)
        var bre = [Double](repeating: 0, count: nsampFFT / 2 + 1), bim = bre
        var bac = [Double](repeating: 0, count: nsampFFT)
        for i in 0..<n { buffer[i] = w[i] }
        Self.autocorrelate(plan, &buffer, &bre, &bim, &bac)
        let r0 = bac[0]
        windowR = (0...brentIxmax).map { $0 == 0 ? 1.0 : bac[$0] / r0 }
        frame = buffer
        re = bre
        im = bim
        ac = bac
        r = [Double](repeating: 0, count: 2 * brentIxmax + 1)
    }

    /// Circular autocorrelation of `x` (length n, zero-padded by the caller) through its power spectrum, into
    /// `out` (scaled by a constant that cancels in every ratio taken of it).
    private static func autocorrelate(_ fft: RealFFT, _ x: inout [Double], _ re: inout [Double],
                                      _ im: inout [Double], _ out: inout [Double]) {
        let half = fft.n / 2
        x.withUnsafeBufferPointer { xb in
            re.withUnsafeMutableBufferPointer { rb in
                im.withUnsafeMutableBufferPointer { ib in
                    guard let xp = xb.baseAddress, let rp = rb.baseAddress, let ip = ib.baseAddress else { return }
                    fft.forward(xp, rp, ip)
                    for k in 0...half {
                        rp[k] = rp[k] * rp[k] + ((k == 0 || k == half) ? 0 : ip[k] * ip[k])
                        ip[k] = 0
                    }
                }
            }
        }
        re.withUnsafeBufferPointer { rb in
            im.withUnsafeBufferPointer { ib in
                out.withUnsafeMutableBufferPointer { ob in
                    guard let rp = rb.baseAddress, let ip = ib.baseAddress, let op = ob.baseAddress else { return }
                    fft.inverse(rp, ip, op)
                }
            }
        }
    }

    /// The frame centred at time `t` (s): its intensity (local peak / global peak, at most 1) and its candidates,
    /// the unvoiced one first.
    func candidates(at t: Double) -> (intensity: Double, candidates: [PraatPitchCandidates.Candidate]) {
        let nx = s.count
        let x1 = 0.5 * dx
        // 1-based sample numbers as in Praat: sample i lies at x1 + (i − 1)·dx
        let leftSample = Int(floor((t - x1) / dx + 1.0)), rightSample = leftSample + 1
        // local mean over one longest period to both sides
        var start = max(rightSample - nsampPeriod, 1), end = min(leftSample + nsampPeriod, nx)
        var localMean = 0.0
        if start <= end { for i in start...end { localMean += s[i - 1] } }
        localMean /= Double(2 * nsampPeriod)
        // the windowed, mean-free frame, zero-padded to nsampFFT
        start = rightSample - halfnsampWindow
        end = leftSample + halfnsampWindow
        for j in 0..<nsampWindow {
            let i = start + j
            frame[j] = (i >= 1 && i <= nx) ? (s[i - 1] - localMean) * window[j] : 0
        }
        for j in nsampWindow..<nsampFFT { frame[j] = 0 }
        // local peak over half a longest period to both sides of the centre
        let peakStart = max(halfnsampWindow + 1 - halfnsampPeriod, 1)
        let peakEnd = min(halfnsampWindow + halfnsampPeriod, nsampWindow)
        var localPeak = 0.0
        if peakStart <= peakEnd { for j in peakStart...peakEnd { localPeak = max(localPeak, abs(frame[j - 1])) } }
        let intensity = localPeak > globalPeak ? 1.0 : localPeak / globalPeak
        var candidates = [PraatPitchCandidates.Candidate(frequency: 0, strength: 0)]
        guard localPeak != 0 else { return (intensity, candidates) }

        Self.autocorrelate(fft, &frame, &re, &im, &ac)
        let c = brentIxmax
        r[c] = 1
        for i in 1...c {
            let v = ac[i] / (ac[0] * windowR[i])
            r[c + i] = v
            r[c - i] = v
        }
        r.withUnsafeBufferPointer { rb in
            search(rb, into: &candidates)
        }
        return (intensity, candidates)
    }

    /// Candidate maxima of r (`rb`: r(m − brentIxmax) at element m) appended to `candidates`, then refined.
    private func search(_ rb: UnsafeBufferPointer<Double>, into candidates: inout [PraatPitchCandidates.Candidate]) {
        let c = brentIxmax
        // first pass: every local maximum above half the voicing threshold
        let oneOverDx = 1.0 / dx
        let offset = -c - 1                  // r's element k (1-based) is r(k + offset)
        var lags: [Int] = [0]                // integer lag of each candidate's maximum
        var i = 2
        while i < maximumLag && i < c {
            let rm = rb[c + i - 1], r0 = rb[c + i], rp = rb[c + i + 1]
            if r0 > 0.5 * voicingThreshold && r0 > rm && r0 >= rp {
                let dr = 0.5 * (rp - rm), d2r = 2.0 * r0 - rm - rp
                let frequency = oneOverDx / (Double(i) + dr / d2r)
                var strength = PraatSinc.interpolate(rb, at: oneOverDx / frequency - Double(offset), depth: 30)
                if strength > 1.0 { strength = 1.0 / strength }
                var place: Int? = nil
                if candidates.count < maxnCandidates {
                    candidates.append(.init(frequency: 0, strength: 0))
                    lags.append(0)
                    place = candidates.count - 1
                } else {
                    var weakest = 2.0
                    for w in 1..<maxnCandidates {
                        let local = candidates[w].strength
                            - octaveCost * Self.log2(minimumPitch / candidates[w].frequency)
                        if local < weakest { weakest = local; place = w }
                    }
                    if strength - octaveCost * Self.log2(minimumPitch / frequency) <= weakest { place = nil }
                }
                if let p = place {
                    candidates[p] = .init(frequency: frequency, strength: strength)
                    lags[p] = i
                }
            }
            i += 1
        }
        // second pass: maximise the sinc-interpolated r around each candidate (Brent)
        for k in 1..<candidates.count {
            let depth = candidates[k].frequency > 0.3 / dx ? 700 : brentDepth
            let (xmid, ymid) = Self.improveMaximum(rb, at: lags[k] - offset, depth: depth)
            let lag = xmid + Double(offset)
            candidates[k].frequency = oneOverDx / lag
            candidates[k].strength = ymid > 1.0 ? 1.0 / ymid : ymid
        }
    }

    /// log2 as Praat writes it (ln x · log2 e).
    @inline(__always) static func log2(_ x: Double) -> Double { Foundation.log(x) * 1.4426950408889634074 }

    /// The maximum of the windowed-sinc interpolation of `y` (1-based positions) between ixmid − 1 and ixmid + 1:
    /// its position and value (Praat's NUMimproveMaximum with sinc interpolation).
    static func improveMaximum(_ y: UnsafeBufferPointer<Double>, at ixmid: Int, depth: Int) -> (Double, Double) {
        if ixmid <= 1 { return (1, y[0]) }
        if ixmid >= y.count { return (Double(y.count), y[y.count - 1]) }
        let (x, fx) = BrentMinimizer.minimize(a: Double(ixmid - 1), b: Double(ixmid + 1), tolerance: 1e-10) {
            -PraatSinc.interpolate(y, at: $0, depth: depth)
        }
        return (x, -fx)
    }
}
