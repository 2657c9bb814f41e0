// Harmonics-to-noise ratio, Boersma (1993) autocorrelation method.

import Foundation

extension VoiceQuality {
    /// HNR (dB) per voiced pitch frame (Boersma 1993).
    public func hnr(_ y: [Double], track: PitchTrack) -> [Double] {
        let n = y.count
        let win = hnrWindow
        let w = (0..<win).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(win)) }
        let rwRaw = autocorrelation(w)
        let rw = (0...(win / 2 + 1)).map { rwRaw[$0] / rwRaw[0] }   // normalised window autocorrelation
        var out: [Double] = []
        var xw = [Double](repeating: 0, count: win)
        for t in track.voiced.indices where track.voiced[t] && track.f0[t].isFinite {
            let center = t * pitchHop
            let start = center - win / 2
            var mean = 0.0, cnt = 0
            for i in 0..<win where start + i >= 0 && start + i < n { mean += y[start + i]; cnt += 1 }
            guard cnt == win else { continue }          // full windows only
            mean /= Double(win)
            for i in 0..<win { xw[i] = (y[start + i] - mean) * w[i] }
            let period = sampleRate / track.f0[t]
            let lo = max(2, Int((0.8 * period).rounded(.down))), hi = min(win / 2, Int((1.25 * period).rounded(.up)))
            guard hi > lo + 1 else { continue }
            let rx = autocorrelation(xw)
            let r0 = rx[0]
            guard r0 > 0 else { continue }
            var best = -Double.infinity, bestK = lo
            var vals = [Double](repeating: 0, count: hi - lo + 3)
            for k in (lo - 1)...(hi + 1) {
                let v = (rx[k] / r0) / rw[k]
                vals[k - lo + 1] = v
                if k >= lo && k <= hi && v > best { best = v; bestK = k }
            }
            let a = vals[bestK - lo], b = vals[bestK - lo + 1], c = vals[bestK - lo + 2]
            let denom = a - 2 * b + c
            var r = b
            if denom < 0 { let d = 0.5 * (a - c) / denom; r = b - 0.25 * (a - c) * d }
            r = min(max(r, 1e-9), 1 - 1e-9)
            out.append(10 * log10(r / (1 - r)))
        }
        return out
    }
}
