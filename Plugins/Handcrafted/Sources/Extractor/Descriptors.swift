// The descriptor catalogue: every frame-level track and clip-level scalar the extractor can emit, and the code that
// computes the ones a preset asks for from one clip (each intermediate, e.g. the STFT or pYIN, computed once).

import Foundation

/// A frame-level descriptor (one or more channels over time) or a clip-level scalar.
public enum Descriptor: String, CaseIterable, Sendable {
    // STFT-based (librosa parity)
    case mfcc, mel, chroma
    case spectralCentroid = "spectral_centroid", spectralBandwidth = "spectral_bandwidth"
    case spectralRolloff = "spectral_rolloff", spectralFlatness = "spectral_flatness"
    case spectralContrast = "spectral_contrast"
    case zcr, rms
    // eGeMAPS-like spectral and energy descriptors
    case rmsDB = "rms_db", spectralFlux = "spectral_flux", alphaRatio = "alpha_ratio", hammarberg
    // pitch and voice
    case f0, f0Semitone = "f0_semitone", formants, hnr
    // clip-level scalars (functionals do not apply)
    case voicedFraction = "voiced_fraction", jitterLocal = "jitter_local", shimmerLocal = "shimmer_local"
    case speechRate = "speech_rate", voicedSegmentsPerSecond = "voiced_segments_per_s"
    case meanVoicedSegment = "mean_voiced_segment_s", meanUnvoicedSegment = "mean_unvoiced_segment_s"

    /// True for clip-level scalars.
    public var isScalar: Bool {
        switch self {
        case .voicedFraction, .jitterLocal, .shimmerLocal, .speechRate, .voicedSegmentsPerSecond,
             .meanVoicedSegment, .meanUnvoicedSegment: return true
        default: return false
        }
    }

    /// True when the descriptor needs pYIN.
    var needsPitch: Bool {
        switch self {
        case .f0, .f0Semitone, .formants, .hnr, .voicedFraction, .jitterLocal, .shimmerLocal, .speechRate,
             .voicedSegmentsPerSecond, .meanVoicedSegment, .meanUnvoicedSegment: return true
        default: return false
        }
    }

    /// Channel names (without functional suffix).
    func channelNames(_ s: ExtractorSettings) -> [String] {
        switch self {
        case .mfcc: return (1...s.nMFCC).map { "mfcc_\($0)" }
        case .mel: return (1...s.nMels).map { "mel_\($0)" }
        case .chroma: return ["c", "cs", "d", "ds", "e", "f", "fs", "g", "gs", "a", "as", "b"].map { "chroma_\($0)" }
        case .spectralContrast: return (1...7).map { "spectral_contrast_\($0)" }
        case .formants: return ["f1_hz", "f2_hz", "f3_hz"]
        case .f0: return ["f0_hz"]
        case .hnr: return ["hnr_db"]
        default: return [rawValue]
        }
    }
}

/// The numeric settings shared by all descriptors (from the component config).
public struct ExtractorSettings: Sendable {
    /// Sample rate (Hz); EmoKit clips are 16 kHz.
    public var sampleRate = 16000.0
    /// STFT length.
    public var nFFT = 2048
    /// STFT / frame hop.
    public var hop = 512
    /// MFCC count.
    public var nMFCC = 40
    /// Mel bands.
    public var nMels = 128
    /// Roll-off fraction.
    public var rollPercent = 0.85
    /// pYIN settings.
    public var pitch = PYINConfig()
    /// LPC order for formants.
    public var lpcOrder = 18
    /// Formant tracker (voice method `pyin` only).
    public var formantMethod = FormantMethod.lpc
    /// How formants, HNR, jitter, shimmer and speech rate are measured.
    public var voiceMethod = VoiceMethod.pyin

    /// Defaults (the reference study's).
    public init() {}
}

/// Descriptor tracks of one clip: per descriptor, channels × frames, and the frame interval in seconds.
public struct DescriptorTracks {
    /// descriptor → (channels [C][T], dt seconds); scalars have one channel with one value.
    public var tracks: [Descriptor: (values: [[Double]], dt: Double)] = [:]
}

/// Plans (FFT, filter banks, pYIN HMM) for one settings value; `analyze` computes requested descriptors.
/// Not thread-safe (scratch buffers): use one per thread.
public final class DescriptorAnalyzer {
    /// The settings.
    public let settings: ExtractorSettings
    let stft: STFT
    let melBank: MelFilterbank
    let dct: DCT2
    let freqs: [Double]
    let pyin: PYIN
    let voice: VoiceQuality

