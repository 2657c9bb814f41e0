// The voice-quality descriptors measured the way Praat 6.1.38 measures them (config `voice_method: praat`), so a
// feature vector from EmoKit carries the same F1–F3, HNR, jitter, shimmer and speech rate as the Praat scripts the
// field uses (and as the peer pipeline, Tests/Reference/peer_pipeline.py, computes them with parselmouth):
//  - voicing: PraatPitch (To Pitch (ac), 75–600 Hz, 10 ms, Praat's default costs) — not pYIN;
//  - formants: PraatBurgFormants with a 10 ms step, read at every voiced pitch frame with Praat's "Get value at time";
//  - HNR: PraatHarmonicity (To Harmonicity (ac), 10 ms, 75 Hz, silence 0.1, 4.5 periods), frames ≠ −200 dB;
//  - jitter/shimmer (local): PraatPointProcess (To PointProcess (periodic, cc)) on that pitch, PraatJitterShimmer
//    with Praat's limits (0.0001 s, 0.02 s, 1.3, 1.6);
//  - speech rate: PraatVoiceMeans.speechRate (de Jong & Wempe 2009, simplified) on PraatIntensity (50 Hz, 10 ms).
// Each analysis is checked against parselmouth 0.4.7 frame by frame (PraatPitchTests, PraatPointProcessTests,
// PraatFormantTests).

import Foundation

/// Which analysis computes the voice-quality descriptors (config `voice_method`).
public enum VoiceMethod: String, CaseIterable, Sendable {
    /// Praat 6.1.38's own analyses (PraatVoice.swift): the values a Praat script reports; about 110 ms per 3 s
    /// clip (Praat's harmonicity dominates, as in Praat).
    case praat
    /// The default: EmoKit's definitions on pYIN's voicing and periods (VoiceQuality.swift; formants per
    /// `formant_method`): the whole study-a set in about 13 ms per 3 s clip, but not Praat's numbers (F1
    /// correlates 0.54 with Praat's over 1542 clips).
    case pyin
}

/// Frame-level voice-quality tracks of one clip, measured as Praat does.
public struct PraatVoiceTracks: Sendable {
    /// F1, F2, F3 at each voiced Praat pitch frame (Hz, NaN where undefined). // [3][voiced frames]
    public var formants: [[Double]]
    /// HNR of every non-silent harmonicity frame (dB).
    public var hnr: [Double]
    /// Jitter (local), NaN where Praat's is undefined.
    public var jitter: Double
    /// Shimmer (local), NaN where Praat's is undefined.
    public var shimmer: Double
    /// Syllable nuclei per second.
    public var speechRate: Double
    /// Seconds between the frames of `formants` and `hnr`.
    public var timeStep: Double

    /// Analyses `y` (sampled at `sampleRate` Hz); only what `formants`, `hnr`, `jitterShimmer` and `speechRate` ask
    /// for is computed (one Praat pitch analysis serves all).
    public static func analyse(_ y: [Double], sampleRate: Double, formants wantFormants: Bool, hnr wantHNR: Bool,
                               jitterShimmer wantJS: Bool, speechRate wantRate: Bool) -> PraatVoiceTracks {
        let duration = Double(y.count) / sampleRate
        var out = PraatVoiceTracks(formants: [[], [], []], hnr: [], jitter: .nan, shimmer: .nan, speechRate: .nan,
                                   timeStep: 0.01)
        let needsPitch = wantFormants || wantJS || wantRate
        let pitch = needsPitch ? PraatPitch().track(y, sampleRate: sampleRate) : PraatPitchTrack(x1: 0, dt: 0.01, f0: [])
        if wantFormants { out.formants = formantFrames(y, sampleRate: sampleRate, pitch: pitch) }
        if wantHNR {
            out.hnr = PraatHarmonicity().track(y, sampleRate: sampleRate).values.filter { $0 != PraatHarmonicity.Track.silent }
        }
        if wantJS {
            let m = PraatJitterShimmer.measures(y, sampleRate: sampleRate, pitch: pitch)
            out.jitter = m.jitterLocal ?? .nan
            out.shimmer = m.shimmerLocal ?? .nan
        }
        if wantRate {
            let intensity = PraatIntensity().track(y, sampleRate: sampleRate)
            out.speechRate = PraatVoiceMeans.speechRate(intensity: intensity, pitch: pitch, duration: duration) ?? .nan
        }
        return out
    }

    /// F1–F3 of Praat's Burg formants (10 ms step) at each voiced frame of `pitch`, as "Get value at time" reads
    /// them; their means are PraatVoiceMeans.formantMeans. // [3][voiced frames]
    static func formantFrames(_ y: [Double], sampleRate: Double, pitch: PraatPitchTrack) -> [[Double]] {
        var burg = PraatBurgFormants()
        burg.timeStep = 0.01
        let track = burg.track(y, sampleRate: sampleRate)
        let duration = Double(y.count) / sampleRate
        guard let x1 = track.times.first else { return [[], [], []] }
        let times = pitch.voicedTimes.filter { $0 >= 0 && $0 <= duration }
        return (0..<3).map { k in
            times.map { t in
                PraatVoiceMeans.valueAtTime(t, x1: x1, dt: burg.timeStep, count: track.times.count) { i in
                    k < track.frequencies[i].count ? track.frequencies[i][k] : nil
                } ?? .nan
            }
        }
    }
}
