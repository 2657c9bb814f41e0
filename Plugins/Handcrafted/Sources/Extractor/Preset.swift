// Named feature sets. `study-a` is the reference study's ~60 handcrafted features; `egemaps-like` covers the
// descriptor families of eGeMAPS v02 (Eyben et al. 2016) that can be computed from the descriptors here;
// `egemaps-v02` is openSMILE 3.0's eGeMAPSv02 itself (Sources/EGeMAPS), its 88 functionals with openSMILE's names.

/// One preset entry: a descriptor, the functionals it gets when the config does not override them, and how many
/// of its channels to keep (nil: all).
public struct PresetEntry: Sendable {
    /// The descriptor.
    public var descriptor: Descriptor
    /// Functionals used when the config's `functionals` is null.
    public var functionals: [Functional]
    /// Keep only the first `maxChannels` channels (eGeMAPS uses MFCC 1–4).
    public var maxChannels: Int?
}

/// The named presets.
public enum Preset: String, CaseIterable, Sendable {
    /// 40 MFCC, 12 chroma, centroid, roll-off, ZCR (means), f0 mean/std, voiced fraction, F1–F3, HNR, jitter,
    /// shimmer, speech rate.
    case studyA = "study-a"
    /// eGeMAPS-like families: pitch, loudness proxy, jitter/shimmer, HNR, formants, alpha ratio, Hammarberg index,
    /// spectral flux, MFCC 1–4, temporal (voiced segment) features.
    case egemapsLike = "egemaps-like"
    /// openSMILE 3.0's eGeMAPSv02 functionals (88, openSMILE's names and order) computed as openSMILE computes
    /// them (`EGeMAPSv02`); not built from the descriptor catalogue, so `descriptors` and `functionals` do not apply.
    case egemapsV02 = "egemaps-v02"
    /// Exactly the config's `descriptors` with the config's `functionals` (default mean).
    case custom

    /// The entries of this preset.
    public func entries(custom descriptors: [Descriptor]) -> [PresetEntry] {
        func e(_ d: Descriptor, _ f: [Functional] = [.mean], _ m: Int? = nil) -> PresetEntry {
            PresetEntry(descriptor: d, functionals: f, maxChannels: m)
        }
        switch self {
        case .studyA:
            return [e(.mfcc), e(.chroma), e(.spectralCentroid), e(.spectralRolloff), e(.zcr),
                    e(.f0, [.mean, .std]), e(.voicedFraction), e(.formants), e(.hnr),
                    e(.jitterLocal), e(.shimmerLocal), e(.speechRate)]
        case .egemapsLike:
            let dist: [Functional] = [.mean, .std, .p20, .p50, .p80, .range]
            return [e(.f0Semitone, dist + [.slope]), e(.rmsDB, dist + [.slope]), e(.jitterLocal), e(.shimmerLocal),
                    e(.hnr, [.mean, .std]), e(.formants, [.mean, .std]), e(.alphaRatio, [.mean, .std]),
                    e(.hammarberg, [.mean, .std]), e(.spectralFlux, [.mean, .std]), e(.mfcc, [.mean, .std], 4),
                    e(.voicedFraction), e(.speechRate), e(.voicedSegmentsPerSecond), e(.meanVoicedSegment),
                    e(.meanUnvoicedSegment)]
        case .custom:
            return descriptors.map { e($0) }
        case .egemapsV02:
            return []
        }
    }
}
