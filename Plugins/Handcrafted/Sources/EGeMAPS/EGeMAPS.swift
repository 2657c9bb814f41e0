// The `egemaps-v02` feature set: openSMILE 3.0's eGeMAPSv02 (Eyben et al., IEEE TAC 2016, as shipped in openSMILE's
// config/egemaps/v02/eGeMAPSv02.conf), its 25 low-level descriptors frame by frame and its 88 functionals, with
// openSMILE's names and order. Read top to bottom: names, the LLD frames, then the functionals built from them.
//
//   samples ──EGeMAPSSpectral (20 ms Hamming, 512-point |FFT|)──▶ loudness, alpha ratio, Hammarberg, slopes, flux,
//              MFCC 1–4, frame energy
//   LLDs ──sma3 / sma3nz smoothing──▶ the `_sma3` / `_sma3nz` tracks ──SmileFunctionals──▶ 88 values
//
// The F0-dependent descriptors (F0, jitter, shimmer, HNR, H1−H2, H1−A3, formants) and the voiced/unvoiced split need
// openSMILE's SHS pitch tracker with Viterbi smoothing; until that is in place they are NaN (documented in the
// plugin README and NOTES-egemaps.md), never a number that would pass for openSMILE's.

import Foundation

/// openSMILE's eGeMAPS v02 feature set: 25 LLDs per 10 ms frame and 88 functionals per clip.
public final class EGeMAPSv02 {
    /// The 25 LLD names, in openSMILE's order (its `lld` level).
    public static let lldNames: [String] = [
        "Loudness_sma3", "alphaRatio_sma3", "hammarbergIndex_sma3", "slope0-500_sma3", "slope500-1500_sma3",
        "spectralFlux_sma3", "mfcc1_sma3", "mfcc2_sma3", "mfcc3_sma3", "mfcc4_sma3",
        "F0semitoneFrom27.5Hz_sma3nz", "jitterLocal_sma3nz", "shimmerLocaldB_sma3nz", "HNRdBACF_sma3nz",
        "logRelF0-H1-H2_sma3nz", "logRelF0-H1-A3_sma3nz",
        "F1frequency_sma3nz", "F1bandwidth_sma3nz", "F1amplitudeLogRelF0_sma3nz",
        "F2frequency_sma3nz", "F2bandwidth_sma3nz", "F2amplitudeLogRelF0_sma3nz",
        "F3frequency_sma3nz", "F3bandwidth_sma3nz", "F3amplitudeLogRelF0_sma3nz",
    ]

    /// The 88 functional names, in openSMILE's order (its `func` level).
    public static let functionalNames: [String] = {
        let dist = ["amean", "stddevNorm", "percentile20.0", "percentile50.0", "percentile80.0", "pctlrange0-2",
                    "meanRisingSlope", "stddevRisingSlope", "meanFallingSlope", "stddevFallingSlope"]
        var n = dist.map { "F0semitoneFrom27.5Hz_sma3nz_\($0)" } + dist.map { "loudness_sma3_\($0)" }
        for f in ["spectralFlux_sma3", "mfcc1_sma3", "mfcc2_sma3", "mfcc3_sma3", "mfcc4_sma3"] + voicedNames
            + ["alphaRatioV_sma3nz", "hammarbergIndexV_sma3nz", "slopeV0-500_sma3nz", "slopeV500-1500_sma3nz",
               "spectralFluxV_sma3nz", "mfcc1V_sma3nz", "mfcc2V_sma3nz", "mfcc3V_sma3nz", "mfcc4V_sma3nz"] {
            n += ["\(f)_amean", "\(f)_stddevNorm"]
        }
        n += ["alphaRatioUV_sma3nz", "hammarbergIndexUV_sma3nz", "slopeUV0-500_sma3nz", "slopeUV500-1500_sma3nz",
              "spectralFluxUV_sma3nz"].map { "\($0)_amean" }
        n += ["loudnessPeaksPerSec", "VoicedSegmentsPerSec", "MeanVoicedSegmentLengthSec",
              "StddevVoicedSegmentLengthSec", "MeanUnvoicedSegmentLength", "StddevUnvoicedSegmentLength",
              "equivalentSoundLevel_dBp"]
        return n
    }()

    /// The 14 voice-quality and formant LLDs whose functionals run over voiced frames only.
    static let voicedNames = ["jitterLocal_sma3nz", "shimmerLocaldB_sma3nz", "HNRdBACF_sma3nz",
                              "logRelF0-H1-H2_sma3nz", "logRelF0-H1-A3_sma3nz",
                              "F1frequency_sma3nz", "F1bandwidth_sma3nz", "F1amplitudeLogRelF0_sma3nz",
                              "F2frequency_sma3nz", "F2bandwidth_sma3nz", "F2amplitudeLogRelF0_sma3nz",
                              "F3frequency_sma3nz", "F3bandwidth_sma3nz", "F3amplitudeLogRelF0_sma3nz"]

