// Probabilistic YIN (Mauch & Dixon 2014) exactly as librosa 0.11 `pyin` computes it (librosa/core/pitch.py):
//  1. centred frames (zero padding), YIN cumulative-mean-normalised difference from an FFT autocorrelation;
//  2. troughs of each frame; for 100 thresholds with a Beta(2, 18) prior, a Boltzmann(2) prior over the troughs
//     below each threshold, plus `no_trough_prob` on the global minimum for thresholds it does not reach;
//  3. parabolic refinement of each trough's period, mapped to 0.1-semitone pitch bins above fmin;
//  4. a 2·n_bins-state HMM (voiced/unvoiced × pitch bin) with a triangular local transition (max 35.92 octaves/s)
//     and a 0.01 voicing switch probability, decoded by Viterbi.
// Everything is in Double. The Viterbi step exploits the banded transition matrix (see `PYINViterbi`) but picks
// the same state as librosa's dense argmax, ties included.

import Foundation

/// Result of pYIN on one clip. // each [T]
public struct PitchTrack: Sendable, Equatable {
    /// f0 in Hz per frame; NaN where unvoiced.
    public var f0: [Double]
    /// Decoded voicing per frame.
    public var voiced: [Bool]
    /// Voicing probability per frame (sum of the voiced observation probabilities, clipped to [0, 1]).
    public var voicedProbability: [Double]
}

/// pYIN settings (librosa's parameter names and defaults).
public struct PYINConfig: Sendable, Equatable {
    /// Lowest f0 (Hz); librosa note_to_hz('C2') by default.
    public var fmin: Double = 65.40639132514966
    /// Highest f0 (Hz); librosa note_to_hz('C7') by default.
    public var fmax: Double = 2093.004522404789
    /// Frame length in samples.
    public var frameLength: Int = 2048
    /// Hop in samples (librosa: frame_length / 4).
    public var hopLength: Int = 512
    /// Number of thresholds.
    public var nThresholds: Int = 100
    /// Beta prior over thresholds.
    public var betaParameters: (Double, Double) = (2, 18)
    /// Boltzmann prior parameter over troughs.
    public var boltzmannParameter: Double = 2
    /// Pitch bin width in semitones.
    public var resolution: Double = 0.1
    /// Octaves per second.
    public var maxTransitionRate: Double = 35.92
    /// Voicing switch probability.
    public var switchProb: Double = 0.01
    /// Probability given to the global minimum when no trough is below a threshold.
    public var noTroughProb: Double = 0.01

    /// Default settings.
    public init() {}

    /// Field-by-field equality (the tuple field keeps the synthesised conformance from applying).
    public static func == (a: PYINConfig, b: PYINConfig) -> Bool {
        a.fmin == b.fmin && a.fmax == b.fmax && a.frameLength == b.frameLength && a.hopLength == b.hopLength
            && a.nThresholds == b.nThresholds && a.betaParameters == b.betaParameters
            && a.boltzmannParameter == b.boltzmannParameter && a.resolution == b.resolution
            && a.maxTransitionRate == b.maxTransitionRate && a.switchProb == b.switchProb
            && a.noTroughProb == b.noTroughProb
    }
}

/// A reusable pYIN analyser for one sample rate and config (not thread-safe: one per thread).
public final class PYIN {
    /// The settings.
    public let config: PYINConfig
    /// Sample rate in Hz.
    public let sampleRate: Double
    let minPeriod: Int
    let maxPeriod: Int
    let nBinsPerSemitone: Int
    /// Number of pitch bins (HMM has twice as many states).
    public let nPitchBins: Int
    let betaProbs: [Double]
    let thresholds: [Double]
    let fft: RealFFT
    let viterbi: PYINViterbi

