// STFT chroma exactly as librosa 0.11 `chroma_stft`: power spectrogram, tuning estimated with `estimate_tuning`
// (`piptrack` parabolic peaks between 150 and 4000 Hz above 0.1·frame max, keep magnitudes ≥ their median,
// histogram of the residual to the 12-TET grid at 0.01-bin resolution), the `filters.chroma` bank for that
// tuning (Gaussian bumps, ctroct 5, octwidth 2, L2-normalised per bin, starting at C, float32 weights), and
// per-frame max normalisation (norm = ∞).

import Foundation

/// librosa `estimate_tuning(S=power, sr, bins_per_octave=12)`; returns the tuning offset in fractions of a bin.
public func estimateTuning(power: [Double], frames: Int, bins: Int, nFFT: Int, sampleRate: Double,
                           binsPerOctave: Int = 12, resolution: Double = 0.01) -> Double {
    let fmin = 150.0, fmax = min(4000.0, sampleRate / 2), threshold = 0.1
    let freqs = Spectrogram.frequencies(sampleRate: sampleRate, nFFT: nFFT)
    var pitches: [Double] = []
    var mags: [Double] = []
    power.withUnsafeBufferPointer { s in
        for t in 0..<frames {
            let row = t * bins
            var mx = 0.0
            for k in 0..<bins { mx = max(mx, s[row + k]) }
            let ref = threshold * mx
            // util.localmax over x = S·(S > ref): x[k] > x[k-1] && x[k] >= x[k+1]; edges: first false... see below
            @inline(__always) func x(_ k: Int) -> Double { let v = s[row + k]; return v > ref ? v : 0 }
            for k in 0..<bins {
                guard fmin <= freqs[k], freqs[k] < fmax else { continue }
                let isMax: Bool
                if k == bins - 1 { isMax = x(k) > x(k - 1) }
                else if k == 0 { isMax = false }   // stencil boundary: numba stencils write 0 at the edges
                else { isMax = x(k) > x(k - 1) && x(k) >= x(k + 1) }
                guard isMax else { continue }
                // parabolic shift and gradient on |S| (here S is the power spectrogram)
                var shift = 0.0
                var grad = 0.0
                if k > 0 && k < bins - 1 {
                    let a = s[row + k + 1] + s[row + k - 1] - 2 * s[row + k]
                    let b = (s[row + k + 1] - s[row + k - 1]) / 2
                    shift = abs(b) >= abs(a) ? 0 : -b / a
                    grad = (s[row + k + 1] - s[row + k - 1]) / 2
                } else if k == 0 {
                    grad = s[row + 1] - s[row]
                } else {
                    grad = s[row + k] - s[row + k - 1]
                }
                let pitch = (Double(k) + shift) * sampleRate / Double(nFFT)
                let mag = s[row + k] + 0.5 * grad * shift
                pitches.append(pitch)
                mags.append(mag)
            }
        }
    }
    // estimate_tuning: keep pitches > 0 with mag >= median(mag[pitch > 0]).
    var positive: [Double] = []
    for i in pitches.indices where pitches[i] > 0 { positive.append(mags[i]) }
    var thr = 0.0
    if !positive.isEmpty {
        positive.sort()
        let c = positive.count
        thr = c % 2 == 1 ? positive[c / 2] : (positive[c / 2 - 1] + positive[c / 2]) / 2
    }
    var kept: [Double] = []
    for i in pitches.indices where pitches[i] > 0 && mags[i] >= thr { kept.append(pitches[i]) }
    return pitchTuning(kept, resolution: resolution, binsPerOctave: binsPerOctave)
}

/// librosa `pitch_tuning`: histogram of `mod(bins_per_octave · log2(f / 27.5), 1)` folded to [-0.5, 0.5),
/// returns the left edge of the fullest bin (0 when there is no frequency).
public func pitchTuning(_ frequencies: [Double], resolution: Double = 0.01, binsPerOctave: Int = 12) -> Double {
    let f = frequencies.filter { $0 > 0 }
    guard !f.isEmpty else { return 0 }
    let nBins = Int((1.0 / resolution).rounded(.up))
    let edges = MelScale.linspace(-0.5, 0.5, nBins + 1)
    var counts = [Int](repeating: 0, count: nBins)
    for freq in f {
        let octs = log2(freq / (440.0 / 16))
        var r = fmod(Double(binsPerOctave) * octs, 1.0)
        if r < 0 { r += 1 }
        if r >= 0.5 { r -= 1.0 }
        guard r >= edges[0], r <= edges[nBins] else { continue }
        // bin i: edges[i] <= r < edges[i+1]; the last bin includes its right edge (numpy.histogram)
        var lo = 0, hi = nBins
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if r >= edges[mid] { lo = mid } else { hi = mid }
        }
        counts[lo] += 1
    }
    var best = 0
    for i in 1..<nBins where counts[i] > counts[best] { best = i }
    return edges[best]
}

