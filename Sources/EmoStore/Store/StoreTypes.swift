import EmoCore

/// What a cached feature is keyed by, besides the clip: the component and exactly how it was configured.
public struct FeatureKey: Hashable, Sendable, CustomStringConvertible {
    /// Component machine name (`handcrafted`, `wav2vec2-base`, ...).
    public var componentID: String
    /// Component numerics version.
    public var componentVersion: String
    /// SHA-256 (hex) of the component's resolved config, serialised with sorted keys.
    public var configHash: String

    /// Creates a key.
    public init(componentID: String, componentVersion: String, configHash: String) {
        self.componentID = componentID
        self.componentVersion = componentVersion
        self.configHash = configHash
    }

    public var description: String { "\(componentID)@\(componentVersion)#\(configHash.prefix(12))" }
}

/// A decoded clip as the store records it: its PCM hash and where it came from.
public struct ClipRecord: Sendable, Equatable {
    /// `Clip.pcmHash`.
    public var pcmHash: String
    /// Samples per second of the decoded clip.
    public var sampleRate: Int
    /// Decoded sample count.
    public var sampleCount: Int
    /// Container name.
    public var format: String
    /// Stored rate before resampling.
    public var originalSampleRate: Int
    /// Stored channels before downmixing.
    public var originalChannels: Int
    /// SHA-256 of the file bytes.
    public var fileHash: String
    /// `DecodeOptions.cacheKey` the clip was decoded with.
    public var decodeKey: String
    /// Source path.
    public var path: String

    /// Creates a record.
    public init(pcmHash: String, sampleRate: Int, sampleCount: Int, format: String, originalSampleRate: Int,
                originalChannels: Int, fileHash: String, decodeKey: String, path: String) {
        self.pcmHash = pcmHash
        self.sampleRate = sampleRate
        self.sampleCount = sampleCount
        self.format = format
        self.originalSampleRate = originalSampleRate
        self.originalChannels = originalChannels
        self.fileHash = fileHash
        self.decodeKey = decodeKey
        self.path = path
    }

    /// The record of `clip`, decoded with options whose cache key is `decodeKey`.
    public init(clip: Clip, decodeKey: String) {
        self.init(pcmHash: clip.pcmHash, sampleRate: clip.sampleRate, sampleCount: clip.samples.count,
                  format: clip.provenance.format, originalSampleRate: clip.provenance.originalSampleRate,
                  originalChannels: clip.provenance.originalChannels, fileHash: clip.provenance.fileHash,
                  decodeKey: decodeKey, path: clip.provenance.path)
    }
}

/// Everything one component produced for one clip: stored together in one transaction or not at all.
public struct ExtractionRecord: Sendable, Equatable {
    /// The clip.
    public var clip: ClipRecord
    /// The component and config.
    public var key: FeatureKey
    /// The component's outputs, in order.
    public var outputs: [Value]

    /// Creates a record.
    public init(clip: ClipRecord, key: FeatureKey, outputs: [Value]) {
        self.clip = clip
        self.key = key
        self.outputs = outputs
    }
}
