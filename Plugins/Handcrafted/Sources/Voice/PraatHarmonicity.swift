// Praat's "Sound: To Harmonicity (ac)..." (Praat 6.1.38; manual page of that name; Boersma 1993, eq. 4):
// the autocorrelation pitch analysis of PraatPitch.swift with the Gaussian window ("very accurate": window of
// 2 × periodsPerWindow periods of the minimum pitch, sinc depth 700), up to ⌊(sr/2) / minimum pitch⌋ candidates,
// ceiling at the Nyquist frequency, voicing threshold and all path costs 0, the given silence threshold. Each frame's
// chosen candidate gives HNR = 10·log10(r / (1 − r)) dB (−150 for r ≤ 1e−15, 150 for r > 1 − 1e−15), or −200 where
// the unvoiced candidate wins (silence). "Get mean" as the peer computes it: the mean over frames not equal to −200.

import Foundation

/// Harmonics-to-noise ratio per frame exactly as Praat's `To Harmonicity (ac)` computes it.
public struct PraatHarmonicity: Sendable {
    /// Time step between frames (s); 0 = automatic (periodsPerWindow / minimumPitch / 4).
    public var timeStep = 0.01
    /// Minimum pitch (Hz): sets the window length and the longest lag.
    public var minimumPitch = 75.0
    /// Frames whose local peak is below this fraction of the global peak tend to be silent (−200).
    public var silenceThreshold = 0.1
    /// Window length in periods of the minimum pitch (the Gaussian window spans twice this).
    public var periodsPerWindow = 4.5

    /// The peer pipeline's settings (10 ms, 75 Hz, 0.1, 4.5 periods), which are Praat's defaults.
    public init() {}

    /// Frames of one harmonicity analysis.
    public struct Track: Sendable, Equatable {
        /// Time of the first frame's centre (s).
        public var x1: Double
        /// Time step between frames (s).
        public var dt: Double
        /// HNR per frame (dB); −200 marks a silent (unvoiced) frame.
        public var values: [Double]

        /// Praat's value for silent frames.
        public static let silent = -200.0

        /// Mean HNR over the frames that are not silent (dB); nil when every frame is silent.
        public var mean: Double? {
            var sum = 0.0, n = 0
            for v in values where v != Self.silent { sum += v; n += 1 }
            return n > 0 ? sum / Double(n) : nil
        }
    }

    /// HNR frames of `y` sampled at `sampleRate` Hz (no frames when the clip is shorter than one window).
    public func track(_ y: [Double], sampleRate: Double) -> Track {
        let settings = PraatPitchSettings(
            timeStep: timeStep, minimumPitch: minimumPitch, periodsPerWindow: periodsPerWindow, maxCandidates: 15,
            gaussian: true, silenceThreshold: silenceThreshold, voicingThreshold: 0, octaveCost: 0,
            octaveJumpCost: 0, voicedUnvoicedCost: 0, ceiling: 0.5 / (1.0 / sampleRate))
        let pitch = settings.analyse(y, sampleRate: sampleRate)
        let values = pitch.frames.map { frame -> Double in
            guard let c = frame.first, c.frequency != 0 else { return Track.silent }
            let r = c.strength
            return r <= 1e-15 ? -150.0 : r > 1.0 - 1e-15 ? 150.0 : 10.0 * log10(r / (1.0 - r))
        }
        return Track(x1: pitch.x1, dt: pitch.dt, values: values)
    }
}
