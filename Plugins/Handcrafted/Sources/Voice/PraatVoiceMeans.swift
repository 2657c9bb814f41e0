// The peer pipeline's clip-level Praat voice values (Tests/Reference/peer_pipeline.py, `praat_features`), computed
// from EmoKit's Praat-compatible analyses exactly as the peer's Python computes them from parselmouth's:
//  - HNR mean: PraatHarmonicity (10 ms, 75 Hz, silence 0.1, 4.5 periods), mean over frames ≠ −200 dB;
//  - F1–F3 means: PraatBurgFormants with a 10 ms step, read with Praat's "Get value at time" (linear interpolation
//    between the two nearest frames; undefined where the nearest frame lacks the formant, the nearest frame's value
//    where only the farther one does) at the times of the frames PraatPitch (75–600 Hz, 10 ms) calls voiced;
//    undefined values are dropped before the mean;
//  - speech rate: de Jong & Wempe (2009, Behavior Research Methods 41: 385–390), simplified as the peer codes it:
//    on PraatIntensity (50 Hz, 10 ms) frames, count the local peaks (v[k] > v[k−1], v[k] ≥ v[k+1]) above the
//    0.99 quantile (numpy's linear rule) − 25 dB that rise ≥ 2 dB above the lowest frame since the last counted
//    peak and where Praat's pitch is defined (PraatPitchTrack.value(at:)); the count per second of audio.

import Foundation

/// The peer pipeline's clip-level Praat values: HNR mean, speech rate, F1–F3 means.
public enum PraatVoiceMeans {
    /// One clip's values; nil where the peer gets NaN (no voiced frame, no defined value).
    public struct Values: Sendable, Equatable {
        /// Mean HNR over non-silent harmonicity frames (dB).
        public var hnrMean: Double?
        /// Syllable nuclei per second.
        public var speechRate: Double?
        /// F1, F2, F3 means over the voiced pitch frames (Hz).
        public var formantMeans: [Double?]
    }

    /// All of the peer's values for `y` sampled at `sampleRate` Hz (one pitch analysis shared by formants and rate).
    public static func compute(_ y: [Double], sampleRate: Double) -> Values {
        let pitch = PraatPitch().track(y, sampleRate: sampleRate)
        let intensity = PraatIntensity().track(y, sampleRate: sampleRate)
        return Values(hnrMean: PraatHarmonicity().track(y, sampleRate: sampleRate).mean,
                      speechRate: speechRate(intensity: intensity, pitch: pitch,
                                             duration: Double(y.count) / sampleRate),
                      formantMeans: formantMeans(y, sampleRate: sampleRate, pitch: pitch))
    }

    /// F1–F3 means of Praat's Burg formants (10 ms step) at the voiced frames of `pitch` (the defined values of
    /// `PraatVoiceTracks.formantFrames`, summed in time order).
    public static func formantMeans(_ y: [Double], sampleRate: Double, pitch: PraatPitchTrack) -> [Double?] {
        PraatVoiceTracks.formantFrames(y, sampleRate: sampleRate, pitch: pitch).map { frames -> Double? in
            var sum = 0.0, n = 0
            for v in frames where v.isFinite { sum += v; n += 1 }
            return n > 0 ? sum / Double(n) : nil
        }
    }

    /// Praat's Sampled "Get value at time" with linear interpolation over frames 0..<count at x1 + i·dt, where
    /// `value(i)` is nil for an undefined frame.
    static func valueAtTime(_ t: Double, x1: Double, dt: Double, count: Int, _ value: (Int) -> Double?) -> Double? {
        let real = (t - x1) / dt                      // 0-based real index
        let left = Int(floor(real))
        var phase = real - Double(left)
        let near: Int, far: Int
        if phase < 0.5 { near = left; far = left + 1 } else { far = left; near = left + 1; phase = 1.0 - phase }
        guard near >= 0, near < count, let fNear = value(near) else { return nil }
        guard far >= 0, far < count, let fFar = value(far) else { return fNear }
        return fNear + phase * (fFar - fNear)
    }

    /// The peer's simplified de Jong & Wempe syllable-nucleus rate (nuclei per second of `duration`).
    public static func speechRate(intensity: PraatIntensity.Track, pitch: PraatPitchTrack, duration: Double) -> Double? {
        guard duration > 0 else { return nil }
        let iv = intensity.values
        var nuclei = 0
        if iv.count >= 3 {
            let threshold = quantile(iv, 0.99) - 25.0
            var dip = iv[0]
            for k in 1..<(iv.count - 1) {
                dip = min(dip, iv[k])
                if iv[k] > iv[k - 1] && iv[k] >= iv[k + 1] && iv[k] > threshold && iv[k] - dip >= 2.0 {
                    if let f = pitch.value(at: intensity.time(ofFrame: k)), f.isFinite, f > 0 {
                        nuclei += 1
                        dip = iv[k]
                    }
                }
            }
        }
        return Double(nuclei) / duration
    }

    /// numpy's `quantile(v, q)` with the default linear method, with numpy's arithmetic (virtual index
    /// n·q + (1 − q) − 1, interpolation from the nearer end).
    static func quantile(_ values: [Double], _ q: Double) -> Double {
        let v = values.sorted()
        let n = v.count
        guard n > 0 else { return .nan }
        let virtual = Double(n) * q + (1.0 + q * (1.0 - 1.0 - 1.0)) - 1.0
        let lo = min(max(Int(floor(virtual)), 0), n - 1)
        let hi = min(lo + 1, n - 1)
        let gamma = virtual - floor(virtual)
        let a = v[lo], b = v[hi]
        let diff = b - a
        return gamma >= 0.5 ? b - diff * (1.0 - gamma) : a + diff * gamma
    }
}
