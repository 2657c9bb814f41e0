/// A dense, contiguous, row-major Float32 array: what crosses component boundaries.
///
/// Shapes follow the dimension legend of docs/numerics.md: `B` batch, `S` audio samples, `T` frames or tokens,
/// `C` channels or features, `G` feature groups, `Y` classes.
public struct NDArray: Sendable, Equatable {
    /// Extent of each dimension.
    public var shape: [Int]
    /// `shape.reduce(1, *)` elements, row-major.
    public var data: [Float]

    /// Wraps `data` with `shape`; fails when the element count does not match.
    public init(shape: [Int], data: [Float]) throws(ShapeError) {
        let n = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), n == data.count else {
            throw ShapeError(message: "shape \(shape) needs \(n) elements, got \(data.count)")
        }
        self.shape = shape
        self.data = data
    }

    /// A zero-filled array of `shape`.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A rank-1 array holding `values`.
    public init(vector values: [Float]) {
        self.shape = [values.count]
        self.data = values
    }

    /// Number of elements.
    public var count: Int { data.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }
}

/// A shape that does not fit its data or its use.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    /// What was wrong, with the shapes involved.
    public var message: String
    /// Creates the error.
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// One input or output of a component: numbers, token ids or text.
public enum Value: Sendable, Equatable {
    /// Float32 tensor.
    case array(NDArray)
    /// Int64 tensor (token ids, labels): shape and row-major values.
    case ids(shape: [Int], values: [Int64])
    /// UTF-8 text (a transcript).
    case text(String)

    /// The Float32 array, or nil.
    public var array: NDArray? { if case .array(let a) = self { return a }; return nil }
    /// The text, or nil.
    public var text: String? { if case .text(let t) = self { return t }; return nil }
}

/// Where a clip came from.
public struct Provenance: Sendable, Equatable, Codable {
    /// Absolute path of the source file.
    public var path: String
    /// Container or codec name as the decoder saw it ("WAV", "FLAC", "AIFF", "mov,mp4,m4a,3gp,3g2,mj2", ...).
    public var format: String
    /// Sample rate of the stored audio, before resampling.
    public var originalSampleRate: Int
    /// Channel count of the stored audio, before downmixing.
    public var originalChannels: Int
    /// SHA-256 of the file bytes (hex).
    public var fileHash: String

    /// Creates a provenance record.
    public init(path: String, format: String, originalSampleRate: Int, originalChannels: Int, fileHash: String) {
        self.path = path
        self.format = format
        self.originalSampleRate = originalSampleRate
        self.originalChannels = originalChannels
        self.fileHash = fileHash
    }
}

/// Decoded mono audio at `sampleRate` (16 kHz everywhere in EmoKit), with provenance and a content hash.
public struct Clip: Sendable, Equatable {
    /// Mono samples; nominally in [-1, 1], but float sources pass through unclipped (some TESS originals peak at 2.3).
    public var samples: [Float]
    /// Samples per second.
    public var sampleRate: Int
    /// SHA-256 (hex) of the decoded samples' little-endian Float32 bytes: the feature cache key.
    public var pcmHash: String
    /// The source file and how it was stored.
    public var provenance: Provenance

    /// Creates a clip.
    public init(samples: [Float], sampleRate: Int, pcmHash: String, provenance: Provenance) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.pcmHash = pcmHash
        self.provenance = provenance
    }

    /// Duration in seconds.
    public var duration: Double { Double(samples.count) / Double(sampleRate) }
}