    /// Validates the settings (librosa's `__check_yin_params`) and precomputes priors and the HMM.
    public init(sampleRate: Double, config: PYINConfig = PYINConfig()) throws(FeatureError) {
        let c = config
        guard c.fmin > 0 else { throw FeatureError.invalidConfig("pitch_fmin=\(c.fmin) must be > 0") }
        guard c.fmin < c.fmax else { throw FeatureError.invalidConfig("pitch_fmin=\(c.fmin) must be below pitch_fmax=\(c.fmax)") }
        guard c.fmax <= sampleRate / 2 else {
            throw FeatureError.invalidConfig("pitch_fmax=\(c.fmax) exceeds the Nyquist frequency \(sampleRate / 2)")
        }
        guard sampleRate / c.fmin < Double(c.frameLength - 1) else {
            throw FeatureError.invalidConfig("pitch_fmin=\(c.fmin) is too low for pitch_frame_length=\(c.frameLength); raise pitch_fmin above \(sampleRate / Double(c.frameLength - 1)) or lengthen the frame")
        }
        guard c.hopLength > 0, c.nThresholds > 0, c.resolution > 0, c.resolution < 1,
              c.switchProb > 0, c.switchProb < 1, c.noTroughProb >= 0, c.noTroughProb <= 1 else {
            throw FeatureError.invalidConfig("pYIN settings out of range (hop > 0, thresholds > 0, 0 < resolution < 1, 0 < switch_prob < 1)")
        }
        self.config = c
        self.sampleRate = sampleRate
        minPeriod = Int((sampleRate / c.fmax).rounded(.down))
        maxPeriod = min(Int((sampleRate / c.fmin).rounded(.up)), c.frameLength - 1)
        var nPad = 1
        while nPad < 2 * c.frameLength - 1 { nPad *= 2 }
        fft = try RealFFT(n: nPad)
        thresholds = MelScale.linspace(0, 1, c.nThresholds + 1)
        let cdf = thresholds.map { regularizedIncompleteBeta($0, c.betaParameters.0, c.betaParameters.1) }
        betaProbs = (0..<c.nThresholds).map { cdf[$0 + 1] - cdf[$0] }
        nBinsPerSemitone = Int((1.0 / c.resolution).rounded(.up))
        nPitchBins = Int((12 * Double(nBinsPerSemitone) * log2(c.fmax / c.fmin)).rounded(.down)) + 1
        let maxSemitonesPerFrame = Int((c.maxTransitionRate * 12 * Double(c.hopLength) / sampleRate).rounded(.toNearestOrEven))
        let width = maxSemitonesPerFrame * nBinsPerSemitone + 1
        viterbi = PYINViterbi(nPitchBins: nPitchBins, transitionWidth: width, switchProb: c.switchProb)
    }

    /// Pitch bin centre frequencies, `fmin · 2^(i / (12 · bins_per_semitone))`.
    public var binFrequencies: [Double] {
        (0..<nPitchBins).map { config.fmin * pow(2.0, Double($0) / (12 * Double(nBinsPerSemitone))) }
    }

    /// Number of frames for `count` samples.
    public func frameCount(_ count: Int) -> Int { 1 + count / config.hopLength }

    /// Runs pYIN on `y`.
    public func callAsFunction(_ y: [Double]) -> PitchTrack {
        let frames = frameCount(y.count)
        let n = nPitchBins
        var obs = [Double](repeating: 0, count: frames * 2 * n)   // [T, 2n]
        var voicedProb = [Double](repeating: 0, count: frames)
        var yin = [Double](repeating: 0, count: maxPeriod - minPeriod + 1)
        var shifts = [Double](repeating: 0, count: yin.count)
        var work = YINWork(fftSize: fft.n, frameLength: config.frameLength, maxPeriod: maxPeriod)
        for t in 0..<frames {
            cumulativeMeanNormalizedDifference(y, frame: t, into: &yin, work: &work)
            parabolicShifts(yin, into: &shifts)
            voicedProb[t] = observe(yin: yin, shifts: shifts, obsRow: &obs, offset: t * 2 * n)
        }
        let states = viterbi.decode(observations: obs, frames: frames)
        let freqs = binFrequencies
        var f0 = [Double](repeating: .nan, count: frames)
        var voiced = [Bool](repeating: false, count: frames)
        for t in 0..<frames {
            let s = states[t]
            voiced[t] = s < n
            if s < n { f0[t] = freqs[s] }
        }
        return PitchTrack(f0: f0, voiced: voiced, voicedProbability: voicedProb)
    }