    /// Builds the plans.
    public init(settings s: ExtractorSettings) throws(FeatureError) {
        settings = s
        stft = try STFT(nFFT: s.nFFT, hop: s.hop)
        melBank = MelFilterbank(sampleRate: s.sampleRate, nFFT: s.nFFT, nMels: s.nMels, fmin: 0, fmax: s.sampleRate / 2)
        dct = DCT2(n: s.nMels, nOut: s.nMFCC)
        freqs = Spectrogram.frequencies(sampleRate: s.sampleRate, nFFT: s.nFFT)
        pyin = try PYIN(sampleRate: s.sampleRate, config: s.pitch)
        voice = try VoiceQuality(sampleRate: s.sampleRate, pitchHop: s.pitch.hopLength, lpcOrder: s.lpcOrder, formantMethod: s.formantMethod)
    }

    /// Splits a frame-major matrix `[T, C]` into channel tracks `[C][T]`.
    static func channels(_ m: [Double], frames: Int, width: Int) -> [[Double]] {
        (0..<width).map { c in (0..<frames).map { m[$0 * width + c] } }
    }

    /// Computes the requested descriptors of `y` (samples in [-1, 1]).
    public func analyze(_ y: [Double], wanted: Set<Descriptor>) -> DescriptorTracks {
        var out = DescriptorTracks()
        let s = settings
        let dt = Double(s.hop) / s.sampleRate
        let needsSTFT: Set<Descriptor> = [.mfcc, .mel, .chroma, .spectralCentroid, .spectralBandwidth, .spectralRolloff,
                                          .spectralFlatness, .spectralContrast, .spectralFlux, .alphaRatio, .hammarberg]
        if !wanted.isDisjoint(with: needsSTFT) {
            let spec = stft(y)
            let t = spec.frames, f = spec.bins
            if wanted.contains(.mel) || wanted.contains(.mfcc) {
                let mel = melBank.apply(spec.power, frames: t)                 // [T, M]
                if wanted.contains(.mel) { out.tracks[.mel] = (Self.channels(mel, frames: t, width: s.nMels), dt) }
                if wanted.contains(.mfcc) {
                    let mfcc = dct.apply(powerToDB(mel), rows: t)             // [T, nMFCC]
                    out.tracks[.mfcc] = (Self.channels(mfcc, frames: t, width: s.nMFCC), dt)
                }
            }
            if wanted.contains(.chroma) {
                let tuning = estimateTuning(power: spec.power, frames: t, bins: f, nFFT: s.nFFT, sampleRate: s.sampleRate)
                let bank = ChromaFilterbank(sampleRate: s.sampleRate, nFFT: s.nFFT, tuning: tuning)
                out.tracks[.chroma] = (Self.channels(bank.apply(spec.power, frames: t), frames: t, width: 12), dt)
            }
            var centroid: [Double] = []
            if wanted.contains(.spectralCentroid) || wanted.contains(.spectralBandwidth) {
                centroid = SpectralShape.centroid(spec.magnitude, frames: t, bins: f, freqs: freqs)
                out.tracks[.spectralCentroid] = ([centroid], dt)
            }
            if wanted.contains(.spectralBandwidth) {
                out.tracks[.spectralBandwidth] = ([SpectralShape.bandwidth(spec.magnitude, frames: t, bins: f, freqs: freqs, centroid: centroid)], dt)
            }
            if wanted.contains(.spectralRolloff) {
                out.tracks[.spectralRolloff] = ([SpectralShape.rolloff(spec.magnitude, frames: t, bins: f, freqs: freqs, percent: s.rollPercent)], dt)
            }
            if wanted.contains(.spectralFlatness) {
                out.tracks[.spectralFlatness] = ([SpectralShape.flatness(spec.magnitude, frames: t, bins: f)], dt)
            }
            if wanted.contains(.spectralContrast) {
                let c = SpectralShape.contrast(spec.magnitude, frames: t, bins: f, freqs: freqs, sampleRate: s.sampleRate)
                out.tracks[.spectralContrast] = (Self.channels(c, frames: t, width: 7), dt)
            }
            if wanted.contains(.spectralFlux) { out.tracks[.spectralFlux] = ([spectralFlux(spec)], dt) }
            if wanted.contains(.alphaRatio) || wanted.contains(.hammarberg) {
                var alpha: [Double] = [], hb: [Double] = []
                for ti in 0..<t {
                    var low = 0.0, high = 0.0, max2k = 0.0, max5k = 0.0
                    for k in 0..<f {
                        let p = spec.power[ti * f + k], fr = freqs[k]
                        if fr >= 50 && fr < 1000 { low += p } else if fr >= 1000 && fr <= 5000 { high += p }
                        if fr <= 2000 { max2k = max(max2k, p) } else if fr <= 5000 { max5k = max(max5k, p) }
                    }
                    alpha.append(10 * log10(max(low, 1e-20) / max(high, 1e-20)))
                    hb.append(10 * log10(max(max2k, 1e-20) / max(max5k, 1e-20)))
                }
                out.tracks[.alphaRatio] = ([alpha], dt)
                out.tracks[.hammarberg] = ([hb], dt)
            }
        }
        if wanted.contains(.zcr) { out.tracks[.zcr] = ([WaveformFrames.zeroCrossingRate(y, frameLength: s.nFFT, hop: s.hop)], dt) }
        if wanted.contains(.rms) || wanted.contains(.rmsDB) {
            let r = WaveformFrames.rms(y, frameLength: s.nFFT, hop: s.hop)
            out.tracks[.rms] = ([r], dt)
            out.tracks[.rmsDB] = ([r.map { 20 * log10(max($0, 1e-10)) }], dt)
        }
        if wanted.contains(where: { $0.needsPitch }) {
            let track = pyin(y)
            let pdt = Double(s.pitch.hopLength) / s.sampleRate
            out.tracks[.f0] = ([track.f0], pdt)
            out.tracks[.f0Semitone] = ([track.f0.map { 12 * log2($0 / 27.5) }], pdt)
            let nFrames = Double(max(track.voiced.count, 1))
            let nVoiced = Double(track.voiced.filter { $0 }.count)
            out.tracks[.voicedFraction] = ([[nVoiced / nFrames]], 0)
            if s.voiceMethod == .praat {
                let wantJS = wanted.contains(.jitterLocal) || wanted.contains(.shimmerLocal)
                if wanted.contains(.formants) || wanted.contains(.hnr) || wantJS || wanted.contains(.speechRate) {
                    let p = PraatVoiceTracks.analyse(y, sampleRate: s.sampleRate, formants: wanted.contains(.formants),
                                                     hnr: wanted.contains(.hnr), jitterShimmer: wantJS,
                                                     speechRate: wanted.contains(.speechRate))
                    if wanted.contains(.formants) { out.tracks[.formants] = (p.formants, p.timeStep) }
                    if wanted.contains(.hnr) { out.tracks[.hnr] = ([p.hnr], p.timeStep) }
                    if wantJS {
                        out.tracks[.jitterLocal] = ([[p.jitter]], 0)
                        out.tracks[.shimmerLocal] = ([[p.shimmer]], 0)
                    }
                    if wanted.contains(.speechRate) { out.tracks[.speechRate] = ([[p.speechRate]], 0) }
                }
            } else {
                if wanted.contains(.formants) {
                    let fm = voice.formants(y, track: track)
                    out.tracks[.formants] = ((0..<3).map { c in fm.map { $0[c] } }, voice.formantTimeStep)
                }
                if wanted.contains(.hnr) { out.tracks[.hnr] = ([voice.hnr(y, track: track)], pdt) }
                if wanted.contains(.jitterLocal) || wanted.contains(.shimmerLocal) {
                    let (j, sh) = voice.jitterShimmer(y, track: track, fmin: s.pitch.fmin, fmax: s.pitch.fmax)
                    out.tracks[.jitterLocal] = ([[j]], 0)
                    out.tracks[.shimmerLocal] = ([[sh]], 0)
                }
                if wanted.contains(.speechRate) { out.tracks[.speechRate] = ([[voice.speechRate(y, track: track)]], 0) }
            }
            // voiced / unvoiced segment statistics
            var voicedRuns: [Int] = [], unvoicedRuns: [Int] = []
            var i = 0
            while i < track.voiced.count {
                var e = i
                while e + 1 < track.voiced.count && track.voiced[e + 1] == track.voiced[i] { e += 1 }
                if track.voiced[i] { voicedRuns.append(e - i + 1) } else { unvoicedRuns.append(e - i + 1) }
                i = e + 1
            }
            let duration = Double(y.count) / s.sampleRate
            func meanLen(_ r: [Int]) -> Double { r.isEmpty ? .nan : Double(r.reduce(0, +)) / Double(r.count) * pdt }
            out.tracks[.voicedSegmentsPerSecond] = ([[duration > 0 ? Double(voicedRuns.count) / duration : .nan]], 0)
            out.tracks[.meanVoicedSegment] = ([[meanLen(voicedRuns)]], 0)
            out.tracks[.meanUnvoicedSegment] = ([[meanLen(unvoicedRuns)]], 0)
        }
        return out
    }

    /// Spectral flux: L2 distance between consecutive L1-normalised magnitude spectra (0 for the first frame).
    func spectralFlux(_ spec: Spectrogram) -> [Double] {
        let f = spec.bins
        var prev = [Double](repeating: 0, count: f)
        var out: [Double] = []
        for t in 0..<spec.frames {
            var sum = 0.0
            for k in 0..<f { sum += spec.magnitude[t * f + k] }
            let l = sum > 0 ? sum : 1
            var d = 0.0
            for k in 0..<f {
                let v = spec.magnitude[t * f + k] / l
                if t > 0 { d += (v - prev[k]) * (v - prev[k]) }
                prev[k] = v
            }
            out.append(d.squareRoot())
        }
        return out
    }
}
