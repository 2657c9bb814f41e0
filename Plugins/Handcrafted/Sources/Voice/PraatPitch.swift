// Praat's "Sound: To Pitch (ac)..." (Praat 6.1.38), the autocorrelation pitch tracker of
//   P. Boersma (1993), "Accurate short-term analysis of the fundamental frequency and the harmonics-to-noise ratio
//   of a sampled sound", IFA Proceedings 17: 97–110,
// as the Praat manual pages "Sound: To Pitch (ac)..." and "Pitch: path finder" describe it. Written from those
// descriptions and checked number by number against praat-parselmouth 0.4.7 (= Praat 6.1.38); Praat's own
// (GPL) source was read to pin down conventions, not copied.
//  1. Frames as Sampled_shortTermAnalysis places them: window = periodsPerWindow / floor seconds,
//     n = 1 + ⌊(duration − window) / step⌋ frames centred on the clip (input sample j lies at (j + 0.5)/sr).
//  2. Per frame (PraatPitch+Frame.swift): subtract the local mean (one longest period to either side), take
//     2·(⌊window·sr⌋/2 − 1) samples, multiply by a Hann window (a Gaussian one for "very accurate" and for
//     harmonicity), autocorrelate through a zero-padded FFT and divide by the window's own autocorrelation
//     (Boersma's eq. 9): r(τ). Every local maximum of r above voicingThreshold / 2 between lag 2 and the longest
//     period is a candidate: parabolic estimate of the lag, strength by windowed-sinc interpolation of r (depth
//     30), the weakest (octave-cost-corrected) candidate replaced when the list is full; then each candidate's
//     lag and strength are refined by Brent's maximisation of the sinc-interpolated r (depth 70; 700 for the
//     Gaussian window and above 0.3·sr). Strengths above 1 are reflected (1/r). The frame's "intensity" is its
//     local absolute peak (half a longest period around the centre) over the clip's global peak.
//  3. Path finder (PraatPitch+Path.swift): Viterbi through the candidates with the unvoiced candidate's strength
//     voicingThreshold + max(0, 2 − intensity·(1 + voicingThreshold)/silenceThreshold), voiced strengths minus
//     octaveCost·log2(ceiling/f), transition costs octaveJumpCost·|log2(f1/f2)| and voicedUnvoicedCost (both
//     times 0.01 s / step).

import Foundation

/// Pitch contour exactly as Praat's `Sound: To Pitch (ac)...` computes it, with Praat's defaults.
public struct PraatPitch: Sendable {
    /// Time step between frames (s); 0 = Praat's automatic periodsPerWindow / pitchFloor / 4.
    public var timeStep = 0.01
    /// Pitch floor (Hz): sets the window (periodsPerWindow / floor) and the longest lag.
    public var pitchFloor = 75.0
    /// Pitch ceiling (Hz): candidates at or above it count as unvoiced in the path finder.
    public var pitchCeiling = 600.0
    /// Maximum number of candidates per frame (the unvoiced one included).
    public var maxCandidates = 15
    /// Praat's "very accurate": a Gaussian window twice as long instead of the Hann window.
    public var veryAccurate = false
    /// Window length in periods of the pitch floor.
    public var periodsPerWindow = 3.0
    /// Frames whose local peak is below this fraction of the global peak tend to be unvoiced.
    public var silenceThreshold = 0.03
    /// Strength a voiced candidate needs to beat the unvoiced one.
    public var voicingThreshold = 0.45
    /// Preference for higher frequencies, per octave.
    public var octaveCost = 0.01
    /// Cost of a one-octave jump between frames.
    public var octaveJumpCost = 0.35
    /// Cost of a voiced/unvoiced transition.
    public var voicedUnvoicedCost = 0.14

    /// Praat's defaults with a 10 ms step, 75–600 Hz (the peer pipeline's `to_pitch` call).
    public init() {}

    /// The pitch contour of `y` (sampled at `sampleRate` Hz): the chosen candidate's frequency per frame, 0 where
    /// unvoiced. Empty when the clip is shorter than one window.
    public func track(_ y: [Double], sampleRate: Double) -> PraatPitchTrack {
        analyse(y, sampleRate: sampleRate).track
    }

    /// Every frame's candidates after the path finder (the chosen one first), as Praat's Pitch object holds them.
    public func analyse(_ y: [Double], sampleRate: Double) -> PraatPitchCandidates {
        let settings = PraatPitchSettings(
            timeStep: timeStep, minimumPitch: pitchFloor, periodsPerWindow: periodsPerWindow,
            maxCandidates: maxCandidates, gaussian: veryAccurate, silenceThreshold: silenceThreshold,
            voicingThreshold: voicingThreshold, octaveCost: octaveCost, octaveJumpCost: octaveJumpCost,
            voicedUnvoicedCost: voicedUnvoicedCost, ceiling: pitchCeiling)
        return settings.analyse(y, sampleRate: sampleRate)
    }
}

/// Every frame's pitch candidates after Praat's path finder, the chosen candidate first in each frame.
public struct PraatPitchCandidates: Sendable {
    /// One candidate: frequency (Hz; 0 = the unvoiced candidate) and strength (normalised autocorrelation).
    public struct Candidate: Sendable, Equatable {
        /// Frequency (Hz); 0 for the unvoiced candidate.
        public var frequency: Double
        /// Strength: the interpolated normalised autocorrelation at the candidate's lag, in [0, 1].
        public var strength: Double
    }
    /// Time of the first frame's centre (s).
    public var x1: Double
    /// Time step between frames (s).
    public var dt: Double
    /// Frequencies at or above this are unvoiced (Hz).
    public var ceiling: Double
    /// Candidates per frame, the path finder's choice first. // [frames][candidates]
    public var frames: [[Candidate]]