/// The chroma filter bank `[12, bins]` of librosa `filters.chroma` (float32 weights).
public struct ChromaFilterbank: Sendable {
    /// Number of chroma bins (12).
    public let nChroma: Int
    /// Frequency bins, n_fft/2 + 1.
    public let bins: Int
    /// Weights // [nChroma, bins]
    public let weights: [Double]

    /// Builds the bank for a tuning offset (fractions of a chroma bin).
    public init(sampleRate: Double, nFFT: Int, tuning: Double, nChroma: Int = 12,
                ctroct: Double = 5.0, octwidth: Double = 2.0) {
        self.nChroma = nChroma
        bins = nFFT / 2 + 1
        let nc = Double(nChroma)
        let a440 = 440.0 * pow(2.0, tuning / nc)
        // frequencies = linspace(0, sr, n_fft, endpoint=False)[1:]
        let step = sampleRate / Double(nFFT)
        var frqbins = [Double](repeating: 0, count: nFFT)
        for i in 1..<nFFT { frqbins[i] = nc * log2((Double(i) * step) / (a440 / 16)) }
        frqbins[0] = frqbins[1] - 1.5 * nc
        var binwidth = [Double](repeating: 1, count: nFFT)
        for i in 0..<(nFFT - 1) { binwidth[i] = max(frqbins[i + 1] - frqbins[i], 1.0) }
        let nc2 = (nc / 2).rounded(.toNearestOrEven)
        var wts = [Double](repeating: 0, count: nChroma * nFFT)
        for c in 0..<nChroma {
            for i in 0..<nFFT {
                var d = frqbins[i] - Double(c)
                // np.remainder(D + n_chroma2 + 10 n_chroma, n_chroma) - n_chroma2
                let v = d + nc2 + 10 * nc
                var r = fmod(v, nc)
                if r != 0 && (r < 0) != (nc < 0) { r += nc }
                d = r - nc2
                let z = 2 * d / binwidth[i]
                wts[c * nFFT + i] = exp(-0.5 * z * z)
            }
        }
        // L2 normalise each column (over chroma), then the octave Gaussian
        for i in 0..<nFFT {
            var ss = 0.0
            for c in 0..<nChroma { ss += wts[c * nFFT + i] * wts[c * nFFT + i] }
            let len = ss.squareRoot()
            let l = len < Double.leastNormalMagnitude ? 1.0 : len
            let oct = (frqbins[i] / nc - ctroct) / octwidth
            let g = exp(-0.5 * oct * oct)
            for c in 0..<nChroma { wts[c * nFFT + i] = wts[c * nFFT + i] / l * g }
        }
        // roll by -3 (start at C), keep `bins` bins, round to float32
        let shift = 3 * (nChroma / 12)
        var out = [Double](repeating: 0, count: nChroma * bins)
        for c in 0..<nChroma {
            let src = (c + shift) % nChroma
            for i in 0..<bins { out[c * bins + i] = Double(Float(wts[src * nFFT + i])) }
        }
        weights = out
    }

    /// Chroma of a power spectrogram, each frame divided by its max (frames whose max is below the smallest
    /// normal double are left as they are). // [T, bins] → [T, 12]
    public func apply(_ power: [Double], frames: Int) -> [Double] {
        var out = RowProducts(weights: weights, outputs: nChroma, inputs: bins).apply(power, rows: frames)
        for t in 0..<frames {
            var mx = 0.0
            for c in 0..<nChroma { mx = max(mx, abs(out[t * nChroma + c])) }
            let len = mx < Double.leastNormalMagnitude ? 1.0 : mx
            for c in 0..<nChroma { out[t * nChroma + c] /= len }
        }
        return out
    }
}
