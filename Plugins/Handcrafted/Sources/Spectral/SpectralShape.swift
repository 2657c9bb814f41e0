// Spectral shape descriptors on the magnitude spectrogram, exactly as librosa 0.11 computes them by default
// (`spectral_centroid`, `spectral_bandwidth` p = 2, `spectral_rolloff` 0.85, `spectral_flatness` power 2 amin 1e-10,
// `spectral_contrast` fmin 200 Hz, 6 bands, quantile 0.02, in dB), plus `zero_crossing_rate` (edge padding,
// threshold 1e-10) and `rms` (zero padding) on the waveform. Every function returns one value per frame.

import Foundation

/// Per-frame spectral shape descriptors of a magnitude spectrogram.
public enum SpectralShape {
    /// Centroid: Σ f·S / Σ S (librosa normalises with L1; silent frames give 0). // [T]
    public static func centroid(_ mag: [Double], frames: Int, bins: Int, freqs: [Double]) -> [Double] {
        (0..<frames).map { t in
            var sum = 0.0, acc = 0.0
            for k in 0..<bins { sum += mag[t * bins + k] }
            let l = sum < Double.leastNormalMagnitude ? 1.0 : sum
            for k in 0..<bins { acc += freqs[k] * (mag[t * bins + k] / l) }
            return acc
        }
    }

    /// Bandwidth of order p = 2: (Σ (S/ΣS)·|f − centroid|²)^(1/2). // [T]
    public static func bandwidth(_ mag: [Double], frames: Int, bins: Int, freqs: [Double], centroid: [Double]) -> [Double] {
        (0..<frames).map { t in
            var sum = 0.0, acc = 0.0
            for k in 0..<bins { sum += mag[t * bins + k] }
            let l = sum < Double.leastNormalMagnitude ? 1.0 : sum
            for k in 0..<bins {
                let d = abs(centroid[t] - freqs[k])
                acc += (mag[t * bins + k] / l) * (d * d)
            }
            return acc.squareRoot()
        }
    }

    /// Roll-off: the lowest bin frequency whose cumulative magnitude reaches `percent` of the frame total. // [T]
    public static func rolloff(_ mag: [Double], frames: Int, bins: Int, freqs: [Double], percent: Double = 0.85) -> [Double] {
        (0..<frames).map { t in
            var total = 0.0
            for k in 0..<bins { total += mag[t * bins + k] }
            let threshold = percent * total
            var cum = 0.0
            for k in 0..<bins {
                cum += mag[t * bins + k]
                if !(cum < threshold) { return freqs[k] }
            }
            return Double.nan
        }
    }

    /// Flatness: geometric over arithmetic mean of max(amin, S²). // [T]
    public static func flatness(_ mag: [Double], frames: Int, bins: Int, amin: Double = 1e-10) -> [Double] {
        (0..<frames).map { t in
            var logSum = 0.0, sum = 0.0
            for k in 0..<bins {
                let m = mag[t * bins + k]
                let s = max(amin, m * m)
                logSum += log(s)
                sum += s
            }
            return exp(logSum / Double(bins)) / (sum / Double(bins))
        }
    }

    /// Contrast: per octave band, dB(mean of top quantile) − dB(mean of bottom quantile). // [T, nBands + 1]
    public static func contrast(_ mag: [Double], frames: Int, bins: Int, freqs: [Double], sampleRate: Double,
                                fmin: Double = 200, nBands: Int = 6, quantile: Double = 0.02) -> [Double] {
        var octa = [0.0]
        for i in 0...nBands { octa.append(fmin * pow(2.0, Double(i))) }
        // Band bin selections exactly as librosa builds `current_band`.
        var bands: [(lo: Int, hi: Int, idx: Int)] = []   // inclusive bin range of sub_band, quantile count
        for k in 0...nBands {
            let fLow = octa[k], fHigh = octa[k + 1]
            var member = [Bool](repeating: false, count: bins)
            var first = -1, last = -1
            for b in 0..<bins where freqs[b] >= fLow && freqs[b] <= fHigh {
                member[b] = true
                if first < 0 { first = b }
                last = b
            }
            if k > 0 && first > 0 { member[first - 1] = true }
            if k == nBands && last >= 0 { for b in (last + 1)..<bins { member[b] = true } }
            let selected = (0..<bins).filter { member[$0] }
            let count = selected.count
            var sub = selected
            if k < nBands { sub.removeLast() }
            let idx = max(Int((quantile * Double(count)).rounded(.toNearestOrEven)), 1)
            bands.append((sub.first ?? 0, sub.last ?? -1, idx))
        }
        var out = [Double](repeating: 0, count: frames * (nBands + 1))
        var peak = [Double](repeating: 0, count: frames * (nBands + 1))
        var valley = [Double](repeating: 0, count: frames * (nBands + 1))
        for t in 0..<frames {
            for (k, band) in bands.enumerated() {
                guard band.hi >= band.lo else { continue }
                var v = Array(mag[(t * bins + band.lo)...(t * bins + band.hi)])
                v.sort()
                let idx = min(band.idx, v.count)
                var lo = 0.0, hi = 0.0
                for i in 0..<idx { lo += v[i]; hi += v[v.count - idx + i] }
                valley[t * (nBands + 1) + k] = lo / Double(idx)
                peak[t * (nBands + 1) + k] = hi / Double(idx)
            }
        }
        // power_to_db(peak) − power_to_db(valley), each with its own top_db = 80 floor over the whole matrix
        let pdb = powerToDB(peak), vdb = powerToDB(valley)
        for i in out.indices { out[i] = pdb[i] - vdb[i] }
        return out
    }
}

/// Waveform-domain frame descriptors (librosa `zero_crossing_rate`, `rms`).
public enum WaveformFrames {
    /// Zero-crossing rate per centred frame: edge padding, |x| ≤ 1e-10 counts as +0, sign-bit changes counted
    /// from the second sample of each frame, divided by the frame length. // [T]
    public static func zeroCrossingRate(_ y: [Double], frameLength: Int, hop: Int, threshold: Double = 1e-10) -> [Double] {
        let n = y.count
        guard n > 0 else { return [] }
        let pad = frameLength / 2
        let frames = 1 + (n + 2 * pad - frameLength) / hop
        // sign bit of each padded sample after thresholding
        @inline(__always) func neg(_ i: Int) -> Bool {
            let s = min(max(i - pad, 0), n - 1)
            let v = y[s]
            return (-threshold <= v && v <= threshold) ? false : v.sign == .minus
        }
        let total = n + 2 * pad
        var signs = [Bool](repeating: false, count: total)
        for i in 0..<total { signs[i] = neg(i) }
        return (0..<frames).map { t in
            let start = t * hop
            var c = 0
            for i in (start + 1)..<(start + frameLength) where signs[i] != signs[i - 1] { c += 1 }
            return Double(c) / Double(frameLength)
        }
    }

    /// Root-mean-square per centred frame with zero padding. // [T]
    public static func rms(_ y: [Double], frameLength: Int, hop: Int) -> [Double] {
        let n = y.count
        let pad = frameLength / 2
        let frames = 1 + (n + 2 * pad - frameLength) / hop
        // prefix sums of squares for O(1) frames
        var prefix = [Double](repeating: 0, count: n + 1)
        for i in 0..<n { prefix[i + 1] = prefix[i] + y[i] * y[i] }
        return (0..<frames).map { t in
            let a = max(t * hop - pad, 0), b = min(t * hop - pad + frameLength, n)
            let e = b > a ? prefix[b] - prefix[a] : 0
            return (max(e, 0) / Double(frameLength)).squareRoot()
        }
    }
}