    /// The chosen candidate's frequency per frame (0 = unvoiced), as parselmouth's `selected_array` gives it.
    public var track: PraatPitchTrack {
        PraatPitchTrack(x1: x1, dt: dt, f0: frames.map { $0.first?.frequency ?? 0 })
    }

    /// The chosen candidate's strength per frame.
    public var strengths: [Double] { frames.map { $0.first?.strength ?? 0 } }
}

/// All parameters of Praat's Sound_to_Pitch_any for the autocorrelation method (pitch and harmonicity share it).
struct PraatPitchSettings {
    var timeStep: Double
    var minimumPitch: Double
    var periodsPerWindow: Double
    var maxCandidates: Int
    /// Gaussian window (twice as long, finer interpolation) instead of Hann.
    var gaussian: Bool
    var silenceThreshold: Double
    var voicingThreshold: Double
    var octaveCost: Double
    var octaveJumpCost: Double
    var voicedUnvoicedCost: Double
    var ceiling: Double

    /// Frames, per-frame candidates and the path finder; no frames when the clip is too short for one window.
    func analyse(_ y: [Double], sampleRate: Double) -> PraatPitchCandidates {
        let dx = 1.0 / sampleRate
        let nx = y.count
        var ceiling = self.ceiling
        let empty = PraatPitchCandidates(x1: 0, dt: timeStep, ceiling: ceiling, frames: [])
        guard nx > 0, sampleRate > 0, minimumPitch > 0 else { return empty }
        var maxnCandidates = max(maxCandidates, 2)          // the unvoiced candidate and at least one voiced
        if Double(maxnCandidates) < ceiling / minimumPitch { maxnCandidates = Int(floor(ceiling / minimumPitch)) }
        var dt = timeStep
        if dt <= 0 { dt = periodsPerWindow / minimumPitch / 4.0 }
        let periods = gaussian ? 2 * periodsPerWindow : periodsPerWindow
        let interpolationDepth = gaussian ? 0.25 : 0.5
        let duration = dx * Double(nx)
        guard minimumPitch >= periods / duration else { return empty }
        let nsampPeriod = Int(floor(1.0 / dx / minimumPitch))
        let halfnsampPeriod = nsampPeriod / 2 + 1
        ceiling = min(ceiling, 0.5 / dx)
        let dtWindow = periods / minimumPitch
        let halfnsampWindow = Int(floor(dtWindow / dx)) / 2 - 1
        guard halfnsampWindow >= 2 else { return empty }
        let nsampWindow = halfnsampWindow * 2
        let maximumLag = min(Int(floor(Double(nsampWindow) / periods)) + 2, nsampWindow)
        // Sampled_shortTermAnalysis
        guard dtWindow <= duration else { return empty }
        let nFrames = Int(floor((duration - dtWindow) / dt)) + 1
        guard nFrames >= 1 else { return empty }
        let x1 = 0.5 * dx
        let midTime = x1 - 0.5 * dx + 0.5 * duration
        let t1 = midTime - 0.5 * (Double(nFrames) * dt) + 0.5 * dt
        var result = PraatPitchCandidates(x1: t1, dt: dt, ceiling: ceiling, frames: [])
        // global peak of |x − mean|
        var sum = 0.0
        for v in y { sum += v }
        let mean = sum / Double(nx)
        var globalPeak = 0.0
        for v in y { globalPeak = max(globalPeak, abs(v - mean)) }
        guard globalPeak > 0 else {
            result.frames = [[PraatPitchCandidates.Candidate]](
                repeating: [.init(frequency: 0, strength: 0)], count: nFrames)
            return result
        }
        var nsampFFT = 1
        while Double(nsampFFT) < Double(nsampWindow) * (1 + interpolationDepth) { nsampFFT *= 2 }
        guard let analyzer = PraatPitchFrameAnalyzer(
            samples: y, dx: dx, minimumPitch: minimumPitch, maxnCandidates: maxnCandidates, gaussian: gaussian,
            voicingThreshold: voicingThreshold, octaveCost: octaveCost, nsampWindow: nsampWindow,
            halfnsampWindow: halfnsampWindow, maximumLag: maximumLag, nsampFFT: max(nsampFFT, 4),
            nsampPeriod: nsampPeriod, halfnsampPeriod: halfnsampPeriod,
            brentIxmax: Int(floor(Double(nsampWindow) * interpolationDepth)), globalPeak: globalPeak)
        else { return empty }
        var frames: [[PraatPitchCandidates.Candidate]] = []
        var intensities: [Double] = []
        frames.reserveCapacity(nFrames)
        intensities.reserveCapacity(nFrames)
        for f in 0..<nFrames {
            let (intensity, candidates) = analyzer.candidates(at: t1 + Double(f) * dt)
            frames.append(candidates)
            intensities.append(intensity)
        }
        result.frames = PraatPitchPath(settings: self, ceiling: ceiling, dt: dt).choose(frames, intensities: intensities)
        return result
    }
}
