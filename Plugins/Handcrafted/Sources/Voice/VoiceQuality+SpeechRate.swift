// Speech rate from syllable nuclei (de Jong & Wempe 2009).

import Foundation

extension VoiceQuality {
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