    /// Names of the functionals this implementation computes to openSMILE's numbers (the rest are NaN for now).
    public static let matchedFunctionals: Set<String> = {
        var s = Set(functionalNames.filter { $0.hasPrefix("loudness_sma3_") })
        for f in ["spectralFlux_sma3", "mfcc1_sma3", "mfcc2_sma3", "mfcc3_sma3", "mfcc4_sma3"] {
            s.insert("\(f)_amean"); s.insert("\(f)_stddevNorm")
        }
        s.insert("loudnessPeaksPerSec"); s.insert("equivalentSoundLevel_dBp")
        return s
    }()

    /// Names of the LLDs this implementation computes to openSMILE's numbers (the rest are NaN for now).
    public static let matchedLLDs: Set<String> = Set(lldNames.prefix(10))

    private let spectral: EGeMAPSSpectral
    private let lock = NSLock()

    /// Creates the analyser (FFT plans and filterbanks).
    public init() throws(FeatureError) { spectral = try EGeMAPSSpectral() }

    /// One clip's LLDs and the per-level tracks the functionals need.
    struct Tracks {
        /// Spectral LLDs after `sma3`, one value per 20 ms frame: [10][T20].
        var smoothedSpectral: [[Double]]
        /// Unwindowed frame energies [T20].
        var energy: [Double]
        /// openSMILE's `lld` row count: the 60 ms pitch frames + 1, at most the 20 ms frames.
        var lldRows: Int
    }

    func tracks(_ y: [Double]) -> Tracks {
        lock.lock()
        let s = spectral.analyze(y)
        lock.unlock()
        let raw = [s.loudness, s.alphaRatio, s.hammarberg, s.slope0500, s.slope5001500, s.flux] + s.mfcc
        let t20 = s.loudness.count
        let t60 = y.count < 960 ? 0 : (y.count - 960) / 160 + 1
        return Tracks(smoothedSpectral: raw.map(SmileFunctionals.sma3), energy: s.energy, lldRows: min(t20, t60 + 1))
    }

    /// The 25 LLDs frame by frame, `[T][25]` in `lldNames` order (10 ms hop, frame t starts at sample 160·t);
    /// descriptors not yet matched to openSMILE (see `matchedLLDs`) are NaN.
    public func lowLevelDescriptors(_ samples: [Float]) -> [[Double]] {
        let tr = tracks(samples.map { Double($0) })
        return (0..<tr.lldRows).map { t in
            tr.smoothedSpectral.map { $0[t] } + [Double](repeating: .nan, count: 15)
        }
    }

    /// The 88 functionals in `functionalNames` order; those not yet matched (see `matchedFunctionals`) are NaN.
    public func functionals(_ samples: [Float]) -> [Double] {
        let tr = tracks(samples.map { Double($0) })
        var v = [String: Double]()
        let loud = tr.smoothedSpectral[0]
        let (m, sd) = SmileFunctionals.meanStddevNorm(loud)
        let pc = SmileFunctionals.percentiles(loud)
        let sl = SmileFunctionals.slopes(loud)
        for (k, x) in zip(["amean", "stddevNorm", "percentile20.0", "percentile50.0", "percentile80.0",
                            "pctlrange0-2", "meanRisingSlope", "stddevRisingSlope", "meanFallingSlope",
                            "stddevFallingSlope"], [m, sd] + pc + sl) {
            v["loudness_sma3_\(k)"] = x
        }
        for (i, f) in ["spectralFlux_sma3", "mfcc1_sma3", "mfcc2_sma3", "mfcc3_sma3", "mfcc4_sma3"].enumerated() {
            let (a, s) = SmileFunctionals.meanStddevNorm(tr.smoothedSpectral[5 + i])
            v["\(f)_amean"] = a; v["\(f)_stddevNorm"] = s
        }
        v["loudnessPeaksPerSec"] = SmileFunctionals.peaksPerSecond(loud)
        // equivalentSoundLevel: 10·log10 of the mean frame energy (cVectorOperation dBp, floor 1e-12).
        let meanEnergy = tr.energy.isEmpty ? 0 : tr.energy.reduce(0, +) / Double(tr.energy.count)
        v["equivalentSoundLevel_dBp"] = 10 * log10(max(meanEnergy, 1e-12))
        return Self.functionalNames.map { v[$0] ?? .nan }
    }
}
