// The `egemaps-v02` feature set: openSMILE 3.0's eGeMAPSv02 (Eyben et al., IEEE TAC 2016, as shipped in openSMILE's
// config/egemaps/v02/eGeMAPSv02.conf), its 25 low-level descriptors frame by frame and its 88 functionals, with
// openSMILE's names and order. Read top to bottom: names, the LLD frames, then the functionals built from them.
//
//   samples ──EGeMAPSSpectral (20 ms Hamming, 512-point |FFT|)──▶ loudness, alpha ratio, Hammarberg, slopes, flux,
//              MFCC 1–4, frame energy
//   LLDs ──sma3 / sma3nz smoothing──▶ the `_sma3` / `_sma3nz` tracks ──SmileFunctionals──▶ 88 values
//
//   samples ──EGeMAPSPitch (60 ms Gaussian, SHS + Viterbi, energy gate)──▶ F0 in semitones re 27.5 Hz
//   F0 > 0 splits the spectral LLDs into voiced (`…V_sma3nz`) and unvoiced (`…UV_sma3nz`) copies.
//
//   the 20 ms spectrum ──EGeMAPSFormants (11 kHz inverse DFT, LPC 11, roots)──▶ F1–F3 frequency and bandwidth
//   the 60 ms spectrum + F0 + F1–F3 ──EGeMAPSHarmonics──▶ HNR, H1−H2, H1−A3, F1–F3 amplitude re H1
//   samples + F0 ──EGeMAPSJitter (period-by-period waveform walk)──▶ jitter (local), shimmer (local, dB)
//
// Which of these match openSMILE, and within what, is in the plugin README and docs/history.md (session 11, eGeMAPS) (the formants and
// what depends on them, and hammarbergIndexUV, do not match yet).

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

    /// Names of the functionals this implementation computes (now all 88; a descriptor added later stays NaN until
    /// it is implemented); docs/history.md (session 11) and the parity test say which of them match openSMILE and within what.
    public static let implementedFunctionals: Set<String> = Set(functionalNames.filter { name in
        !voicedNames.filter { !formantNames.contains($0) && !harmonicNames.contains($0) && !jitterNames.contains($0) }
            .contains { name.hasPrefix($0 + "_") }
    })

    /// Names of the LLDs this implementation computes (now all 25).
    public static let implementedLLDs: Set<String> = Set(lldNames.prefix(13)).union(formantNames).union(harmonicNames)

    /// The cPitchJitter LLDs.
    static let jitterNames = ["jitterLocal_sma3nz", "shimmerLocaldB_sma3nz"]

    /// The cHarmonics LLDs, in the order `EGeMAPSHarmonics.Frame` holds them.
    static let harmonicNames = ["HNRdBACF_sma3nz", "logRelF0-H1-H2_sma3nz", "logRelF0-H1-A3_sma3nz",
                                "F1amplitudeLogRelF0_sma3nz", "F2amplitudeLogRelF0_sma3nz", "F3amplitudeLogRelF0_sma3nz"]

    /// The formant frequency and bandwidth LLDs.
    static let formantNames = ["F1frequency_sma3nz", "F1bandwidth_sma3nz", "F2frequency_sma3nz", "F2bandwidth_sma3nz",
                               "F3frequency_sma3nz", "F3bandwidth_sma3nz"]

    private let spectral: EGeMAPSSpectral
    private let pitch: EGeMAPSPitch
    private let lock = NSLock()

    /// Creates the analyser (FFT plans, filterbanks, spline tables).
    public init() throws(FeatureError) {
        spectral = try EGeMAPSSpectral()
        pitch = try EGeMAPSPitch()
    }

    /// One clip's LLDs and the per-level tracks the functionals need.
    struct Tracks {
        /// Spectral LLDs before smoothing, one value per 20 ms frame: [10][T20].
        var rawSpectral: [[Double]]
        /// The same after `sma3` [10][T20].
        var smoothedSpectral: [[Double]]
        /// Unwindowed 20 ms frame energies [T20].
        var energy: [Double]
        /// Gated F0 in semitones re 27.5 Hz per 60 ms frame, 0 = unvoiced [T60] (openSMILE's `F0finalLog` after
        /// its energy selector), and its `sma3nz` [T60].
        var f0: [Double]
        var f0Smoothed: [Double]
        /// The last F0 frame the Viterbi smoother had decided when the input ended (openSMILE's functionals of
        /// F0-joined levels see frames 0...converged only).
        var converged: Int
        /// F1, F1 bw, F2, F2 bw, F3, F3 bw per 20 ms frame, unsmoothed [6][T20] and after `sma3nz` [6][T20].
        var rawFormants: [[Double]]
        var formants: [[Double]]
        /// HNR, H1−H2, H1−A3, F1–F3 amplitude per 60 ms frame, unsmoothed [6][T60] and as the LLD shows them.
        var rawHarmonics: [[Double]]
        var harmonics: [[Double]]
        /// Jitter and shimmer (dB) per 60 ms frame, unsmoothed [2][T60] and as the LLD shows them.
        var rawJitter: [[Double]]
        var jitter: [[Double]]
        /// openSMILE's `lld` row count: the 60 ms pitch frames + 1, at most the 20 ms frames.
        var lldRows: Int
    }

    /// What openSMILE analyses: PyPI opensmile hands SMILExtract int16 samples (trunc(x · 32768)) and SMILExtract
    /// reads them back as value / 32767, so 16-bit audio arrives scaled by 32768/32767.
    static func smileInput(_ samples: [Float]) -> [Double] {
        samples.map { x in
            let q = min(max((Double(x) * 32768).rounded(.towardZero), -32768), 32767)
            return q / 32767
        }
    }

    func tracks(_ y: [Double]) -> Tracks {
        lock.lock()
        let s = spectral.analyze(y)
        let p = pitch.analyze(y)
        lock.unlock()
        let raw = [s.loudness, s.alphaRatio, s.hammarberg, s.slope0500, s.slope5001500, s.flux] + s.mfcc
        let t20 = s.loudness.count, t60 = p.semitone.count
        var fr: [[Double]] = []
        for i in 0..<3 { fr.append(s.formantFreq[i]); fr.append(s.formantBandwidth[i]) }
        var hm = [[Double]](repeating: [], count: 6)
        for t in 0..<t60 {
            let f0 = p.semitone[t] > 0 ? p.hz[t] : 0
            let fmt = (0..<3).map { t < s.formantFreq[$0].count ? s.formantFreq[$0][t] : 0 }
            let h = EGeMAPSHarmonics.frame(magnitude: p.magnitude[t], acf: p.acf[t], f0: f0, formants: fmt)
            for (k, v) in ([h.hnr, h.h1h2, h.h1a3] + h.amplitude).enumerated() { hm[k].append(v) }
        }
        let js = EGeMAPSJitter.analyze(y.map { Float($0) }, f0: (0..<t60).map { p.semitone[$0] > 0 ? p.hz[$0] : 0 },
                                       converged: p.converged)
        return Tracks(rawSpectral: raw, smoothedSpectral: raw.map(SmileFunctionals.sma3), energy: s.energy,
                      f0: p.semitone, f0Smoothed: SmileFunctionals.sma3nzLagged(p.semitone, converged: p.converged),
                      converged: p.converged, rawFormants: fr,
                      formants: fr.map { SmileFunctionals.sma3nzLagged(Array($0.prefix(t60)), converged: p.converged) },
                      rawHarmonics: hm, harmonics: hm.map { SmileFunctionals.sma3nzLagged($0, converged: p.converged) },
                      rawJitter: [js.jitter, js.shimmer],
                      jitter: [js.jitter, js.shimmer].map { SmileFunctionals.sma3nzLagged($0, converged: p.converged) },
                      lldRows: min(t20, t60 + 1))
    }

    /// The 25 LLDs frame by frame, `[T][25]` in `lldNames` order (10 ms hop, frame t starts at sample 160·t);
    /// rows past the pitch frames hold openSMILE's unvoiced values.
    public func lowLevelDescriptors(_ samples: [Float]) -> [[Double]] {
        let tr = tracks(Self.smileInput(samples))
        return (0..<tr.lldRows).map { t in
            let pitched = t < tr.f0Smoothed.count
            let fm = tr.formants.map { pitched ? $0[t] : 0 }
            // Past the pitch frames openSMILE's row holds the unvoiced values: 0, and −201 for the amplitudes.
            let h = tr.harmonics.enumerated().map { k, x in pitched ? x[t] : (k >= 3 ? -201 : 0) }
            let j = tr.jitter.map { pitched ? $0[t] : 0 }
            return tr.smoothedSpectral.map { $0[t] } + [pitched ? tr.f0Smoothed[t] : 0, j[0], j[1]]
                + [h[0], h[1], h[2]]
                + [fm[0], fm[1], h[3], fm[2], fm[3], h[4], fm[4], fm[5], h[5]]
        }
    }

    /// The 88 functionals in `functionalNames` order.
    public func functionals(_ samples: [Float]) -> [Double] {
        let tr = tracks(Self.smileInput(samples))
        var v = [String: Double]()
        let loud = tr.smoothedSpectral[0]
        let (m, sd) = SmileFunctionals.meanStddevNorm(loud)
        let pc = SmileFunctionals.percentiles(loud)
        let sl = SmileFunctionals.slopes(loud)
        let dist = ["amean", "stddevNorm", "percentile20.0", "percentile50.0", "percentile80.0", "pctlrange0-2",
                    "meanRisingSlope", "stddevRisingSlope", "meanFallingSlope", "stddevFallingSlope"]
        for (k, x) in zip(dist, [m, sd] + pc + sl) {
            v["loudness_sma3_\(k)"] = x
        }
        for (i, f) in ["spectralFlux_sma3", "mfcc1_sma3", "mfcc2_sma3", "mfcc3_sma3", "mfcc4_sma3"].enumerated() {
            let (a, s) = SmileFunctionals.meanStddevNorm(tr.smoothedSpectral[5 + i])
            v["\(f)_amean"] = a; v["\(f)_stddevNorm"] = s
        }
        v["loudnessPeaksPerSec"] = SmileFunctionals.peaksPerSecond(loud)
        // The levels joined with the Viterbi-lagged F0 reach the functionals up to the last converged frame only.
        let kc = tr.converged
        let f0 = SmileFunctionals.sma3nzForFunctionals(tr.f0, converged: kc)
        let f0nz = SmileFunctionals.input(f0, nonZero: true)
        let (fm, fsd) = SmileFunctionals.meanStddevNorm(f0nz)
        for (k, x) in zip(dist, [fm, fsd] + SmileFunctionals.percentiles(f0nz) + SmileFunctionals.slopes(f0nz)) {
            v["F0semitoneFrom27.5Hz_sma3nz_\(k)"] = x
        }
        let seg = SmileFunctionals.segments(f0, nonZero: true), pause = SmileFunctionals.segments(f0, nonZero: false)
        v["VoicedSegmentsPerSec"] = seg[0]; v["MeanVoicedSegmentLengthSec"] = seg[1]
        v["StddevVoicedSegmentLengthSec"] = seg[2]
        v["MeanUnvoicedSegmentLength"] = pause[1]; v["StddevUnvoicedSegmentLength"] = pause[2]
        // Formants over voiced frames (cValbasedSelector on the unsmoothed F0, then sma3nz).
        for (k, name) in Self.formantNames.enumerated() {
            let raw = tr.rawFormants[k]
            let sel = (0..<tr.f0.count).map { t in t < raw.count && tr.f0[t] > 1e-6 ? raw[t] : 0 }
            let xs = SmileFunctionals.input(SmileFunctionals.sma3nzTruncated(sel, converged: kc), nonZero: true)
            let (a, sd) = SmileFunctionals.meanStddevNorm(xs)
            v["\(name)_amean"] = a; v["\(name)_stddevNorm"] = sd
        }
        for (k, name) in Self.jitterNames.enumerated() {
            let xs = SmileFunctionals.input(SmileFunctionals.sma3nzTruncated(tr.rawJitter[k], converged: kc), nonZero: true)
            let (a, sd) = SmileFunctionals.meanStddevNorm(xs)
            v["\(name)_amean"] = a; v["\(name)_stddevNorm"] = sd
        }
        // Harmonics: the cHarmonics level as it is (0 where F0 = 0; the amplitudes are −201 there and count).
        for (k, name) in Self.harmonicNames.enumerated() {
            let xs = SmileFunctionals.input(SmileFunctionals.sma3nzTruncated(tr.rawHarmonics[k], converged: kc), nonZero: true)
            let (a, sd) = SmileFunctionals.meanStddevNorm(xs)
            v["\(name)_amean"] = a; v["\(name)_stddevNorm"] = sd
        }
        // Voiced / unvoiced spectral sets: the unsmoothed 20 ms value where F0 > 1e-6 (resp. not), 0 elsewhere,
        // then sma3nz, then the functional over the non-zero frames.
        let spectralNames = ["alphaRatio", "hammarbergIndex", "slope0-500", "slope500-1500", "spectralFlux",
                             "mfcc1", "mfcc2", "mfcc3", "mfcc4"]
        for (k, base) in spectralNames.enumerated() {
            let rawTrack = tr.rawSpectral[k + 1]
            for voiced in [true, false] where voiced || k < 5 {
                let sel = (0..<tr.f0.count).map { t -> Double in
                    guard t < rawTrack.count else { return 0 }
                    return (tr.f0[t] > 1e-6) == voiced ? rawTrack[t] : 0
                }
                let xs = SmileFunctionals.input(SmileFunctionals.sma3nzForFunctionals(sel, converged: kc), nonZero: true)
                let (a, sd) = SmileFunctionals.meanStddevNorm(xs)
                let name = Self.splitName(base, voiced: voiced)
                v["\(name)_amean"] = a
                if voiced { v["\(name)_stddevNorm"] = sd }
            }
        }
        // equivalentSoundLevel: 10·log10 of the mean frame energy (cVectorOperation dBp, floor 1e-12).
        let meanEnergy = tr.energy.isEmpty ? 0 : tr.energy.reduce(0, +) / Double(tr.energy.count)
        v["equivalentSoundLevel_dBp"] = 10 * log10(max(meanEnergy, 1e-12))
        return Self.functionalNames.map { v[$0] ?? .nan }
    }

    /// openSMILE's names for the voiced (`V`) / unvoiced (`UV`) copies: `alphaRatioV`, `slopeV0-500`, `mfcc1V`.
    static func splitName(_ base: String, voiced: Bool) -> String {
        let tag = voiced ? "V" : "UV"
        if base.hasPrefix("slope") { return "slope" + tag + base.dropFirst(5) + "_sma3nz" }
        return base + tag + "_sma3nz"
    }
}