    /// Scratch buffers for the difference function.
    struct YINWork {
        var frame: [Double]
        var re: [Double]
        var im: [Double]
        var acf: [Double]
        var diff: [Double]
        init(fftSize: Int, frameLength: Int, maxPeriod: Int) {
            frame = [Double](repeating: 0, count: fftSize)
            re = [Double](repeating: 0, count: fftSize / 2 + 1)
            im = [Double](repeating: 0, count: fftSize / 2 + 1)
            acf = [Double](repeating: 0, count: fftSize)
            diff = [Double](repeating: 0, count: maxPeriod + 1)
        }
    }

    /// YIN's cumulative mean normalised difference of frame `t` (periods minPeriod...maxPeriod), librosa's
    /// `_cumulative_mean_normalized_difference`.
    func cumulativeMeanNormalizedDifference(_ y: [Double], frame t: Int, into out: inout [Double], work: inout YINWork) {
        let L = config.frameLength
        let start = t * config.hopLength - L / 2
        let ny = y.count
        let nPad = fft.n
        work.frame.withUnsafeMutableBufferPointer { fr in
            guard let frp = fr.baseAddress else { return }
            y.withUnsafeBufferPointer { yp in
                for i in 0..<L {
                    let s = start + i
                    frp[i] = (s >= 0 && s < ny) ? yp[s] : 0
                }
            }
            for i in L..<nPad { frp[i] = 0 }
            work.re.withUnsafeMutableBufferPointer { reb in
                work.im.withUnsafeMutableBufferPointer { imb in
                    work.acf.withUnsafeMutableBufferPointer { ab in
                        guard let rp = reb.baseAddress, let ip = imb.baseAddress, let ap = ab.baseAddress else { return }
                        fft.forward(UnsafePointer(frp), rp, ip)
                        for k in 0...(nPad / 2) {
                            rp[k] = rp[k] * rp[k] + ip[k] * ip[k]
                            ip[k] = 0
                        }
                        fft.inverse(UnsafePointer(rp), UnsafePointer(ip), ap, count: maxPeriod + 1)   // lags 0...maxPeriod
                    }
                }
            }
            // d(k) = 2·(acf(0) − acf(k)) − Σ_{m<k} y(m)²; cumulative mean normalisation
            let maxP = maxPeriod, minP = minPeriod
            work.diff.withUnsafeMutableBufferPointer { db in
                work.acf.withUnsafeBufferPointer { ap in
                    var energy = 0.0
                    db[0] = 0
                    for k in 1...maxP {
                        energy += frp[k - 1] * frp[k - 1]
                        db[k] = 2 * (ap[0] - ap[k]) - energy
                    }
                }
                var cum = 0.0
                for k in 1...maxP {
                    cum += db[k]
                    if k >= minP {
                        let mean = cum / Double(k)
                        out[k - minP] = db[k] / (mean + Double.leastNormalMagnitude)
                    }
                }
            }
        }
    }

    /// librosa `_parabolic_interpolation`: the vertex offset of the parabola through each point and its
    /// neighbours, 0 at the edges and where it would move by more than one bin.
    func parabolicShifts(_ x: [Double], into out: inout [Double]) {
        let m = x.count
        out[0] = 0
        out[m - 1] = 0
        guard m > 2 else { return }
        for i in 1..<(m - 1) {
            let a = x[i + 1] + x[i - 1] - 2 * x[i]
            let b = (x[i + 1] - x[i - 1]) / 2
            out[i] = abs(b) >= abs(a) ? 0 : -b / a
        }
    }

