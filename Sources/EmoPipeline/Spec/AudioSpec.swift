import EmoMedia

/// How every clip is decoded before its audio feature groups see it (the spec's optional `audio` object).
///
/// ```json
/// "audio": {"duration": 8, "alignment": "start", "normalise": true}
/// ```
/// Absent fields keep `DecodeOptions`' defaults: 16 kHz, natural length, no normalisation, no trimming. The same
/// options are written into a trained bundle, so prediction decodes clips exactly as training did; they are part of
/// the feature cache key, so changing them re-extracts. Text groups' transcribers hear the clip as decoded by
/// default (natural length, not normalised).
public struct AudioSpec: Sendable, Equatable, Codable {
    /// Output rate in Hz (default 16000).
    public var sampleRate: Int?
    /// Fixed length in seconds: longer clips are cropped, shorter ones zero-padded (default: natural length).
    public var duration: Double?
    /// `start`, `centre` or `energy` (default `start`).
    public var alignment: DecodeOptions.Alignment?
    /// Per-utterance mean-variance normalisation over the real samples (default false).
    public var normalise: Bool?
    /// Trim leading/trailing silence quieter than this many dB below the peak (default: no trimming).
    public var trimSilenceTopDB: Double?

    enum CodingKeys: String, CodingKey, CaseIterable { case sampleRate, duration, alignment, normalise, trimSilenceTopDB }

    /// Creates a spec (every field optional).
    public init(sampleRate: Int? = nil, duration: Double? = nil, alignment: DecodeOptions.Alignment? = nil,
                normalise: Bool? = nil, trimSilenceTopDB: Double? = nil) {
        self.sampleRate = sampleRate
        self.duration = duration
        self.alignment = alignment
        self.normalise = normalise
        self.trimSilenceTopDB = trimSilenceTopDB
    }

    /// The decode options these fields give.
    public var decodeOptions: DecodeOptions {
        let d = DecodeOptions()
        return DecodeOptions(sampleRate: sampleRate ?? d.sampleRate, duration: duration ?? d.duration,
                             alignment: alignment ?? d.alignment, normalise: normalise ?? d.normalise,
                             trimSilenceTopDB: trimSilenceTopDB ?? d.trimSilenceTopDB)
    }
}
