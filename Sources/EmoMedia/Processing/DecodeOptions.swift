/// What to do to decoded audio before it becomes a clip. Part of the clip cache key (`cacheKey`).
///
/// Order of operations: decode → downmix (mean of channels) → resample → trim silence → crop to `duration`
/// → per-utterance mean-variance normalisation (over the real samples only) → zero-pad to `duration`.
public struct DecodeOptions: Sendable, Equatable, Codable {
    /// Where a fixed-length window sits in a longer clip, and where padding goes in a shorter one.
    public enum Alignment: String, Sendable, Equatable, Codable, CaseIterable {
        /// Keep the start; pad at the end.
        case start
        /// Keep the centre; pad equally on both sides.
        case centre
        /// Keep the window with the most energy; pad at the end.
        case energy
    }

    /// Output sample rate (16 kHz everywhere in EmoKit).
    public var sampleRate: Int = 16_000
    /// Fixed length in seconds (crop or zero-pad), or nil to keep the natural length.
    public var duration: Double? = nil
    /// How a fixed length is applied.
    public var alignment: Alignment = .start
    /// Per-utterance mean-variance normalisation: (x − mean) / sqrt(var + 1e-7), as Hugging Face's
    /// `Wav2Vec2FeatureExtractor(do_normalize=True)`.
    public var normalise: Bool = false
    /// Trim leading and trailing frames quieter than this many dB below the loudest frame (librosa.effects.trim
    /// convention: 2048-sample frames, 512 hop, at the output rate), or nil to keep silence.
    public var trimSilenceTopDB: Double? = nil

    /// Default options: 16 kHz, natural length, no normalisation, no trimming.
    public init() {}

    /// Creates options.
    public init(sampleRate: Int = 16_000, duration: Double? = nil, alignment: Alignment = .start,
                normalise: Bool = false, trimSilenceTopDB: Double? = nil) {
        self.sampleRate = sampleRate
        self.duration = duration
        self.alignment = alignment
        self.normalise = normalise
        self.trimSilenceTopDB = trimSilenceTopDB
    }

    /// Checks ranges.
    public func validate() throws(MediaError) {
        guard sampleRate >= 1000, sampleRate <= 384_000 else {
            throw .invalidOption("sample rate \(sampleRate) Hz is outside 1000...384000")
        }
        if let d = duration, !(d > 0 && d <= 3600) {
            throw .invalidOption("duration \(d) s must be in (0, 3600]")
        }
        if let t = trimSilenceTopDB, !(t > 0 && t <= 200) {
            throw .invalidOption("silence threshold \(t) dB must be in (0, 200]")
        }
    }

    /// A stable text form for cache keys ("sr=16000;dur=8.0;align=centre;mvn=1;trim=none").
    public var cacheKey: String {
        let dur = duration.map { String($0) } ?? "none"
        let trim = trimSilenceTopDB.map { String($0) } ?? "none"
        return "sr=\(sampleRate);dur=\(dur);align=\(alignment.rawValue);mvn=\(normalise ? 1 : 0);trim=\(trim)"
    }
}