    /// Fills one frame's observation probabilities (`2n` states) and returns its voiced probability.
    func observe(yin: [Double], shifts: [Double], obsRow obs: inout [Double], offset: Int) -> Double {
        let m = yin.count
        // troughs: index 0 if y[0] < y[1]; interior local minima (strict on the left); last if y[-1] < y[-2]
        var troughs: [Int] = []
        if m > 1, yin[0] < yin[1] { troughs.append(0) }
        if m > 2 {
            for i in 1..<(m - 1) where yin[i] < yin[i - 1] && yin[i] <= yin[i + 1] { troughs.append(i) }
        }
        if m > 1, yin[m - 1] < yin[m - 2] { troughs.append(m - 1) }
        let n = nPitchBins
        guard !troughs.isEmpty else {
            for s in n..<(2 * n) { obs[offset + s] = 1.0 / Double(n) }
            return 0
        }
        let j = troughs.count
        var probs = [Double](repeating: 0, count: j)
        let nThr = config.nThresholds
        let lambda = config.boltzmannParameter
        let fact0 = 1 - exp(-lambda)
        // exp(−λ·r) for r < j: the same values the per-use calls would give, computed once per frame
        let boltzmann = (0...j).map { exp(-lambda * Double($0)) }
        // For each threshold, the troughs below it get Boltzmann weights by rank.
        for t in 0..<nThr {
            let thr = thresholds[t + 1]
            var nBelow = 0
            for idx in 0..<j where yin[troughs[idx]] < thr { nBelow += 1 }
            guard nBelow > 0 else { continue }
            let fact = fact0 / (1 - boltzmann[nBelow])
            var rank = 0
            for idx in 0..<j where yin[troughs[idx]] < thr {
                probs[idx] += fact * boltzmann[rank] * betaProbs[t]
                rank += 1
            }
        }
        var globalMin = 0
        for idx in 1..<j where yin[troughs[idx]] < yin[troughs[globalMin]] { globalMin = idx }
        var nAbove = 0
        let gmHeight = yin[troughs[globalMin]]
        for t in 0..<nThr where !(gmHeight < thresholds[t + 1]) { nAbove += 1 }
        var tail = 0.0
        for t in 0..<nAbove { tail += betaProbs[t] }
        probs[globalMin] += config.noTroughProb * tail
        // Candidates in increasing period order; a later candidate in the same bin overwrites (numpy fancy assignment).
        let scale = 12 * Double(nBinsPerSemitone)
        for idx in 0..<j where probs[idx] != 0 {
            let p = troughs[idx]
            let period = Double(minPeriod + p) + shifts[p]
            let f0 = sampleRate / period
            var b = (scale * log2(f0 / config.fmin)).rounded(.toNearestOrEven)
            b = min(max(b, 0), Double(n))
            obs[offset + Int(b)] = probs[idx]
        }
        var vp = 0.0
        for s in 0..<n { vp += obs[offset + s] }
        vp = min(max(vp, 0), 1)
        let unvoiced = (1 - vp) / Double(n)
        for s in n..<(2 * n) { obs[offset + s] = unvoiced }
        return vp
    }
}

/// Regularised incomplete beta I_x(a, b) (the Beta CDF), by the continued fraction of Numerical Recipes §6.4.
public func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    let lnBeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
    let lnPowers: Double = a * log(x) + b * log(1 - x)
    let lnFront = lnBeta + lnPowers
    if x < (a + 1) / (a + b + 2) {
        return exp(lnFront) * betaContinuedFraction(x, a, b) / a
    }
    return 1 - exp(lnFront) * betaContinuedFraction(1 - x, b, a) / b
}

/// Lentz's evaluation of the incomplete-beta continued fraction.
func betaContinuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
    let tiny = 1e-300, eps = 1e-16
    var c = 1.0
    var d = 1 - (a + b) * x / (a + 1)
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var h = d
    for m in 1...500 {
        let md = Double(m)
        let m2 = 2 * md
        let den1: Double = (a + m2 - 1) * (a + m2)
        var aa: Double = md * (b - md) * x / den1
        d = 1 + aa * d; if abs(d) < tiny { d = tiny }
        c = 1 + aa / c; if abs(c) < tiny { c = tiny }
        d = 1 / d
        h *= d * c
        let den2: Double = (a + m2) * (a + m2 + 1)
        let num2: Double = (a + md) * (a + b + md) * x
        aa = -num2 / den2
        d = 1 + aa * d; if abs(d) < tiny { d = tiny }
        c = 1 + aa / c; if abs(c) < tiny { c = tiny }
        d = 1 / d
        let del = d * c
        h *= del
        if abs(del - 1) < eps { break }
    }
    return h
}
